//! Candidate search: which known texts can be similar to a new one, tried best first.
//!
//! Triage compares a new text with every cluster key: 4-gram distance to all, a sort, then
//! precise checks, which made its cross-test phase quadratic. Here:
//!
//! - texts of fewer than [`MIN_SKETCH_WORDS`] words are compared with the known texts of a
//!   compatible size only (a window of word counts; Triage's test itself requires lengths within
//!   10%), cheapest filters first (length, then Triage's 4-gram bound), ordered by 4-gram
//!   distance as Triage orders them;
//! - longer texts are looked up by their word-pair sketch ([`crate::words::band_keys`]): only
//!   texts sharing a band key are candidates, ordered by how many they share. Two occurrences
//!   of one failure share most word pairs, so they collide with near certainty; unrelated texts
//!   almost never do. This is where recall can be lower than an exhaustive scan: a pair whose
//!   word pairs mostly differ while its characters are within 10% can be missed (it then starts
//!   a new cluster; nothing is dropped).
//!
//! The first candidate that passes the similarity test ([`crate::distance::similar`] or the
//! value-aware word test) wins. There is no cap on the number of checks and no time budget.

use foldhash::HashMap;

use crate::distance;
use crate::ngram::{self, Counts};
use crate::words::{self, BANDS, MIN_SKETCH_WORDS};

/// A text known to the index, and the cluster it stands for.
#[derive(Debug)]
struct Entry {
    text: Box<str>,
    counts: Counts,
    words: Box<[u32]>,
    cluster: u32,
}

/// A text to look up or insert, with what the tests need of it.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) text: String,
    pub(crate) counts: Counts,
    pub(crate) words: Vec<u32>,
}

impl Probe {
    pub(crate) fn new(text: String) -> Probe {
        let counts = ngram::counts(&text);
        let words = words::words(&text);
        Probe { text, counts, words }
    }
}

/// Known texts, by word count and by sketch.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
    /// `by_words[n]` = ids of the entries of `n` words.
    by_words: Vec<Vec<u32>>,
    /// Band key → the first entry with it; `next` chains the others.
    heads: HashMap<u64, u32>,
    next: Vec<(u32, u32)>,
    /// Whether the value-aware word test is used.
    value_aware: bool,
}

const NO_NEXT: u32 = u32::MAX;

/// Reused buffers of [`Index::find`].
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ids: Vec<u32>,
    ranked: Vec<(u32, u32)>,
}

impl Index {
    pub(crate) fn new(value_aware: bool) -> Index {
        Index { value_aware, ..Index::default() }
    }

    pub(crate) fn insert(&mut self, probe: &Probe, cluster: u32) {
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 indexed texts");
        let words = probe.words.len();
        if self.by_words.len() <= words {
            self.by_words.resize_with(words + 1, Vec::new);
        }
        self.by_words[words].push(id);
        // Texts a little below the sketch size are sketched too, so that long queries find them.
        if words >= MIN_SKETCH_WORDS * 3 / 4 {
            for key in words::band_keys(&probe.words) {
                let link = u32::try_from(self.next.len()).expect("fewer than 2^32 band entries");
                let previous = self.heads.insert(key, link).unwrap_or(NO_NEXT);
                self.next.push((id, previous));
            }
        }
        self.entries.push(Entry {
            text: probe.text.as_str().into(),
            counts: probe.counts,
            words: probe.words.as_slice().into(),
            cluster,
        });
    }

    /// The cluster of the first similar known text, if any.
    pub(crate) fn find(&self, probe: &Probe, scratch: &mut Scratch) -> Option<u32> {
        self.find_since(probe, scratch, 0)
    }

    /// How many texts the index holds: [`Index::find_since`] of this many looks at the texts
    /// inserted from now on only.
    pub(crate) fn len(&self) -> u32 {
        u32::try_from(self.entries.len()).expect("fewer than 2^32 indexed texts")
    }

    /// Like [`Index::find`], among the texts inserted after the first `first` only.
    pub(crate) fn find_since(&self, probe: &Probe, scratch: &mut Scratch, first: u32) -> Option<u32> {
        scratch.ranked.clear();
        if probe.words.len() >= MIN_SKETCH_WORDS {
            self.sketch_candidates(probe, scratch);
        } else {
            self.scan_candidates(probe, scratch);
        }
        if first > 0 {
            scratch.ranked.retain(|&(_, id)| id >= first);
        }
        scratch.ranked.sort_unstable();
        scratch.ranked.iter().find_map(|&(_, id)| {
            let entry = &self.entries[id as usize];
            self.similar(probe, entry).then_some(entry.cluster)
        })
    }

