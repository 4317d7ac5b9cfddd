//! Reproducible layers, and the blob store they are written to.
//!
//! The same files give the same layer digest on any machine: entries sorted by path, parent
//! directories included, every timestamp set to the build's epoch (`SOURCE_DATE_EPOCH` or the
//! commit time), owners fixed, no user or group names, and gzip at a fixed level with no
//! timestamp or file name in its header. The layer is written once to a content-addressed
//! [`BlobStore`] while both digests are computed; a small record keyed by the files' identity
//! (path, size, modification time, inode, mode, owner, epoch) lets an unchanged rebuild find it
//! again without reading or compressing anything.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The gzip level of every layer slipway builds (the speed-first level ko and crane use too).
pub const GZIP_LEVEL: u32 = 1;

/// Bumped when the layer format changes, so old cache records are not reused.
const FORMAT: &str = "slipway-layer-1";

/// A content-addressed store of blobs under `<root>/blobs/sha256/`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// One file for a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// Where it is on disk.
    pub source: PathBuf,
    /// Where it goes in the image, without the leading `/`.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// A layer in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltLayer {
    /// Digest of the compressed layer (the blob).
    pub digest: String,
    /// Digest of the uncompressed tar (the config's diff id).
    pub diff_id: String,
    /// Size of the blob.
    pub size: u64,
    /// Whether it came from the cache, unread and uncompressed.
    pub cached: bool,
}

impl BlobStore {
    /// Opens (creating) a store under `root`, which git is told to ignore.
    pub fn open(root: &Path) -> io::Result<BlobStore> {
        fs_err::create_dir_all(root.join("blobs/sha256"))?;
        fs_err::create_dir_all(root.join("layers"))?;
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            fs_err::write(ignore, "# slipway's cache; safe to delete.\n*\n")?;
        }
        Ok(BlobStore { root: root.to_path_buf() })
    }

    /// Where a blob is (or would be).
    pub fn path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
    }

    /// Whether the store has a blob.
    pub fn contains(&self, digest: &str) -> bool {
        self.path(digest).is_file()
    }

    /// Stores bytes; returns their digest.
    pub fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let digest = crate::manifest::sha256_digest(bytes);
        if self.contains(&digest) {
            super::cache::touch(&self.path(&digest));
        } else {
            let temporary = self.temporary();
            fs_err::write(&temporary, bytes)?;
            fs_err::rename(&temporary, self.path(&digest))?;
        }
        Ok(digest)
    }

    /// Reads a blob.
    pub fn read(&self, digest: &str) -> io::Result<Vec<u8>> {
        fs_err::read(self.path(digest))
    }

    fn temporary(&self) -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        self.root.join(format!("blobs/.incoming-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)))
    }

    fn record_path(&self, key: &str) -> PathBuf {
        self.root.join("layers").join(key)
    }
}

/// Builds (or finds) the layer holding `files`, with every timestamp at `epoch`.
pub fn build(store: &BlobStore, files: &[LayerFile], epoch: i64) -> io::Result<BuiltLayer> {
    let mut files = files.to_vec();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let key = cache_key(&files, epoch)?;
    if let Some(layer) = cached(store, &key) {
        return Ok(layer);
    }
    let temporary = store.temporary();
    let result = write_layer(&files, epoch, &temporary);
    let (digest, diff_id, size) = match result {
        Ok(written) => written,
        Err(error) => {
            let _ = fs_err::remove_file(&temporary);
            return Err(error);
        }
    };
    fs_err::rename(&temporary, store.path(&digest))?;
    let record = store.record_path(&key);
    let record_temporary = store.temporary();
    fs_err::write(&record_temporary, format!("{digest} {diff_id} {size}\n"))?;
    fs_err::rename(&record_temporary, record)?;
    Ok(BuiltLayer { digest, diff_id, size, cached: false })
}

fn cached(store: &BlobStore, key: &str) -> Option<BuiltLayer> {
    let record = fs_err::read_to_string(store.record_path(key)).ok()?;
    let mut fields = record.split_whitespace();
    let (digest, diff_id, size) = (fields.next()?, fields.next()?, fields.next()?.parse().ok()?);
    let blob = fs_err::metadata(store.path(digest)).ok()?;
    if blob.len() == size {
        // Used now: the cache prunes what was used least recently.
        super::cache::touch(&store.path(digest));
        super::cache::touch(&store.record_path(key));
    }
    (blob.len() == size).then(|| BuiltLayer {
        digest: digest.to_owned(),
        diff_id: diff_id.to_owned(),
        size,
        cached: true,
    })
}

/// What identifies the inputs without reading them, like git's index.
fn cache_key(files: &[LayerFile], epoch: i64) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!("{FORMAT}\nlevel {GZIP_LEVEL}\nepoch {epoch}\n"));
    for file in files {
        let metadata = fs_err::metadata(&file.source)?;
        hasher.update(format!(
            "{}\0{}\0{:o}\0{}\0{}\0{}\0{}\0{}\0{}\0{}\n",
            file.path,
            file.source.display(),
            file.mode,
            file.uid,
            file.gid,
            metadata.len(),
            metadata.mtime(),
            metadata.mtime_nsec(),
            metadata.ino(),
            metadata.dev(),
        ));
    }
    Ok(hex(&hasher.finalize()))
}

