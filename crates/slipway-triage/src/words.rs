//! The value-aware word test, and the word sketches that find candidates for both tests.
//!
//! Triage's test counts characters. When a value (an IP, an id, a number) stands where another
//! occurrence of the same failure has a word, the normalizer can only replace the value by a
//! placeholder, and the word it displaced costs its full length: two occurrences of one long
//! failure in which 6% of the words were displaced by values are, half of the time, more than
//! 10% apart (see `docs/design/triage.md`). The word test compares the sequences of words
//! instead, with a placeholder against a word costing half a word edit: equal words cost
//! nothing, a placeholder against anything else ½, two different words 1, a missing word 1;
//! two texts pass when the cost is below 10% of their mean word count (Triage's 10%, counted in
//! words). A text of placeholders only is still far from a text of words.
//!
//! Words are maximal runs of ASCII letters, digits and `_`, or of non-ASCII characters;
//! everything else separates them. A word is kept as a 32-bit hash.

use crate::normalize::{TIME, VALUE};

/// The hash of the placeholder words.
const PLACEHOLDER_MARK: u32 = 1;

/// A text's words, as hashes; placeholders have the low bit set, other words not.
pub(crate) fn words(text: &str) -> Vec<u32> {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
    let mut words = Vec::with_capacity(bytes.len() / 6);
    let mut index = 0;
    while index < bytes.len() {
        if !is_word(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && is_word(bytes[index]) {
            index += 1;
        }
        words.push(word_hash(&bytes[start..index]));
    }
    words
}

fn is_placeholder(word: &[u8]) -> bool {
    if word == TIME.as_bytes() {
        return true;
    }
    // UNIQ, and Triage's numbered UNIQ1, UNIQ2, ...
    word.strip_prefix(VALUE.as_bytes()).is_some_and(|rest| rest.iter().all(u8::is_ascii_digit))
}

fn word_hash(word: &[u8]) -> u32 {
    if is_placeholder(word) {
        // All placeholders are one word here: UNIQ3 against UNIQ7 costs nothing.
        return PLACEHOLDER_MARK;
    }
    // FNV-1a, then the low bit cleared: it marks placeholders.
    let mut hash: u32 = 0x811C_9DC5;
    for &byte in word {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash & !PLACEHOLDER_MARK
}

/// Triage's 10% rule in words: the limit for two texts of these word counts.
fn limit(words_a: usize, words_b: usize) -> usize {
    crate::distance::limit(words_a, words_b)
}

/// Whether two word sequences pass the value-aware word test.
pub(crate) fn similar(a: &[u32], b: &[u32]) -> bool {
    let limit = limit(a.len(), b.len());
    if limit <= 1 {
        return false;
    }
    // Costs in half words: the test is cost < limit words, i.e. < 2 · limit halves.
    cost_below(a, b, 2 * limit).is_some()
}

/// `a` and `b` without the equal words, of those `trimmed` allows, they start and end with.
fn trim_equal_ends<'a>(a: &'a [u32], b: &'a [u32], trimmed: impl Fn(u32) -> bool) -> (&'a [u32], &'a [u32]) {
    let prefix = a.iter().zip(b).take_while(|&(&x, &y)| x == y && trimmed(x)).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|&(&x, &y)| x == y && trimmed(x)).count();
    (&a[..a.len() - suffix], &b[..b.len() - suffix])
}

