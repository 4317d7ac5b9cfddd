//! Golden cases (Triage's own, from `triage/summarize/text_test.go`) and properties.

use proptest::prelude::*;

use super::*;
use crate::ngram;

const MAX: usize = DEFAULT_MAX_CLUSTER_TEXT_LENGTH;

fn triage_normalize(text: &str) -> String {
    Normalizer::Triage.normalize(text, MAX)
}

fn slipway_normalize(text: &str) -> String {
    Normalizer::Slipway.normalize(text, MAX)
}

#[test]
fn triage_golden_cases() {
    // TestNormalize and TestNormalizeNodeNames.
    let cases = [
        ("0x1234 a 123.13.45.43 b 2e24e003-9ffd-4e78-852c-9dcb6cbef493-123", "UNIQ1 a UNIQ2 b UNIQ3"),
        ("Mon, 12 January 2017 11:34:35 blah blah", "TIMEblah blah"),
        ("123.45.68.12:345 abcd1234eeee", "UNIQ1 UNIQ2"),
        ("node nodes-us-west1-a-w0fq failed", "node UNIQ1 failed"),
        ("node i-0d1f2dfeb37c586ad failed", "node UNIQ1 failed"),
        ("node kind-worker2 failed", "node UNIQ1 failed"),
        ("pod pod-terminate-status-2-7 failed", "pod UNIQ1 failed"),
        ("at: file.go:1234 error", "at: fileUNIQ1 error"),
        ("error @ 12/10/25 13:52:29.244", "error @ TIME"),
        (r#"pod "test-7mhp" failed"#, r#"pod "testUNIQ1 failed"#),
        ("container dynamicpv-bdf5 failed", "container dynamicpvUNIQ1failed"),
        ("namespaces/test-5405/pods", "namespaces/testUNIQ1pods"),
    ];
    for (input, expected) in cases {
        assert_eq!(triage_normalize(input), expected, "normalizing {input:?}");
    }
}

#[test]
fn triage_golden_long_text() {
    // TestNormalize "Incredibly large string".
    let text = "foobarbaz ".repeat(500_000);
    let expected = format!("{}{TRUNCATED}{}", &text[..5000], &text[..5000]);
    assert_eq!(triage_normalize(&text), expected);
}

/// TestPodFailureClusteringSameID: five occurrences of one failure on different nodes.
const POD_FAILURES: [&str; 5] = [
    "[FAILED] 1 errors:\npod pod-terminate-status-2-7 on node nodes-us-west1-a-w0fq container unexpected exit code 2: start=2025-12-10 13:51:30 +0000 UTC end=2025-12-10 13:51:30 +0000 UTC reason=Error message=\nIn [It] at: k8s.io/kubernetes/test/e2e/node/pods.go:1022 @ 12/10/25 13:52:29.244",
    "[FAILED] 1 errors:\npod pod-terminate-status-2-14 on node i-0d1f2dfeb37c586ad container unexpected exit code 2: start=2025-12-10 22:30:45 +0000 UTC end=2025-12-10 22:30:45 +0000 UTC reason=Error message=\nIn [It] at: k8s.io/kubernetes/test/e2e/node/pods.go:548 @ 12/10/25 22:30:49.099",
    "[FAILED] 1 errors:\npod pod-terminate-status-1-0 on node nodes-us-central1-c-1tpf container unexpected exit code 2: start=2025-12-23 14:17:13 +0000 UTC end=2025-12-23 14:17:14 +0000 UTC reason=Error message=\nIn [It] at: k8s.io/kubernetes/test/e2e/node/pods.go:849 @ 12/23/25 14:18:50.228",
    "[FAILED] 1 errors:\npod pod-terminate-status-2-0 on node nodes-uksouth-2000002 container unexpected exit code 2: start=2025-12-22 01:53:07 +0000 UTC end=2025-12-22 01:53:07 +0000 UTC reason=Error message=\nIn [It] at: k8s.io/kubernetes/test/e2e/node/pods.go:1381 @ 12/22/25 01:54:33.96",
    "[FAILED] 1 errors:\npod pod-terminate-status-2-5 on node kind-worker2 container unexpected exit code 2: start=2025-12-11 08:41:37 +0000 UTC end=2025-12-11 08:41:37 +0000 UTC reason=Error message=\nIn [It] at: k8s.io/kubernetes/test/e2e/node/pods.go:1381 @ 12/11/25 08:42:14.146",
];

#[test]
fn pod_failures_share_one_cluster_id_with_both_normalizers() {
    for normalizer in [Normalizer::Triage, Normalizer::Slipway] {
        let ids: Vec<String> =
            POD_FAILURES.iter().map(|text| ngram::cluster_id(&normalizer.normalize(text, MAX))).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{normalizer:?}: {ids:?}");
    }
}

#[test]
fn slipway_keeps_triages_rules_and_fixes_its_surprises() {
    let cases = [
        ("0x1234 a 123.13.45.43 b 2e24e003-9ffd-4e78-852c-9dcb6cbef493-123", "UNIQ a UNIQ b UNIQ-UNIQ"),
        ("Mon, 12 January 2017 11:34:35 blah blah", "TIME blah blah"),
        ("123.45.68.12:345 abcd1234eeee", "UNIQ UNIQ"),
        ("node nodes-us-west1-a-w0fq failed", "node UNIQ failed"),
        ("node i-0d1f2dfeb37c586ad failed", "node UNIQ failed"),
        ("node kind-worker2 failed", "node UNIQ failed"),
        ("pod pod-terminate-status-2-7 failed", "pod pod-terminate-status-UNIQ-UNIQ failed"),
        ("at: file.go:1234 error", "at: file.go:UNIQ error"),
        ("error @ 12/10/25 13:52:29.244", "error @ TIME"),
        // Random suffixes keep their delimiters; words after a dash are not suffixes.
        (r#"pod "test-x7k2p" failed"#, r#"pod "test-UNIQ" failed"#),
        ("container dynamicpv-bdf5 failed", "container dynamicpv-bdf5 failed"),
        ("namespaces/test-5405/pods", "namespaces/test-UNIQ/pods"),
        ("kube-proxy and e2e-tests", "kube-proxy and e2e-tests"),
        ("replicaset web-7d4b9c8f6b", "replicaset web-UNIQ"),
        // Plain numbers and durations.
        ("Expected <int>: 71 to equal <int>: 56", "Expected <int>: UNIQ to equal <int>: UNIQ"),
        ("timed out after 5m0s (waited 300ms, then 1.5s)", "timed out after UNIQ (waited UNIQ, then UNIQ)"),
        // Numbers glued to letters are names.
        ("e2e k8s v1beta1 sha256 x86_64 arm64", "e2e k8s v1beta1 sha256 x86_64 arm64"),
        // Timestamps in more formats, without eating what follows.
        ("at 2025-12-10T13:51:30.123456Z done", "at TIME done"),
        ("start=2025-12-10 13:51:30 +0000 UTC end", "start=TIME end"),
        ("I1210 13:51:30.244123   12345 kubelet.go:12] x", "TIME   UNIQ kubelet.go:UNIQ] x"),
        ("Wed Dec 10 13:51:30 UTC 2025: boom", "TIME: boom"),
        ("Dec  1 00:00:00 host", "TIME host"),
        // Hex ids and digests.
        ("image sha256:0123456789abcdef0123456789abcdef", "image sha256:UNIQ"),
        ("commit 1a2b3c4 and deadbeef", "commit UNIQ and deadbeef"),
        // Go maps, sorted after the values are replaced.
        ("map[b:2 a:1]", "map[a:UNIQ b:UNIQ]"),
        ("goroutine 42 [running]", "goroutine UNIQ [running]"),
        ("cluster_12 logger3", "UNIQ UNIQ"),
    ];
    for (input, expected) in cases {
        assert_eq!(slipway_normalize(input), expected, "normalizing {input:?}");
    }
}

#[test]
fn slipway_drops_repeated_lines_and_cuts_between_words() {
    assert_eq!(slipway_normalize("retry 1\nretry 2\nretry 3\ndone"), "retry UNIQ\ndone");
    let text = "word ".repeat(100);
    let cut = Normalizer::Slipway.normalize(&text, 60);
    assert!(cut.contains(TRUNCATED), "{cut:?}");
    assert_eq!(cut, format!("word word word word word word {TRUNCATED}word word word word word word "));
}

#[test]
fn normalize_name_strips_tags() {
    assert_eq!(normalize_name("[sig-node] Pods  should {Serial} be  [Conformance] ok"), "Pods should be ok");
}

#[test]
fn truncate_respects_character_boundaries() {
    let text = "é".repeat(20);
    let cut = truncate(&text, 9);
    assert_eq!(cut, format!("{}{TRUNCATED}{}", "é".repeat(2), "é".repeat(2)));
}

// Properties of the slipway normalizer.

/// Words that are never values.
const WORDS: [&str; 16] = [
    "failed",
    "to",
    "pod",
    "container",
    "expected",
    "timeout",
    "waiting",
    "for",
    "the",
    "condition",
    "node",
    "kubelet",
    "error:",
    "at",
    "k8s.io/kubernetes/test/e2e/node/pods.go",
    "Status",
];
/// Separators that end a value.
const SEPARATORS: [&str; 8] = [" ", ", ", ": ", "\n", " (", ") ", "=", " / "];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<[u8; 4]>(), proptest::option::of(1u16..)).prop_map(|(ip, port)| {
            let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
            port.map_or(ip.clone(), |port| format!("{ip}:{port}"))
        }),
        any::<u128>().prop_map(|n| {
            let hex = format!("{n:032x}");
            format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
        }),
        any::<u64>().prop_map(|n| format!("0x{n:x}")),
        (any::<u128>(), 16usize..=32).prop_map(|(n, len)| format!("{n:032x}")[..len].to_owned()),
        any::<u32>().prop_map(|n| n.to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Piece {
    Word(&'static str),
    Value(String),
}

fn pieces() -> impl Strategy<Value = Vec<(Piece, &'static str)>> {
    let piece = prop_oneof![
        3 => proptest::sample::select(WORDS.to_vec()).prop_map(Piece::Word),
        1 => value().prop_map(Piece::Value),
    ];
    proptest::collection::vec((piece, proptest::sample::select(SEPARATORS.to_vec())), 0..40)
}

fn render(pieces: &[(Piece, &str)]) -> String {
    pieces
        .iter()
        .map(|(piece, separator)| match piece {
            Piece::Word(word) => format!("{word}{separator}"),
            Piece::Value(value) => format!("{value}{separator}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn slipway_is_idempotent(text in "\\PC{0,300}", max in 40usize..400) {
        let once = Normalizer::Slipway.normalize(&text, max);
        prop_assert_eq!(Normalizer::Slipway.normalize(&once, max), once);
    }

    #[test]
    fn slipway_is_idempotent_on_failure_like_texts(pieces in pieces(), max in 40usize..400) {
        let once = Normalizer::Slipway.normalize(&render(&pieces), max);
        prop_assert_eq!(Normalizer::Slipway.normalize(&once, max), once);
    }

    #[test]
    fn slipway_ignores_which_values_appear(pieces in pieces(), replacements in proptest::collection::vec(value(), 40)) {
        let mut replaced = pieces.clone();
        for ((piece, _), replacement) in replaced.iter_mut().zip(replacements) {
            if let Piece::Value(value) = piece {
                *value = replacement;
            }
        }
        prop_assert_eq!(slipway_normalize(&render(&pieces)), slipway_normalize(&render(&replaced)));
    }

    #[test]
    fn normalizers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), max in 0usize..200) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Normalizer::Slipway.normalize(&text, max);
        let _ = Normalizer::Triage.normalize(&text, max);
    }

    #[test]
    fn normalizers_never_panic_on_unicode(text in "\\PC{0,200}", max in 0usize..200) {
        let _ = Normalizer::Slipway.normalize(&text, max);
        let _ = Normalizer::Triage.normalize(&text, max);
    }
}
