//! Finding a file in an image's layers, the way the container runtime's union filesystem would.
//!
//! Layers are read from the top down; the first layer that has the path decides (its file, a
//! whiteout that deletes it, or an opaque directory that hides lower layers). Symbolic links,
//! including links on parent directories (`/bin -> usr/bin`) and hard links, are followed by
//! searching again for the target. Each layer is read as a stream and left as soon as every
//! candidate path is decided, so a check never downloads more than it needs.
//!
//! The search is synchronous over [`LayerSource`], so the same code serves layers streamed from
//! a registry and layers on disk (the image builder checks its own output before pushing).

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use crate::manifest::{ImageConfig, RunConfig};

/// How many bytes of a found file are kept (enough for any executable header).
pub const HEAD_LEN: usize = 64;

/// The default `PATH` when an image config sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Opens layers by index, bottom (0) to top.
pub trait LayerSource {
    /// How many layers the image has.
    fn count(&self) -> usize;
    /// A reader over layer `index`'s bytes as stored (compressed or not).
    fn open(&mut self, index: usize) -> io::Result<Box<dyn Read + '_>>;
}

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Found a regular file.
    Found {
        /// Its path after following links, without a leading `/`.
        path: String,
        /// Its first [`HEAD_LEN`] bytes.
        head: Vec<u8>,
    },
    /// None of the candidate paths exists.
    NotFound,
    /// Links led in circles (or more than 16 hops).
    LinkLoop {
        /// The last path tried.
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hit {
    File(Vec<u8>),
    Link(String),
    Deleted,
}

/// Searches `candidates` (in priority order, as from `PATH`) and returns the first that exists
/// in the merged filesystem.
pub fn find(source: &mut dyn LayerSource, candidates: &[String]) -> io::Result<Lookup> {
    let mut wanted: Vec<String> = candidates.iter().map(|candidate| normalize(candidate)).collect();
    let mut seen = BTreeSet::new();
    for _hop in 0..16 {
        let hits = search(source, &wanted, decided)?;
        let first = wanted.iter().zip(&hits).find(|(_, hit)| matches!(hit, Some(Hit::File(_) | Hit::Link(_))));
        match first {
            None => return Ok(Lookup::NotFound),
            Some((path, Some(Hit::File(head)))) => {
                return Ok(Lookup::Found { path: path.clone(), head: head.clone() });
            }
            Some((path, Some(Hit::Link(target)))) => {
                if !seen.insert(target.clone()) {
                    return Ok(Lookup::LinkLoop { path: path.clone() });
                }
                wanted = vec![target.clone()];
            }
            Some(_) => unreachable!("filtered to files and links"),
        }
    }
    Ok(Lookup::LinkLoop { path: wanted.first().cloned().unwrap_or_default() })
}

/// Looks up each of `paths` on its own (not as alternatives), reading the layers once for all
/// of them; a path that is a link is then followed by a search of its own.
pub fn find_each(source: &mut dyn LayerSource, paths: &[String]) -> io::Result<Vec<Lookup>> {
    let wanted: Vec<String> = paths.iter().map(|path| normalize(path)).collect();
    let hits = search(source, &wanted, |hits| hits.iter().all(Option::is_some))?;
    let mut found = Vec::with_capacity(wanted.len());
    for (path, hit) in wanted.iter().zip(hits) {
        found.push(match hit {
            Some(Hit::File(head)) => Lookup::Found { path: path.clone(), head },
            Some(Hit::Link(target)) => find(source, &[target])?,
            Some(Hit::Deleted) | None => Lookup::NotFound,
        });
    }
    Ok(found)
}

/// The executable an image runs: `Entrypoint[0]`, else `Cmd[0]`.
pub fn executable(config: &ImageConfig) -> Option<&str> {
    let run = config.config.as_ref()?;
    run.entrypoint
        .as_ref()
        .and_then(|entrypoint| entrypoint.first())
        .or_else(|| run.cmd.as_ref().and_then(|cmd| cmd.first()))
        .map(String::as_str)
        .filter(|executable| !executable.is_empty())
}

/// Where the runtime looks for `executable`: itself when it has a `/` (relative to the working
/// directory), else each `PATH` directory in order.
pub fn candidates(executable: &str, run: Option<&RunConfig>) -> Vec<String> {
    if executable.contains('/') {
        if executable.starts_with('/') {
            return vec![normalize(executable)];
        }
        let directory = run.and_then(|run| run.working_dir.as_deref()).unwrap_or("/");
        return vec![normalize(&format!("{directory}/{executable}"))];
    }
    let path = run
        .and_then(|run| run.env.as_ref())
        .and_then(|env| env.iter().rev().find_map(|entry| entry.strip_prefix("PATH=")))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .filter(|directory| !directory.is_empty())
        .map(|directory| normalize(&format!("{directory}/{executable}")))
        .collect()
}

/// The interpreter a `#!` line names, resolved like the kernel would: the first word, or for
/// `/usr/bin/env NAME`, NAME looked up on `PATH`.
pub fn interpreter_candidates(shebang: &str, run: Option<&RunConfig>) -> Vec<String> {
    let mut words = shebang.trim_start_matches("#!").split_whitespace();
    let Some(program) = words.next() else {
        return Vec::new();
    };
    if program.ends_with("/env")
        && let Some(name) = words.find(|word| !word.starts_with('-'))
    {
        return candidates(name, run);
    }
    candidates(program, run)
}

/// Reads layers from the top until `done` says the hits so far answer the question.
fn search(
    source: &mut dyn LayerSource,
    wanted: &[String],
    done: fn(&[Option<Hit>]) -> bool,
) -> io::Result<Vec<Option<Hit>>> {
    let mut hits: Vec<Option<Hit>> = vec![None; wanted.len()];
    for index in (0..source.count()).rev() {
        let undecided: Vec<usize> = (0..wanted.len()).filter(|&i| hits[i].is_none()).collect();
        if undecided.is_empty() || done(&hits) {
            break;
        }
        let reader = source.open(index)?;
        let paths: Vec<&str> = undecided.iter().map(|&i| wanted[i].as_str()).collect();
        let layer_hits = scan_layer(reader, &paths)?;
        for (slot, hit) in undecided.into_iter().zip(layer_hits) {
            hits[slot] = hit;
        }
    }
    Ok(hits)
}

/// Whether the first existing candidate is known: some candidate exists and every candidate
/// before it is known not to.
fn decided(hits: &[Option<Hit>]) -> bool {
    for hit in hits {
        match hit {
            None => return false,
            Some(Hit::Deleted) => continue,
            Some(_) => return true,
        }
    }
    true
}

fn scan_layer(reader: Box<dyn Read + '_>, paths: &[&str]) -> io::Result<Vec<Option<Hit>>> {
    let mut hits: Vec<Option<Hit>> = vec![None; paths.len()];
    let mut opaque: Vec<String> = Vec::new();
    let mut archive = tar::Archive::new(decompress(reader)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw_path = entry.path()?.to_string_lossy().into_owned();
        let path = normalize(&raw_path);
        let (directory, name) = match path.rsplit_once('/') {
            Some((directory, name)) => (directory, name),
            None => ("", path.as_str()),
        };
        if name == ".wh..wh..opq" {
            opaque.push(directory.to_owned());
            continue;
        }
        let kind = entry.header().entry_type();
        for (slot, wanted) in paths.iter().enumerate() {
            if hits[slot].is_some() {
                continue;
            }
            if let Some(deleted) = name.strip_prefix(".wh.") {
                let removed = join(directory, deleted);
                if *wanted == removed || wanted.starts_with(&format!("{removed}/")) {
                    hits[slot] = Some(Hit::Deleted);
                }
                continue;
            }
            let exact = *wanted == path;
            let below = wanted.len() > path.len() && wanted.starts_with(&path) && wanted.as_bytes()[path.len()] == b'/';
            if kind.is_symlink() && (exact || below) {
                let target = entry.link_name()?.map(|target| target.to_string_lossy().into_owned()).unwrap_or_default();
                let resolved =
                    if target.starts_with('/') { normalize(&target) } else { normalize(&join(directory, &target)) };
                let rest = &wanted[path.len()..];
                hits[slot] = Some(Hit::Link(format!("{resolved}{rest}")));
            } else if kind.is_hard_link() && exact {
                let target = entry.link_name()?.map(|target| target.to_string_lossy().into_owned()).unwrap_or_default();
                hits[slot] = Some(Hit::Link(normalize(&target)));
            } else if exact && kind.is_file() {
                let mut head = Vec::with_capacity(HEAD_LEN);
                (&mut entry).take(HEAD_LEN as u64).read_to_end(&mut head)?;
                hits[slot] = Some(Hit::File(head));
            }
        }
        if hits.iter().all(Option::is_some) {
            return Ok(hits);
        }
    }
    for (slot, wanted) in paths.iter().enumerate() {
        if hits[slot].is_none()
            && opaque.iter().any(|directory| directory.is_empty() || wanted.starts_with(&format!("{directory}/")))
        {
            hits[slot] = Some(Hit::Deleted);
        }
    }
    Ok(hits)
}

fn decompress<'a>(reader: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::new(reader);
    let magic = buffered.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)));
    }
    if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(Box::new(ZstdFrames { source: buffered, decoder: FrameDecoder::new(), in_frame: false }));
    }
    Ok(Box::new(buffered))
}

