//! The similarity test: Triage's `findMatch` condition for one candidate, with a fast bounded
//! edit distance.
//!
//! Two normalized texts `a` and `b` are similar when, with `limit = ⌊(|a| + |b|) / 2 × 0.10⌋`
//! (computed in `float32` as Triage does, lengths in bytes):
//!
//! 1. the 4-gram histogram distance is at most `limit` (Triage's cheap filter),
//! 2. `limit > 1` (short texts only match exactly), and
//! 3. the byte-level Levenshtein distance is *less than* `limit`.
//!
//! Triage computes 3. with Berghel–Roach; here it is the diagonal-transition algorithm of
//! Ukkonen and Landau–Vishkin (which Berghel–Roach refines): the furthest-reaching point of each
//! diagonal is extended by comparing eight bytes at a time, and the search stops as soon as the
//! distance would reach the limit. Its cost is about `O(n + d²)` on similar texts and at most
//! `O(n · limit)`.

use crate::ngram::{self, Counts};

/// Triage's threshold for two texts of these lengths (bytes): 10% of the mean length.
pub fn limit(len_a: usize, len_b: usize) -> usize {
    // Triage: int(float32(len(a)+len(b)) / 2.0 * 0.10). The f32 rounding matters at the edges.
    #[expect(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let limit = ((len_a + len_b) as f32 / 2.0 * 0.10_f32) as usize;
    limit
}

/// Whether `a` and `b` are similar in Triage's sense (see the module documentation). Identical
/// texts are always similar here (Triage finds those by an exact lookup before this test).
pub fn similar(a: &str, a_counts: &Counts, b: &str, b_counts: &Counts) -> bool {
    if a == b {
        return true;
    }
    let limit = limit(a.len(), b.len());
    if limit <= 1 || ngram::distance(a_counts, b_counts) > limit {
        return false;
    }
    within(a.as_bytes(), b.as_bytes(), limit - 1)
}

/// Whether the Levenshtein distance of `a` and `b` is at most `max`.
pub fn within(a: &[u8], b: &[u8], max: usize) -> bool {
    bounded(a, b, max).is_some()
}