fn write_layer(files: &[LayerFile], epoch: i64, destination: &Path) -> io::Result<(String, String, u64)> {
    let file = fs_err::File::create(destination)?;
    let compressed = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
    let gzip =
        flate2::GzBuilder::new().mtime(0).operating_system(255).write(compressed, flate2::Compression::new(GZIP_LEVEL));
    let mut archive = tar::Builder::new(HashingWriter::new(gzip));
    archive.mode(tar::HeaderMode::Deterministic);
    let mtime = u64::try_from(epoch).unwrap_or(0);
    for directory in parent_directories(files) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_size(0);
        archive.append_data(&mut header, format!("{directory}/"), io::empty())?;
    }
    for file in files {
        let source = fs_err::File::open(&file.source)?;
        let length = source.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(file.mode);
        header.set_uid(u64::from(file.uid));
        header.set_gid(u64::from(file.gid));
        header.set_mtime(mtime);
        header.set_size(length);
        archive.append_data(&mut header, &file.path, io::BufReader::with_capacity(1 << 20, source).take(length))?;
    }
    let uncompressed = archive.into_inner()?;
    let (gzip, diff_id, _) = uncompressed.finish();
    let compressed = gzip.finish()?;
    let (mut writer, digest, size) = compressed.finish();
    writer.flush()?;
    writer.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
    Ok((digest, diff_id, size))
}

/// Every directory above the files, parents first, so extraction needs no implicit ones.
fn parent_directories(files: &[LayerFile]) -> Vec<String> {
    let mut directories: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let parts: Vec<&str> = file.path.split('/').collect();
            (1..parts.len()).map(move |end| parts[..end].join("/"))
        })
        .collect();
    directories.sort();
    directories.dedup();
    directories
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    length: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new(), length: 0 }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, format!("sha256:{}", hex(&self.hasher.finalize())), self.length)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.length += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(directory: &Path) -> Vec<LayerFile> {
        fs_err::create_dir_all(directory.join("out")).expect("mkdir");
        fs_err::write(directory.join("out/app"), b"\x7fELF pretend binary").expect("write");
        fs_err::write(directory.join("out/config.yaml"), b"level: info\n").expect("write");
        layer_files(directory)
    }

    fn entries(store: &BlobStore, digest: &str) -> Vec<(String, u32, u64, u64, u64)> {
        let blob = store.read(digest).expect("blob");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        archive
            .entries()
            .expect("a tar")
            .map(|entry| {
                let entry = entry.expect("entry");
                let header = entry.header();
                (
                    entry.path().expect("path").display().to_string(),
                    header.mode().expect("mode"),
                    header.uid().expect("uid"),
                    header.mtime().expect("mtime"),
                    header.size().expect("size"),
                )
            })
            .collect()
    }

    #[test]
    fn layers_are_reproducible_and_cached() {
        let work = tempfile::tempdir().expect("temporary directory");
        let store = BlobStore::open(&work.path().join("cache")).expect("store");
        let first = build(&store, &files(work.path()), 1_700_000_000).expect("build");
        assert!(!first.cached);
        let again = build(&store, &files(work.path()), 1_700_000_000).expect("build");
        // Rewritten files have new modification times, so this was built again, to the same bytes.
        assert_eq!((&again.digest, &again.diff_id), (&first.digest, &first.diff_id));
        let unchanged = build(&store, &layer_files(work.path()), 1_700_000_000).expect("build");
        assert!(unchanged.cached, "nothing changed, so the cache answers");
        assert_eq!(unchanged.digest, first.digest);

        let elsewhere = tempfile::tempdir().expect("temporary directory");
        let other_store = BlobStore::open(&elsewhere.path().join("cache")).expect("store");
        let copy = build(&other_store, &files(elsewhere.path()), 1_700_000_000).expect("build");
        assert_eq!(copy.digest, first.digest, "another directory, another machine: the same layer");

        let later = build(&store, &layer_files(work.path()), 1_700_000_001).expect("build");
        assert_ne!(later.digest, first.digest, "the epoch is part of the layer");

        assert_eq!(
            entries(&store, &first.digest),
            [
                ("etc/".to_owned(), 0o755, 0, 1_700_000_000, 0),
                ("etc/app/".to_owned(), 0o755, 0, 1_700_000_000, 0),
                ("usr/".to_owned(), 0o755, 0, 1_700_000_000, 0),
                ("usr/local/".to_owned(), 0o755, 0, 1_700_000_000, 0),
                ("usr/local/bin/".to_owned(), 0o755, 0, 1_700_000_000, 0),
                ("etc/app/config.yaml".to_owned(), 0o644, 0, 1_700_000_000, 12),
                ("usr/local/bin/app".to_owned(), 0o755, 65532, 1_700_000_000, 19),
            ]
        );
    }

    /// The layer files under `directory/out`, as [`files`] writes them, without writing them.
    fn layer_files(directory: &Path) -> Vec<LayerFile> {
        vec![
            LayerFile {
                source: directory.join("out/config.yaml"),
                path: "etc/app/config.yaml".into(),
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
            LayerFile {
                source: directory.join("out/app"),
                path: "usr/local/bin/app".into(),
                mode: 0o755,
                uid: 65532,
                gid: 65532,
            },
        ]
    }

    #[test]
    fn a_missing_source_is_an_error_and_leaves_nothing_behind() {
        let work = tempfile::tempdir().expect("temporary directory");
        let store = BlobStore::open(&work.path().join("cache")).expect("store");
        let missing = [LayerFile { source: work.path().join("nope"), path: "app".into(), mode: 0o755, uid: 0, gid: 0 }];
        let error = build(&store, &missing, 0).expect_err("missing source");
        assert!(error.to_string().contains("nope"), "{error}");
        let leftovers: Vec<_> = fs_err::read_dir(work.path().join("cache/blobs")).expect("list").collect();
        assert_eq!(leftovers.len(), 1, "only the sha256 directory");
    }
}