    fn similar(&self, probe: &Probe, entry: &Entry) -> bool {
        if !self.value_aware {
            return distance::similar(&probe.text, &probe.counts, &entry.text, &entry.counts);
        }
        words::same_words(&probe.words, &entry.words)
            && (words::similar(&probe.words, &entry.words)
                || distance::similar(&probe.text, &probe.counts, &entry.text, &entry.counts))
    }

    /// Entries sharing band keys with the probe, most shared first.
    fn sketch_candidates(&self, probe: &Probe, scratch: &mut Scratch) {
        scratch.ids.clear();
        for key in words::band_keys(&probe.words) {
            let mut link = self.heads.get(&key).copied().unwrap_or(NO_NEXT);
            while link != NO_NEXT {
                let (id, next) = self.next[link as usize];
                scratch.ids.push(id);
                link = next;
            }
        }
        scratch.ids.sort_unstable();
        for run in scratch.ids.chunk_by(|a, b| a == b) {
            // Rank: fewer missing bands first, then older entries.
            scratch.ranked.push(((BANDS - run.len()) as u32, run[0]));
        }
    }

    /// Entries of a compatible size that pass the cheap filters, by 4-gram distance.
    fn scan_candidates(&self, probe: &Probe, scratch: &mut Scratch) {
        let words = probe.words.len();
        let length = probe.text.len();
        let lowest = words / 2;
        let highest = (2 * words + 8).min(self.by_words.len().saturating_sub(1));
        for ids in self.by_words.get(lowest..=highest).unwrap_or_default() {
            for &id in ids {
                let entry = &self.entries[id as usize];
                let limit = distance::limit(length, entry.text.len());
                let l1 = ngram::l1(&probe.counts, &entry.counts);
                // Triage's necessary conditions: lengths within the limit, 4-gram distance
                // (l1 / 4) at most the limit.
                let by_characters = limit > 1 && length.abs_diff(entry.text.len()) < limit && l1 < 4 * (limit + 1);
                let by_words =
                    self.value_aware && words.abs_diff(entry.words.len()) < distance::limit(words, entry.words.len());
                if by_characters || by_words {
                    scratch.ranked.push(((l1 / 4) as u32, id));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(texts: &[(&str, u32)]) -> Index {
        let mut index = Index::new(true);
        for (text, cluster) in texts {
            index.insert(&Probe::new((*text).to_owned()), *cluster);
        }
        index
    }

    #[test]
    fn finds_the_closest_similar_text() {
        let base = "failed to start container: context deadline exceeded while pulling image UNIQ";
        let close = "failed to start container: context deadline exceeded while pulling images UNIQ";
        let closer = "failed to start container: context deadline exceeded while pulling image UNIQ!";
        let index =
            index(&[("something else entirely, of about the same length as the others", 0), (close, 1), (closer, 2)]);
        let mut scratch = Scratch::default();
        assert_eq!(index.find(&Probe::new(base.to_owned()), &mut scratch), Some(2));
        let unrelated = "panic: runtime error: index out of range [3] with length 3 in goroutine UNIQ";
        assert_eq!(index.find(&Probe::new(unrelated.to_owned()), &mut scratch), None);
    }

    #[test]
    fn long_texts_are_found_through_their_sketch() {
        let words: Vec<String> = (0..120).map(|i| format!("w{i}x")).collect();
        let known = words.join(" ");
        let mut noisy = words;
        for i in (5..120).step_by(17) {
            noisy[i] = "UNIQ".to_owned();
        }
        let other: Vec<String> = (0..120).map(|i| format!("v{i}y")).collect();
        let index = index(&[(&other.join(" "), 0), (&known, 1)]);
        let mut scratch = Scratch::default();
        assert_eq!(index.find(&Probe::new(noisy.join(" ")), &mut scratch), Some(1));
        let unrelated: Vec<String> = (0..120).map(|i| format!("u{i}z")).collect();
        assert_eq!(index.find(&Probe::new(unrelated.join(" ")), &mut scratch), None);
    }
}