/// A zstd stream of any number of frames, skippable frames included (`zstd:chunked` layers are
/// many frames), decoded as it is read.
struct ZstdFrames<R> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
                    self.decoder
                        .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                        .map_err(io::Error::other)?;
                }
                let read = self.decoder.read(buffer)?;
                if read > 0 {
                    return Ok(read);
                }
                self.in_frame = false;
            }
            if self.source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.decoder.init(&mut self.source) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    io::copy(&mut (&mut self.source).take(u64::from(length)), &mut io::sink())?;
                }
                Err(error) => return Err(io::Error::other(error)),
            }
        }
    }
}

fn join(directory: &str, name: &str) -> String {
    if directory.is_empty() { name.to_owned() } else { format!("{directory}/{name}") }
}

/// A path without leading `/` or `./`, with `.` and `..` resolved (never above the root).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layers held in memory as uncompressed or gzip tar streams, counting how many were opened.
    struct MemoryLayers {
        layers: Vec<Vec<u8>>,
        opened: Vec<usize>,
    }

    impl LayerSource for MemoryLayers {
        fn count(&self) -> usize {
            self.layers.len()
        }

        fn open(&mut self, index: usize) -> io::Result<Box<dyn Read + '_>> {
            self.opened.push(index);
            Ok(Box::new(&self.layers[index][..]))
        }
    }

    enum Entry<'a> {
        File(&'a str, &'a [u8]),
        Link(&'a str, &'a str),
        Hard(&'a str, &'a str),
    }

    fn layer(entries: &[Entry<'_>], gzip: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            match entry {
                Entry::File(path, contents) => {
                    header.set_size(contents.len() as u64);
                    header.set_mode(0o755);
                    header.set_entry_type(tar::EntryType::Regular);
                    builder.append_data(&mut header, path, *contents).expect("append file");
                }
                Entry::Link(path, target) | Entry::Hard(path, target) => {
                    header.set_size(0);
                    header.set_entry_type(if matches!(entry, Entry::Link(..)) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    builder.append_link(&mut header, path, target).expect("append link");
                }
            }
        }
        let tar = builder.into_inner().expect("finish tar");
        if !gzip {
            return tar;
        }
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &tar).expect("gzip");
        encoder.finish().expect("gzip")
    }

    fn lookup(layers: Vec<Vec<u8>>, candidates: &[&str]) -> (Lookup, Vec<usize>) {
        let mut source = MemoryLayers { layers, opened: Vec::new() };
        let candidates: Vec<String> = candidates.iter().map(|c| (*c).to_owned()).collect();
        let result = find(&mut source, &candidates).expect("search succeeds");
        (result, source.opened)
    }

    #[test]
    fn the_top_layer_wins_and_lower_layers_are_not_read() {
        let base = layer(&[Entry::File("app", b"old")], true);
        let top = layer(&[Entry::File("./app", b"new")], true);
        let (result, opened) = lookup(vec![base, top], &["/app"]);
        assert_eq!(result, Lookup::Found { path: "app".into(), head: b"new".to_vec() });
        assert_eq!(opened, [1]);
    }

    #[test]
    fn whiteouts_and_opaque_directories_delete() {
        let base = layer(&[Entry::File("usr/bin/app", b"x"), Entry::File("opt/tool", b"y")], false);
        let top = layer(&[Entry::File("usr/bin/.wh.app", b""), Entry::File("opt/.wh..wh..opq", b"")], false);
        assert_eq!(lookup(vec![base.clone(), top.clone()], &["/usr/bin/app"]).0, Lookup::NotFound);
        assert_eq!(lookup(vec![base, top], &["/opt/tool"]).0, Lookup::NotFound);
    }

    #[test]
    fn follows_file_directory_and_hard_links() {
        let base = layer(
            &[
                Entry::File("usr/bin/busybox", b"\x7fELF-busybox"),
                Entry::Link("bin", "usr/bin"),
                Entry::Link("usr/bin/sh", "busybox"),
                Entry::Hard("usr/bin/ash", "usr/bin/busybox"),
            ],
            true,
        );
        let (result, _) = lookup(vec![base.clone()], &["/bin/sh"]);
        assert_eq!(result, Lookup::Found { path: "usr/bin/busybox".into(), head: b"\x7fELF-busybox".to_vec() });
        let (result, _) = lookup(vec![base], &["/usr/bin/ash"]);
        assert!(matches!(result, Lookup::Found { path, .. } if path == "usr/bin/busybox"));
    }

    #[test]
    fn path_order_beats_layer_order() {
        let base = layer(&[Entry::File("usr/local/bin/app", b"first-on-path")], false);
        let top = layer(&[Entry::File("bin/app", b"later-on-path")], false);
        let run = RunConfig { env: Some(vec!["PATH=/usr/local/bin:/bin".into()]), ..RunConfig::default() };
        let wanted = candidates("app", Some(&run));
        assert_eq!(wanted, ["usr/local/bin/app", "bin/app"]);
        let candidates: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let (result, opened) = lookup(vec![base, top], &candidates);
        assert_eq!(result, Lookup::Found { path: "usr/local/bin/app".into(), head: b"first-on-path".to_vec() });
        assert_eq!(opened, [1, 0]);
    }

    #[test]
    fn zstd_layers_of_several_frames_are_read() {
        use ruzstd::encoding::{CompressionLevel, compress_to_vec};
        let filler = layer(&[Entry::File("docs/README", &[b'x'; 4096])], false);
        let app = layer(&[Entry::File("app", b"\x7fELF-zstd")], false);
        // A frame ending in the middle of an entry, a skippable frame, then the rest.
        let split = 700;
        let mut stream = compress_to_vec(&filler[..split], CompressionLevel::Fastest);
        stream.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
        let mut rest = filler[split..filler.len() - 1024].to_vec();
        rest.extend_from_slice(&app);
        stream.extend(compress_to_vec(&rest[..], CompressionLevel::Fastest));
        let (result, _) = lookup(vec![stream], &["/app"]);
        assert_eq!(result, Lookup::Found { path: "app".into(), head: b"\x7fELF-zstd".to_vec() });
    }

    #[test]
    fn link_loops_end() {
        let base = layer(&[Entry::Link("a", "b"), Entry::Link("b", "a")], false);
        assert!(matches!(lookup(vec![base], &["/a"]).0, Lookup::LinkLoop { .. }));
    }

    #[test]
    fn executables_and_interpreters() {
        let config = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
            config: Some(RunConfig {
                cmd: Some(vec!["/app".into(), "--x".into()]),
                working_dir: Some("/work".into()),
                ..RunConfig::default()
            }),
            rootfs: Default::default(),
            history: Vec::new(),
        };
        assert_eq!(executable(&config), Some("/app"));
        assert_eq!(candidates("./run.sh", config.config.as_ref()), ["work/run.sh"]);
        assert_eq!(interpreter_candidates("#!/bin/sh -e", None), ["bin/sh"]);
        assert_eq!(
            interpreter_candidates("#!/usr/bin/env python3", None).last().map(String::as_str),
            Some("bin/python3")
        );
    }
}