/// The cost (in half words) of turning `a` into `b`, if it is below `bound`.
pub(crate) fn cost_below(a: &[u32], b: &[u32], bound: usize) -> Option<usize> {
    // Every word costs the same to skip, so equal words at both ends align with each other in
    // some best alignment.
    let (a, b) = trim_equal_ends(a, b, |_| true);
    const MISSING: usize = 2;
    let substitution = |x: u32, y: u32| -> usize {
        if x == y {
            0
        } else if (x | y) & PLACEHOLDER_MARK != 0 {
            1
        } else {
            2
        }
    };
    // A missing word costs 2, so fewer than bound / 2 of them fit: only the diagonals with
    // |i - j| < band can hold a path below the bound.
    let band = bound.div_ceil(MISSING);
    if bound == 0 || a.len().abs_diff(b.len()) >= band {
        return None;
    }
    let infinity = bound;
    let (n, m) = (a.len(), b.len());
    let mut previous = vec![infinity; m + 1];
    let mut current = vec![infinity; m + 1];
    for (j, cell) in previous.iter_mut().enumerate().take(band.min(m + 1)) {
        *cell = j * MISSING;
    }
    for i in 1..=n {
        let low = i.saturating_sub(band - 1).max(1);
        let high = (i + band - 1).min(m);
        // The cell left of the band holds a stale value from two rows ago.
        current[low - 1] = if low == 1 && i < band { i * MISSING } else { infinity };
        let mut best = current[low - 1];
        for j in low..=high {
            let cost = (previous[j - 1] + substitution(a[i - 1], b[j - 1]))
                .min(previous[j] + MISSING)
                .min(current[j - 1] + MISSING)
                .min(infinity);
            current[j] = cost;
            best = best.min(cost);
        }
        if best >= bound {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let cost = previous[m];
    (cost < bound).then_some(cost)
}

/// How many words two texts may differ in, values aside: 2, and one more per 400 words.
pub(crate) fn word_edits_allowed(words_a: usize, words_b: usize) -> usize {
    2 + (words_a + words_b) / 2 / 400
}

/// Whether two word sequences say the same thing, values aside: at most
/// [`word_edits_allowed`] edits of words, where a placeholder matches any word for free and
/// is added or dropped for free. Texts that share a long stack trace and differ in one line of
/// words fail this, however small that line is next to the trace; texts that differ in where
/// values stand pass it (the other tests bound how many values differ).
///
/// Alignments are searched within a band of diagonals as wide as the other tests allow (10%
/// of the words) plus the edits allowed; one that strays further is not found.
pub(crate) fn same_words(a: &[u32], b: &[u32]) -> bool {
    let allowed = word_edits_allowed(a.len(), b.len());
    let band = limit(a.len(), b.len()) + allowed + 2;
    // Equal words at both ends align with each other in some best alignment: only the middle
    // needs the programme (often a line, or nothing). Not placeholders: one may stand in for
    // a word further on (a word cut by a line break, say).
    let (a, b) = trim_equal_ends(a, b, |word| word & PLACEHOLDER_MARK == 0);
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > band {
        return false;
    }
    let free = |word: u32| word & PLACEHOLDER_MARK != 0;
    let substitution = |x: u32, y: u32| usize::from(x != y && !free(x) && !free(y));
    let skip = |word: u32| usize::from(!free(word));
    let infinity = allowed + 1;
    let mut previous = vec![infinity; m + 1];
    let mut current = vec![infinity; m + 1];
    previous[0] = 0;
    for j in 1..=m.min(band) {
        previous[j] = (previous[j - 1] + skip(b[j - 1])).min(infinity);
    }
    for i in 1..=n {
        let low = i.saturating_sub(band);
        let high = (i + band).min(m);
        current[low] = if low == 0 { (previous[0] + skip(a[i - 1])).min(infinity) } else { infinity };
        if low > 0 {
            // The cell left of the band: reachable only through the band.
            current[low] = (previous[low - 1] + substitution(a[i - 1], b[low - 1]))
                .min(previous[low] + skip(a[i - 1]))
                .min(infinity);
        }
        let mut best = current[low];
        for j in low + 1..=high {
            let cost = (previous[j - 1] + substitution(a[i - 1], b[j - 1]))
                .min(previous[j] + skip(a[i - 1]))
                .min(current[j - 1] + skip(b[j - 1]))
                .min(infinity);
            current[j] = cost;
            best = best.min(cost);
        }
        if high < m {
            current[high + 1] = infinity;
        }
        if best > allowed {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[m] <= allowed
}

/// Locality-sensitive hashing over word pairs: texts whose word pairs mostly agree share a
/// band key with high probability. One hash per word pair, spread over `BANDS × 2` bins
/// (one-permutation MinHash), two bins per band.
pub(crate) const BANDS: usize = 16;

/// Texts with fewer words are found by a scan instead: too few pairs for the sketch.
pub(crate) const MIN_SKETCH_WORDS: usize = 48;

/// The band keys of a word sequence (at least [`MIN_SKETCH_WORDS`] words).
pub(crate) fn band_keys(words: &[u32]) -> [u64; BANDS] {
    const BINS: usize = 2 * BANDS;
    let mut minimum = [u64::MAX; BINS];
    for pair in words.windows(2) {
        let hash = mix((u64::from(pair[0]) << 32) | u64::from(pair[1]));
        let bin = (((hash >> 32) * BINS as u64) >> 32) as usize;
        minimum[bin] = minimum[bin].min(hash & 0xFFFF_FFFF);
    }
    // Empty bins borrow the next filled bin's value (densification), so that two texts with
    // the same pairs still agree there.
    for bin in 0..BINS {
        if minimum[bin] == u64::MAX {
            let borrowed = (1..BINS).map(|step| minimum[(bin + step) % BINS]).find(|&value| value != u64::MAX);
            if let Some(value) = borrowed {
                minimum[bin] = mix(value ^ ((bin as u64) << 40)) | (1 << 63);
            }
        }
    }
    let mut keys = [0u64; BANDS];
    for (band, key) in keys.iter_mut().enumerate() {
        *key = mix(minimum[2 * band]
            ^ minimum[2 * band + 1].rotate_left(29)
            ^ (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    keys
}

/// The SplitMix64 finalizer.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The textbook dynamic programme with the same costs, as the reference.
    fn plain_cost(a: &[u32], b: &[u32]) -> usize {
        let substitution = |x: u32, y: u32| {
            if x == y {
                0
            } else if (x | y) & PLACEHOLDER_MARK != 0 {
                1
            } else {
                2
            }
        };
        let mut previous: Vec<usize> = (0..=b.len()).map(|j| 2 * j).collect();
        for i in 1..=a.len() {
            let mut current = vec![2 * i; b.len() + 1];
            for j in 1..=b.len() {
                current[j] =
                    (previous[j - 1] + substitution(a[i - 1], b[j - 1])).min(previous[j] + 2).min(current[j - 1] + 2);
            }
            previous = current;
        }
        previous[b.len()]
    }

    #[test]
    fn words_split_on_punctuation_and_mark_placeholders() {
        let words = words("pod-UNIQ failed: TIME UNIQ3 k8s.io");
        assert_eq!(words.len(), 7);
        assert_eq!(words.iter().filter(|&&word| word == PLACEHOLDER_MARK).count(), 3);
        assert!(words.iter().all(|&word| word == PLACEHOLDER_MARK || word & PLACEHOLDER_MARK == 0));
    }

    #[test]
    fn a_value_displacing_a_word_costs_half() {
        let text: Vec<String> = (0..40).map(|i| format!("word{}", (b'a' + (i % 26) as u8) as char)).collect();
        let base = words(&text.join(" "));
        let mut noisy = text.clone();
        for i in [3, 9, 17, 21, 30, 33, 38] {
            noisy[i] = "UNIQ".to_owned();
        }
        let noisy = words(&noisy.join(" "));
        // 7 displaced words: 3.5 < 4 = 10% of 40.
        assert!(similar(&base, &noisy));
        let mut other = text;
        for i in [3, 9, 17, 21] {
            other[i] = "different".to_owned();
        }
        // 4 different words: not below 4.
        assert!(!similar(&base, &words(&other.join(" "))));
        // Placeholders only: 40 halves.
        assert!(!similar(&base, &words(&vec!["UNIQ"; 40].join(" "))));
    }

    fn sequences() -> impl Strategy<Value = (Vec<u32>, Vec<u32>)> {
        let word = prop_oneof![Just(PLACEHOLDER_MARK), (1u32..6).prop_map(|w| w * 2)];
        (proptest::collection::vec(word.clone(), 0..60), proptest::collection::vec((0usize..60, 0u8..3, word), 0..12))
            .prop_map(|(a, edits)| {
                let mut b = a.clone();
                for (position, kind, word) in edits {
                    let position = position.min(b.len());
                    match kind {
                        0 if position < b.len() => b[position] = word,
                        1 if position < b.len() => {
                            b.remove(position);
                        }
                        _ => b.insert(position, word),
                    }
                }
                (a, b)
            })
    }

    /// [`same_words`] as a full matrix, band included.
    fn plain_same_words(a: &[u32], b: &[u32]) -> bool {
        let allowed = word_edits_allowed(a.len(), b.len());
        let band = limit(a.len(), b.len()) + allowed + 2;
        let free = |word: u32| word & PLACEHOLDER_MARK != 0;
        let skip = |word: u32| usize::from(!free(word));
        let big = usize::MAX / 4;
        let mut cost = vec![vec![big; b.len() + 1]; a.len() + 1];
        for i in 0..=a.len() {
            for j in 0..=b.len() {
                if i.abs_diff(j) > band {
                    continue;
                }
                if i == 0 && j == 0 {
                    cost[i][j] = 0;
                    continue;
                }
                let mut best = big;
                if i > 0 && j > 0 {
                    let same = a[i - 1] == b[j - 1] || free(a[i - 1]) || free(b[j - 1]);
                    best = best.min(cost[i - 1][j - 1] + usize::from(!same));
                }
                if i > 0 {
                    best = best.min(cost[i - 1][j] + skip(a[i - 1]));
                }
                if j > 0 {
                    best = best.min(cost[i][j - 1] + skip(b[j - 1]));
                }
                cost[i][j] = best;
            }
        }
        cost[a.len()][b.len()] <= allowed
    }

    #[test]
    fn one_different_line_is_a_different_text_however_long_the_rest() {
        let trace: Vec<String> = (0..600).map(|i| format!("frame{i}")).collect();
        let with = |line: &str| words(&format!("{line}\n{}", trace.join("\n")));
        let first = with("failed to attach volume UNIQ: timeout");
        let second = with("failed to mount volume UNIQ: permission denied by policy");
        assert!(!same_words(&first, &second));
        // Values where words were, and one word more, are the same text.
        assert!(same_words(&first, &with("failed to attach UNIQ UNIQ: timeout")));
        assert!(same_words(&first, &with("failed to attach volume UNIQ: timeout again")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn same_words_agrees_with_the_full_matrix((a, b) in sequences()) {
            prop_assert_eq!(same_words(&a, &b), plain_same_words(&a, &b));
        }

        #[test]
        fn banded_cost_agrees_with_the_plain_programme((a, b) in sequences(), bound in 0usize..30) {
            let exact = plain_cost(&a, &b);
            prop_assert_eq!(cost_below(&a, &b, bound), (exact < bound).then_some(exact));
        }
    }
}
