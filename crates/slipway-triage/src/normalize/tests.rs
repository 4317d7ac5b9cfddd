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

/// Two values of one kind: plain values, or values inside a path or a name.
fn value_pair() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        (plain_value(), plain_value()),
        (0usize..NEW_KINDS).prop_flat_map(|kind| (new_value(kind), new_value(kind))),
    ]
}

fn plain_value() -> impl Strategy<Value = String> {
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

const NEW_KINDS: usize = 13;

/// What kubernetes CI failures hold besides the classic values: IPv6 addresses, generated
/// names, durations, timestamps in several formats, ports and paths with run ids.
fn new_value(kind: usize) -> BoxedStrategy<String> {
    let group = || (0u32..0x10000).prop_map(|n| format!("{n:x}"));
    let suffix = |length: std::ops::RangeInclusive<usize>| {
        proptest::collection::vec(proptest::sample::select(b"bcdfghjklmnpqrstvwxz2456789".to_vec()), length)
            .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII"))
    };
    match kind {
        0 => (group(), group(), group()).prop_map(|(a, b, c)| format!("fd00:10:{a}:{b}::{c}")).boxed(),
        1 => (group(), group(), 1u16..).prop_map(|(a, b, port)| format!("[2001:db8:{a}::{b}]:{port}")).boxed(),
        2 => proptest::collection::vec(group(), 8).prop_map(|groups| groups.join(":")).boxed(),
        3 => (suffix(6..=10), suffix(5..=5)).prop_map(|(hash, tail)| format!("web-{hash}-{tail}")).boxed(),
        4 => suffix(5..=5).prop_map(|tail| format!("coredns-{tail}")).boxed(),
        5 => prop_oneof![
            (0u32..100_000, 0u32..1000).prop_map(|(s, ms)| format!("{s}.{ms}s")),
            (1u32..60, 0u32..60).prop_map(|(m, s)| format!("{m}m{s}s")),
            (0u32..10_000).prop_map(|ms| format!("{ms}ms")),
        ]
        .boxed(),
        // An id of the letters a-f only ("deadbeef") is a word here, as it may well be.
        6 => any::<u32>()
            .prop_map(|n| format!("{n:08x}"))
            .prop_filter("a digit", |id| id.bytes().any(|b| b.is_ascii_digit()))
            .prop_map(|id| format!("/tmp/e2e-run-{id}/artifacts/junit.xml"))
            .boxed(),
        7 => (10_000_000_000_000_000u64..)
            .prop_map(|id| format!("/logs/ci-kubernetes-e2e-gce/{id}/build-log.txt"))
            .boxed(),
        8 => (100_000_000u64..10_000_000_000).prop_map(|n| format!("/tmp/TestReconcile{n}/001")).boxed(),
        9 => "[a-zA-Z0-9]{4}[0-9][A-Z][a-zA-Z0-9]{4}"
            .prop_map(|random| format!("/tmp/tmp.{random}/manifest.yaml"))
            .boxed(),
        10 => (0u32..256, 0u32..256).prop_map(|(a, b)| format!("ip-10-0-{a}-{b}.ec2.internal")).boxed(),
        11 => suffix(5..=5).prop_map(|tail| format!("e2e-provisioning-{tail}")).boxed(),
        _ => (1000u32..10_000).prop_map(|n| format!("e2e-tests-kubectl-{n}")).boxed(),
    }
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..29, 0u32..24, 0u32..60, 1u32..1_000_000_000)
            .prop_map(|(d, h, m, n)| format!("2026-11-{d:02}T{h:02}:{m:02}:{m:02}.{n}Z")),
        (1u32..29, 0u32..24, 0u32..60).prop_map(|(d, h, m)| format!("2026-11-{d:02}T{h:02}:{m:02}:59+02:00")),
        (1u32..29, 0u32..24, 0u32..60, 0u32..1000)
            .prop_map(|(d, h, m, ms)| format!("2026-11-{d:02} {h:02}:{m:02}:07.{ms} +0000 UTC")),
        (1u32..29, 0u32..24, 0u32..1_000_000).prop_map(|(d, h, us)| format!("I11{d:02} {h:02}:04:05.{us:06}")),
        (1u32..29, 0u32..24).prop_map(|(d, h)| format!("Dec {d:2} {h:02}:04:05")),
    ]
}

