//! Triage's 4-gram histogram: the cheap lower-bound proxy for edit distance, and the cluster id
//! derived from it.
//!
//! Each 4-byte window of a text is hashed with CRC-32 (IEEE) and counted in one of 64 buckets
//! (`crc & 63`). Triage compares two texts by the L1 distance of their histograms divided by 4
//! (`ngramEditDist`) and names a cluster by the SHA-1 of the Python `str()` of its key's histogram
//! (`makeNgramCountsDigest`), so both must be reproduced exactly.

use sha1::{Digest, Sha1};

/// Number of buckets of the histogram.
pub const BUCKETS: usize = 64;

/// A text's 4-gram histogram.
pub type Counts = [u16; BUCKETS];

/// The standard reflected CRC-32 table (polynomial 0xEDB88320).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// CRC-32 (IEEE, as Go's `crc32.ChecksumIEEE` and zlib compute it) of `bytes`.
const fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    let mut index = 0;
    while index < bytes.len() {
        crc = CRC_TABLE[((crc ^ bytes[index] as u32) & 0xFF) as usize] ^ (crc >> 8);
        index += 1;
    }
    !crc
}

/// CRC-32 of a 4-byte message is affine in its bytes: `crc(m) = crc(0000) ^ Σ T[p][m[p]]` with
/// `T[p][b] = crc(b at position p, zeros elsewhere) ^ crc(0000)`. Only the low 6 bits are kept,
/// so a window's bucket costs four independent table loads instead of a byte-serial CRC: the
/// histogram of every failure text is computed, so this loop is hot.
const WINDOW_TABLES: ([[u8; 256]; 4], u8) = {
    let zero = crc32(&[0, 0, 0, 0]);
    let mut tables = [[0u8; 256]; 4];
    let mut position = 0;
    while position < 4 {
        let mut byte = 0;
        while byte < 256 {
            let mut message = [0u8; 4];
            message[position] = byte as u8;
            tables[position][byte] = ((crc32(&message) ^ zero) & 63) as u8;
            byte += 1;
        }
        position += 1;
    }
    (tables, (zero & 63) as u8)
};

/// The bucket of one 4-byte window.
#[inline]
fn bucket(window: &[u8]) -> usize {
    let (tables, zero) = &WINDOW_TABLES;
    usize::from(
        zero ^ tables[0][usize::from(window[0])]
            ^ tables[1][usize::from(window[1])]
            ^ tables[2][usize::from(window[2])]
            ^ tables[3][usize::from(window[3])],
    )
}

/// The 4-gram histogram of `text` (Triage's `makeNgramCounts`). Counts saturate at `u16::MAX`,
/// which only texts far longer than the clustering limit reach.
pub fn counts(text: &str) -> Counts {
    let mut counts = [0u16; BUCKETS];
    for window in text.as_bytes().windows(4) {
        let slot = &mut counts[bucket(window)];
        *slot = slot.saturating_add(1);
    }
    counts
}

/// Triage's `ngramEditDist`: the L1 distance of two histograms, divided by 4 (rounded down).
pub fn distance(a: &Counts, b: &Counts) -> usize {
    l1(a, b) / 4
}

/// The L1 distance of two histograms, written so that it vectorises.
#[inline]
pub fn l1(a: &Counts, b: &Counts) -> usize {
    let mut sum = 0u32;
    for (x, y) in a.iter().zip(b) {
        sum += u32::from(x.abs_diff(*y));
    }
    sum as usize
}

/// The cluster id of a cluster key, as Triage computes it (`makeNgramCountsDigest`): the first 20
/// hex digits of the SHA-1 of the histogram rendered as a Python list, `"[3, 0, 1, ...]"`.
/// Triage's counts are not capped, so this recounts without saturation.
pub fn cluster_id(key: &str) -> String {
    let mut counts = [0u64; BUCKETS];
    for window in key.as_bytes().windows(4) {
        counts[bucket(window)] += 1;
    }
    let rendered = counts.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let digest = Sha1::digest(format!("[{rendered}]").as_bytes());
    let mut hex = String::with_capacity(40);
    for byte in digest.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.truncate(20);
    hex
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn cluster_id_matches_triages_test_vector() {
        // triage/summarize/text_test.go TestMakeNgramCountsDigest.
        assert_eq!(cluster_id("some string"), "eddb950347d1eb05b5d7");
    }

    #[test]
    fn ngram_distance_matches_triages_test() {
        // triage/summarize/text_test.go TestNgramEditDist.
        assert_eq!(distance(&counts("example text"), &counts("exampl text")), 1);
    }

    #[test]
    fn short_texts_have_empty_histograms() {
        assert_eq!(counts("abc"), [0; BUCKETS]);
        assert_eq!(counts("abcd").iter().map(|&c| u32::from(c)).sum::<u32>(), 1);
    }

    proptest! {
        #[test]
        fn window_tables_agree_with_crc32(window in proptest::array::uniform4(any::<u8>())) {
            prop_assert_eq!(bucket(&window), (crc32(&window) & 63) as usize);
        }
    }
}
