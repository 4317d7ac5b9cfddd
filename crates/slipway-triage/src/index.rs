//! Candidate search: which known texts can be similar to a new one.
//!
//! Triage compares a new text with every cluster key (4-gram distance, sort, then precise
//! checks). Both of its cheap conditions are necessary conditions of a match, so they can prune
//! without losing any: the lengths must differ by less than the limit (the edit distance is at
//! least the length difference), and the 4-gram distance must be at most the limit. The index
//! keeps its texts in buckets by length, so a query reads only the lengths that can match, and
//! checks the histogram of those. The survivors are tried in Triage's order (4-gram distance,
//! then age) with the bounded edit distance; the first that passes wins. There is no cap on
//! the number of precise checks: every text that Triage's conditions admit is tried.

use crate::distance;
use crate::ngram::{self, Counts};

/// A text known to the index, and what it stands for.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) text: Box<str>,
    pub(crate) counts: Counts,
    /// The cluster the text belongs to.
    pub(crate) cluster: u32,
}

/// Texts by length.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
    /// `by_length[n]` = ids of the entries of length `n`.
    by_length: Vec<Vec<u32>>,
}

impl Index {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn insert(&mut self, text: &str, counts: Counts, cluster: u32) {
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 indexed texts");
        if self.by_length.len() <= text.len() {
            self.by_length.resize_with(text.len() + 1, Vec::new);
        }
        self.by_length[text.len()].push(id);
        self.entries.push(Entry { text: text.into(), counts, cluster });
    }

    /// The cluster of the first entry similar to `text` in Triage's order, if any.
    pub(crate) fn find(&self, text: &str, counts: &Counts, scratch: &mut Vec<(u32, u32)>) -> Option<u32> {
        let length = text.len();
        // |a| - |b| < limit(|a|, |b|) ≈ (|a| + |b|) / 20 bounds |b| to about [0.81 |a|, 1.23 |a|];
        // the exact test is repeated per length below.
        let lowest = length * 9 / 11;
        let highest = (length * 11 / 9 + 1).min(self.by_length.len().saturating_sub(1));
        scratch.clear();
        for other in lowest..=highest {
            let Some(ids) = self.by_length.get(other) else { break };
            if ids.is_empty() {
                continue;
            }
            let limit = distance::limit(length, other);
            if limit <= 1 || length.abs_diff(other) >= limit {
                continue;
            }
            // ngram::distance(a, b) <= limit  ⇔  l1 / 4 <= limit  ⇔  l1 < 4 (limit + 1).
            let bound = 4 * (limit + 1);
            for &id in ids {
                let l1 = ngram::l1(counts, &self.entries[id as usize].counts);
                if l1 < bound {
                    scratch.push(((l1 / 4) as u32, id));
                }
            }
        }
        scratch.sort_unstable();
        scratch.iter().find_map(|&(_, id)| {
            let entry = &self.entries[id as usize];
            let limit = distance::limit(length, entry.text.len());
            distance::within(text.as_bytes(), entry.text.as_bytes(), limit - 1).then_some(entry.cluster)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(texts: &[(&str, u32)]) -> Index {
        let mut index = Index::default();
        for (text, cluster) in texts {
            index.insert(text, ngram::counts(text), *cluster);
        }
        index
    }

    #[test]
    fn finds_the_closest_similar_text() {
        let base = "failed to start container: context deadline exceeded while pulling image UNIQ";
        let close = "failed to start container: context deadline exceeded while pulling images UNIQ";
        let closer = "failed to start container: context deadline exceeded while pulling image UNIQ!";
        let index = index(&[("something else entirely, of about the same length as the others", 0), (close, 1), (closer, 2)]);
        let mut scratch = Vec::new();
        assert_eq!(index.find(base, &ngram::counts(base), &mut scratch), Some(2));
        let unrelated = "panic: runtime error: index out of range [3] with length 3 in goroutine UNIQ";
        assert_eq!(index.find(unrelated, &ngram::counts(unrelated), &mut scratch), None);
    }
}