#[derive(Debug, Clone)]
enum Piece {
    Word(&'static str),
    /// A value, and another of the same kind to replace it with.
    Value(String, String),
}

fn pieces() -> impl Strategy<Value = Vec<(Piece, &'static str)>> {
    let piece = prop_oneof![
        3 => proptest::sample::select(WORDS.to_vec()).prop_map(Piece::Word),
        1 => value_pair().prop_map(|(value, other)| Piece::Value(value, other)),
    ];
    proptest::collection::vec((piece, proptest::sample::select(SEPARATORS.to_vec())), 0..40)
}

fn render(pieces: &[(Piece, &str)]) -> String {
    render_values(pieces, false)
}

/// The text, with each value or the other value of its kind.
fn render_values(pieces: &[(Piece, &str)], replaced: bool) -> String {
    pieces
        .iter()
        .map(|(piece, separator)| match piece {
            Piece::Word(word) => format!("{word}{separator}"),
            Piece::Value(value, other) => format!("{}{separator}", if replaced { other } else { value }),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn slipway_is_idempotent(text in "\\PC{0,300}", max in 40usize..400) {
        let once = Normalizer::Slipway.normalize(&text, max);
        prop_assert!(Normalizer::Slipway.is_normalized(&once, max), "{once:?}");
    }

    #[test]
    fn slipway_is_idempotent_on_failure_like_texts(pieces in pieces(), max in 40usize..400) {
        let once = Normalizer::Slipway.normalize(&render(&pieces), max);
        prop_assert!(Normalizer::Slipway.is_normalized(&once, max), "{once:?}");
    }

    #[test]
    fn slipway_ignores_which_values_appear(pieces in pieces()) {
        let (before, after) = (render_values(&pieces, false), render_values(&pieces, true));
        // Values of other lengths can make lines look wrapped (three of the same greatest
        // length): a coincidence, rare, and left to the similarity tests.
        prop_assume!(unwrap(&before) == before && unwrap(&after) == after);
        prop_assert_eq!(slipway_normalize(&before), slipway_normalize(&after));
    }

    /// Timestamps of every recognised format become `TIME`, whatever their digits, and the
    /// text around them stays.
    #[test]
    fn slipway_ignores_which_times_appear(
        first in timestamp(), second in timestamp(), before in "([a-z]{1,8} ){0,3}", after in "( [a-z]{1,8}){0,4}",
    ) {
        let normalize = |time: &str| slipway_normalize(&format!("{before}{time}{after}"));
        prop_assert_eq!(normalize(&first), format!("{before}TIME{after}"));
        prop_assert_eq!(normalize(&first), normalize(&second));
    }

    /// A text wrapped at any column, as one string or line by line, with breaks inside its
    /// values and words, normalizes as the text itself does: cut tokens are joined before
    /// the rules run (when the wrapping makes at least two breaks; see `normalize/unwrap.rs`).
    #[test]
    fn slipway_ignores_wrapping(pieces in pieces(), width in 30usize..140, whole in any::<bool>()) {
        let text = render(&pieces).replace('\n', " ");
        prop_assume!(text.chars().count() > 2 * (width + 1) + 1);
        let characters: Vec<char> = text.chars().collect();
        let wrapped = characters.chunks(width).map(|chunk| chunk.iter().collect::<String>()).collect::<Vec<_>>();
        let wrapped = if whole { wrapped.join("\n") } else { format!("{}\nlast line", wrapped.join("\n")) };
        // Line by line, a line whose length is a multiple of the width is joined to the next:
        // nothing tells its last piece from a cut one.
        prop_assume!(whole || !characters.len().is_multiple_of(width));
        let expected = if whole { text } else { format!("{text}\nlast line") };
        prop_assert_eq!(slipway_normalize(&wrapped), slipway_normalize(&expected));
    }

    /// Telling a value's replacement from its text agrees with reading the regex's groups.
    #[test]
    fn replacements_from_matched_text_agree_with_capture_groups(
        pieces in pieces(),
        words in proptest::collection::vec("[a-fA-F0-9:tmpx._-]{1,20}", 0..20),
    ) {
        let text = format!("{} {}", render(&pieces), words.join(" "));
        for captures in SLIPWAY_VALUE.captures_iter(&text) {
            prop_assert_eq!(value_replacement(&captures[0]).into_owned(), slipway_value(&captures));
        }
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