/// The Levenshtein distance of `a` and `b` (unit costs, over bytes) if it is at most `max`.
pub fn bounded(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    // Diagonal k holds the cells (i, i + k): i indexes a, j = i + k indexes b.
    let (n, m) = (a.len(), b.len());
    let target = m as isize - n as isize;
    if target.unsigned_abs() > max {
        return None;
    }
    let max = max.min(n.max(m));
    // furthest[k + offset] = the furthest row i reached on diagonal k with the current cost;
    // NONE marks diagonals not reached yet.
    const NONE: isize = isize::MIN / 2;
    let offset = max as isize + 1;
    let width = 2 * max + 3;
    let mut current = vec![NONE; width];
    let mut previous = vec![NONE; width];
    let n = n as isize;
    let m = m as isize;
    for cost in 0..=max as isize {
        let low = (-cost).max(-n);
        let high = cost.min(m);
        for k in low..=high {
            let slot = (k + offset) as usize;
            let reached = if cost == 0 {
                0
            } else {
                // Substitution (same diagonal), deletion from a (from diagonal k + 1), insertion
                // into a (from diagonal k - 1).
                (previous[slot] + 1).max(previous[slot + 1] + 1).max(previous[slot - 1])
            };
            if reached < 0 {
                current[slot] = NONE;
                continue;
            }
            // Clip to the matrix (i ≤ n, j = i + k ≤ m); the cell there costs no more, since
            // neighbouring cells of the edit-distance matrix differ by at most one.
            let row = reached.min(n).min(m - k);
            let extended = row as usize + common_prefix(&a[row as usize..], &b[(row + k) as usize..]);
            current[slot] = extended as isize;
            if k == target && extended as isize == n {
                return Some(cost as usize);
            }
        }
        std::mem::swap(&mut current, &mut previous);
        current.fill(NONE);
    }
    None
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let length = a.len().min(b.len());
    let mut index = 0;
    while index + 8 <= length {
        let x = u64::from_le_bytes(a[index..index + 8].try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(b[index..index + 8].try_into().expect("eight bytes"));
        let difference = x ^ y;
        if difference != 0 {
            return index + (difference.trailing_zeros() / 8) as usize;
        }
        index += 8;
    }
    while index < length && a[index] == b[index] {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The textbook dynamic programme, as the reference.
    fn levenshtein(a: &[u8], b: &[u8]) -> usize {
        strsim::generic_levenshtein(&a.to_vec(), &b.to_vec())
    }

    #[test]
    fn limit_is_ten_percent_of_the_mean_length() {
        assert_eq!(limit(100, 100), 10);
        assert_eq!(limit(15, 14), 1);
        assert_eq!(limit(0, 0), 0);
        assert_eq!(limit(1000, 1200), 110);
    }

    #[test]
    fn bounded_distance_examples() {
        assert_eq!(bounded(b"kitten", b"sitting", 3), Some(3));
        assert_eq!(bounded(b"kitten", b"sitting", 2), None);
        assert_eq!(bounded(b"", b"abc", 3), Some(3));
        assert_eq!(bounded(b"abc", b"", 2), None);
        assert_eq!(bounded(b"same", b"same", 0), Some(0));
        assert_eq!(bounded(b"abcdefghijklmnopqrstuvwxyz", b"abcdefghijklmnopqrstuvwxyz!", 1), Some(1));
    }

    #[test]
    fn similar_follows_triages_find_match_cases() {
        // triage/summarize/text_test.go TestFindMatch, case by case.
        let key = "abcdefghij".repeat(30);
        let counts = |text: &str| ngram::counts(text);
        let mut mutated = key.clone().into_bytes();
        mutated[7] = b'X';
        mutated[50] = b'Y';
        mutated[200] = b'Z';
        let mutated = String::from_utf8(mutated).expect("ascii");
        assert!(similar(&mutated, &counts(&mutated), &key, &counts(&key)));
        assert!(!similar(&mutated, &counts(&mutated), "unrelated text", &counts("unrelated text")));
        let fox = "the quick brown fox jumps over the lazy dog";
        for other in ["completely different content here", "wholly other text"] {
            assert!(!similar(fox, &counts(fox), other, &counts(other)));
        }
    }

    #[test]
    fn short_texts_match_only_exactly() {
        let (a, b) = ("short text", "short texT");
        assert!(!similar(a, &ngram::counts(a), b, &ngram::counts(b)));
        assert!(similar(a, &ngram::counts(a), a, &ngram::counts(a)));
    }

    /// Pairs of texts near the threshold: a base text and a copy with a few edits.
    fn near_pairs() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), any::<u8>()], 0..200))
            .prop_flat_map(|base| {
                let len = base.len().max(1);
                let edits = proptest::collection::vec((0..len, 0u8..3, any::<u8>()), 0..25);
                (Just(base), edits)
            })
            .prop_map(|(base, edits)| {
                let mut other = base.clone();
                for (position, kind, byte) in edits {
                    let position = position.min(other.len());
                    match kind {
                        0 if position < other.len() => other[position] = byte,
                        1 if position < other.len() => {
                            other.remove(position);
                        }
                        _ => other.insert(position, byte),
                    }
                }
                (base, other)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn bounded_agrees_with_plain_levenshtein((a, b) in near_pairs(), max in 0usize..30) {
            let exact = levenshtein(&a, &b);
            let expected = (exact <= max).then_some(exact);
            prop_assert_eq!(bounded(&a, &b, max), expected);
        }

        #[test]
        fn similar_agrees_with_the_plain_definition((a, b) in near_pairs()) {
            let a = String::from_utf8_lossy(&a).into_owned();
            let b = String::from_utf8_lossy(&b).into_owned();
            let (ca, cb) = (ngram::counts(&a), ngram::counts(&b));
            let limit = limit(a.len(), b.len());
            let expected = a == b
                || (limit > 1
                    && ngram::distance(&ca, &cb) <= limit
                    && levenshtein(a.as_bytes(), b.as_bytes()) < limit);
            prop_assert_eq!(similar(&a, &ca, &b, &cb), expected);
        }
    }
}
