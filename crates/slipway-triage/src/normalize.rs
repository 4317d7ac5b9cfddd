//! Normalization of failure texts: removing what varies between two occurrences of the same
//! failure (times, addresses, ids, numbers) so that they compare equal or close.
//!
//! Two normalizers, since any change of rules changes cluster keys and so their ids:
//!
//! - [`Normalizer::Triage`] reproduces Triage's `normalize` (`triage/summarize/text.go`) rule for
//!   rule: dates become `TIME`, Go maps are sorted, pointers, IPs, UUIDs, hex runs, node and pod
//!   names, `.go:N`, random suffixes, ports, goroutine numbers and millisecond durations are
//!   renamed `UNIQ1`, `UNIQ2`, ... by first appearance, and long texts lose repeated lines and
//!   are cut in the middle.
//! - [`Normalizer::Slipway`] (the default) keeps those rules and fixes what hurts clustering:
//!   plain numbers and all durations are values too; every value becomes the same `UNIQ` (Triage's
//!   numbering by first appearance makes one extra value renumber every later one); random
//!   suffixes keep their delimiter; more timestamp formats are recognised and none eats the text
//!   after it; repeated lines are always dropped; and the result is a fixed point (normalizing it
//!   again changes nothing), which keeps `--previous` keys stable.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

mod unwrap;

pub(crate) use unwrap::unwrap;

/// What a timestamp becomes.
pub const TIME: &str = "TIME";
/// What a variable value (number, address, id, ...) becomes with [`Normalizer::Slipway`].
pub const VALUE: &str = "UNIQ";
/// Triage's default `--max_cluster_text_length`: longer texts are cut for clustering.
pub const DEFAULT_MAX_CLUSTER_TEXT_LENGTH: usize = 10_000;
/// Triage's default `--max_failure_text_length`: longer texts are cut in the output.
pub const DEFAULT_MAX_FAILURE_TEXT_LENGTH: usize = 100_000;
/// What replaces the middle of a text that is too long.
pub const TRUNCATED: &str = "\n...[truncated]...\n";

/// A set of normalization rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Normalizer {
    /// Triage's rules, reproduced exactly (keys and ids match Triage's for the same texts).
    Triage,
    /// Triage's rules plus numbers and durations, unnumbered placeholders, more timestamp
    /// formats; idempotent.
    #[default]
    Slipway,
}

impl Normalizer {
    /// The normalizer's name, as written in outputs and accepted by [`Normalizer::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Normalizer::Triage => "triage",
            Normalizer::Slipway => "slipway",
        }
    }

    /// The normalizer called `name`.
    pub fn parse(name: &str) -> Option<Normalizer> {
        match name {
            "triage" => Some(Normalizer::Triage),
            "slipway" => Some(Normalizer::Slipway),
            _ => None,
        }
    }

    /// Whether `text` is what these rules make of a text: a key of an earlier run that the
    /// rules would produce again (Triage calls other keys "lost"). Wrapping is not undone
    /// here: a normalized text is never wrapped, but its lines could look so by chance.
    pub fn is_normalized(self, text: &str, max_length: usize) -> bool {
        match self {
            Normalizer::Triage => triage(text, max_length) == text,
            Normalizer::Slipway => slipway_rules(text, max_length) == text,
        }
    }

    /// Normalizes `text`; the result is at most about `max_length` bytes (plus [`TRUNCATED`]).
    pub fn normalize(self, text: &str, max_length: usize) -> String {
        match self {
            Normalizer::Triage => triage(text, max_length),
            Normalizer::Slipway => slipway(text, max_length),
        }
    }
}

// Go's regexp classes are ASCII-only (`\d`, `\w`, `\s`), so the patterns spell them out:
// Rust's would match Unicode digits, letters and spaces.

/// Triage's `flakeReasonDateRE`. `[\d.-: ]` there is a class with the range `.-:`, so it holds
/// digits, `.`, `/`, `:` and space.
static TRIAGE_DATE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"[A-Z][a-z]{2}, [0-9]+ [0-9A-Za-z_]+ 2[0-9]{3} [0-9./: ]*([-+][0-9]+)?",
        r"|[0-9A-Za-z_]{3}[\t\n\f\r ]+[0-9]{1,2} [0-9]+:[0-9]+:[0-9]+(\.[0-9]+)?",
        r"|([0-9]{4}-[0-9][0-9]-[0-9][0-9].|.[0-9]{4} )[0-9][0-9]:[0-9][0-9]:[0-9][0-9](.[0-9]+)?",
        r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?",
    ))
});

/// Triage's `flakeReasonOrdinalRE`.
static TRIAGE_ORDINAL: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"0x[0-9a-fA-F]+",
        r"|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]+)?",
        r"|[0-9a-fA-F]{8}-[^\t\n\f\r ]{4}-[^\t\n\f\r ]{4}-[^\t\n\f\r ]{4}-[^\t\n\f\r ]{12}(-[0-9]+)?",
        r"|[0-9a-f]{12,32}",
        r"|(minion-group-|default-pool-)[-0-9a-z]{4,}",
        r"|nodes-[-a-z0-9]+-[a-z0-9]{4,}",
        r"|i-[0-9a-f]{10,}",
        r"|kind-worker[0-9]*",
        r"|pod-[a-z-]+-[0-9]+-[0-9]+",
        r"|\.go:[0-9]+",
        r#"|-[a-z0-9]{4,5}(?:"|$|[\t\n\f\r ]|/)"#,
        r"|localhost:[0-9]{4,5}",
        r#"|:[0-9]{5}(?:[\t\n\f\r ]|$|"|\]|/)"#,
        r"|(cluster|logger|Server #)_?[0-9]+",
        r"|goroutine [0-9]+",
        r"|[0-9]+\.[0-9]{3}s",
    ))
});

/// Go maps print in random order: `map[b:2 a:1]`. Triage sorts their space-separated items.
static MAP: LazyLock<Regex> = LazyLock::new(|| compile(r"map\[([^\[\]]*)\]"));

/// Timestamps for [`Normalizer::Slipway`]. `\b` is ASCII (`(?-u:\b)`), as everywhere below.
static SLIPWAY_DATE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        // RFC 1123/822 and Go's RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700", "Mon, 12 January 2017 11:34:35".
        r"(?-u:\b)(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? [0-9]{1,2} [A-Z][a-z]+ [0-9]{4} ",
        r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?(?:[-+][0-9]{4}|[A-Z]{3,4}))?(?-u:\b)",
        // ISO 8601, RFC 3339 and Go's time.Time: "2006-01-02T15:04:05.000Z", "2025-12-10 13:51:30 +0000 UTC".
        r"|(?-u:\b)[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?",
        r"(?:Z|[-+][0-9]{2}:?[0-9]{2})?(?: [-+][0-9]{4})?(?: [A-Z]{3,4})?)?(?-u:\b)",
        // klog headers: "I1210 13:51:30.244123".
        r"|(?-u:\b)[IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?-u:\b)",
        // syslog and date(1): "Jan  1 00:00:00", "Wed Dec 10 13:51:30 UTC 2025".
        r"|(?-u:\b)(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
        r" +[0-9]{1,2},? (?:[0-9]{4} )?[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?: [A-Z]{3,4})?(?: [0-9]{4})?(?-u:\b)",
        // Ginkgo v2: "12/10/25 13:52:29.244", "1/2/2025 1:02:03".
        r"|(?-u:\b)[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?-u:\b)",
        // Bare times: "13:52:29", "13:52:29.244".
        r"|(?-u:\b)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?-u:\b)",
    ))
});

/// Values for [`Normalizer::Slipway`], most specific first (at one position the first
/// alternative that matches wins). Two kinds are decided by [`slipway_value`]: the `hex` and
/// `suffix` groups.
static SLIPWAY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)0x[0-9a-fA-F]+",
        r"|(?-u:\b)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?-u:\b)",
        // IPv6: eight groups, or fewer around a "::" (decided by `slipway_value`: it must hold
        // a digit, so that "Add::add" stays).
        r"|(?P<ip6>(?-u:\b)(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?-u:\b)",
        r"|(?-u:\b)(?:[0-9a-fA-F]{1,4}:){1,6}(?::[0-9a-fA-F]{1,4}){1,6}(?-u:\b)",
        r"|::[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}(?-u:\b)",
        r"|(?-u:\b)(?:[0-9a-fA-F]{1,4}:){2,7}:)",
        r"|(?-u:\b)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?(?-u:\b)",
        // Node names: GCE, GKE/Azure, AWS, kind.
        r"|(?-u:\b)(?:minion-group-|default-pool-)[-0-9a-z]{4,}",
        r"|(?-u:\b)nodes-[-a-z0-9]+-[a-z0-9]{4,}(?-u:\b)",
        r"|(?-u:\b)i-[0-9a-f]{10,}(?-u:\b)",
        r"|(?-u:\b)kind-(?:worker|control-plane)[0-9]*(?-u:\b)",
        // Durations: "1.5s", "300ms", "1h2m3.5s".
        r"|(?-u:\b)[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h|d)(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))*(?-u:\b)",
        r"|(?-u:\b)(?:cluster|logger|Server #)_?[0-9]+(?-u:\b)",
        r"|(?-u:\b)[0-9]+(?-u:\b)",
        // Temporary names: mktemp's "tmp.Xy7Ab3Kq9z", Python's "tmpab3k_x9z".
        r"|(?-u:\b)(?P<temp>tmp\.?)(?P<random>[A-Za-z0-9_]{6,12})(?-u:\b)",
        // Long hex runs, even inside words ("sha256:<64 hex>", image ids).
        r"|[0-9a-f]{16,}",
        r"|(?-u:\b)(?P<hex>[0-9a-f]{7,15})(?-u:\b)",
        // Kubernetes random suffixes (k8s.io/apimachinery/pkg/util/rand's alphabet): "-x7k2p".
        r"|-(?P<suffix>[bcdfghjklmnpqrstvwxz2456789]{5,10})(?-u:\b)",
        // Long numbers inside words: run ids ("TestReconcile1234567890", "e2e-run1234567").
        r"|[0-9]{5,}",
    ))
});

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the normalization patterns are valid")
}

/// Triage's `normalize`, rule for rule.
fn triage(text: &str, max_length: usize) -> String {
    let text = TRIAGE_DATE.replace_all(text, TIME);
    let text = if text.contains("map[") { sort_maps(&text) } else { text };
    let mut renamed: HashMap<String, String> = HashMap::new();
    let text = TRIAGE_ORDINAL.replace_all(&text, |captures: &Captures<'_>| {
        let matched = &captures[0];
        let next = renamed.len() + 1;
        renamed.entry(matched.to_owned()).or_insert_with(|| format!("UNIQ{next}")).clone()
    });
    let mut text = text.into_owned();
    if text.len() > max_length {
        text = remove_repeated_lines(&text).into_owned();
    }
    truncate(&text, max_length).into_owned()
}

/// Triage's rules, improved (see the module documentation): wrapping undone, then the rules.
fn slipway(text: &str, max_length: usize) -> String {
    slipway_rules(&unwrap(text), max_length)
}

/// The rules of [`slipway`] after unwrapping. Their result is a fixed point: applying them
/// again changes nothing.
fn slipway_rules(text: &str, max_length: usize) -> String {
    let text = SLIPWAY_DATE.replace_all(text, TIME);
    let text = match replace_values(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(replaced) => Cow::Owned(replaced),
    };
    let text = if text.contains("map[") { sort_maps(&text) } else { text };
    let text = remove_repeated_lines(&text);
    if text.len() <= max_length + TRUNCATED.len() {
        return text.into_owned();
    }
    // A cut can bring equal lines together ("a UNIQ\nUNIQ\nUNIQ" cut after "a ").
    let text = truncate_between_words(&text, max_length);
    remove_repeated_lines(&text).into_owned()
}

/// Every [`SLIPWAY_VALUE`] match replaced by [`value_replacement`]. Matches are found without
/// capture groups (resolving them for every match took a third of the time).
fn replace_values(text: &str) -> Cow<'_, str> {
    let mut replaced = String::new();
    let mut last = 0;
    for found in SLIPWAY_VALUE.find_iter(text) {
        let matched = found.as_str();
        let replacement = value_replacement(matched);
        if replacement == matched {
            continue;
        }
        if replaced.is_empty() {
            replaced.reserve(text.len());
        }
        replaced.push_str(&text[last..found.start()]);
        replaced.push_str(&replacement);
        last = found.end();
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    replaced.push_str(&text[last..]);
    Cow::Owned(replaced)
}

/// What one [`SLIPWAY_VALUE`] match becomes, told from the matched text alone: only the `-`
/// suffix alternative starts with `-`, only the temporary names start with `tmp`, only IPv6
/// addresses are hex digits and colons, and a match of 7 to 15 of the letters a-f can only be
/// a short hex run (the other alternatives need digits, prefixes or other letters).
fn value_replacement(matched: &str) -> Cow<'_, str> {
    let bytes = matched.as_bytes();
    if bytes.first() == Some(&b'-') {
        // generateName suffixes (five characters) and pod template hashes (up to ten) use an
        // alphabet without vowels, so that they never spell a word.
        return Cow::Owned(format!("-{VALUE}"));
    }
    if let Some(rest) = matched.strip_prefix("tmp") {
        // Random: a digit, an underscore or an upper-case letter ("tmpdirectory" is a word).
        let random = rest.strip_prefix('.').unwrap_or(rest);
        let is_value = random.bytes().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'_');
        let prefix = &matched[..matched.len() - random.len()];
        return if is_value { Cow::Owned(format!("{prefix}{VALUE}")) } else { Cow::Borrowed(matched) };
    }
    if bytes.contains(&b':') && bytes.iter().all(|&b| b.is_ascii_hexdigit() || b == b':') {
        // An IPv6 address holds a digit ("Add::add" does not).
        return if bytes.iter().any(u8::is_ascii_digit) { Cow::Borrowed(VALUE) } else { Cow::Borrowed(matched) };
    }
    if (7..=15).contains(&bytes.len()) && bytes.iter().all(|b| (b'a'..=b'f').contains(b)) {
        // Short hex runs are ids only when they mix digits and letters ("1a2b3c4", not
        // "deadbeef" or "effaced"); pure digits were taken as numbers already.
        return Cow::Borrowed(matched);
    }
    Cow::Borrowed(VALUE)
}

/// The replacement of one [`SLIPWAY_VALUE`] match, from its capture groups: the reference
/// [`value_replacement`] is tested against.
#[cfg(test)]
fn slipway_value(captures: &Captures<'_>) -> String {
    if let Some(hex) = captures.name("hex") {
        // Short hex runs are ids only when they mix digits and letters ("1a2b3c4", not
        // "deadbeef" or "effaced"); pure digits were taken as numbers already.
        let hex = hex.as_str();
        let mixed = hex.bytes().any(|b| b.is_ascii_digit()) && hex.bytes().any(|b| b.is_ascii_alphabetic());
        return if mixed { VALUE.to_owned() } else { hex.to_owned() };
    }
    if captures.name("suffix").is_some() {
        // generateName suffixes (five characters) and pod template hashes (up to ten) use an
        // alphabet without vowels, so that they never spell a word.
        return format!("-{VALUE}");
    }
    if let Some(address) = captures.name("ip6") {
        let is_value = address.as_str().bytes().any(|b| b.is_ascii_digit());
        return if is_value { VALUE.to_owned() } else { address.as_str().to_owned() };
    }
    if let (Some(temp), Some(random)) = (captures.name("temp"), captures.name("random")) {
        // Random: a digit, an underscore or an upper-case letter ("tmpdirectory" is a word).
        let random = random.as_str();
        let is_value = random.bytes().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'_');
        return if is_value { format!("{}{VALUE}", temp.as_str()) } else { captures[0].to_owned() };
    }
    VALUE.to_owned()
}

/// Sorts the space-separated items of every `map[...]`.
fn sort_maps(text: &str) -> Cow<'_, str> {
    MAP.replace_all(text, |captures: &Captures<'_>| {
        let mut items: Vec<&str> = captures[1].split(' ').collect();
        items.sort_unstable();
        format!("map[{}]", items.join(" "))
    })
}

/// Drops lines equal to the line before them (Triage's `RemoveDuplicateLines`).
fn remove_repeated_lines(text: &str) -> Cow<'_, str> {
    let mut lines = text.split('\n');
    let Some(first) = lines.next() else { return Cow::Borrowed(text) };
    let mut previous = first;
    let mut kept = String::new();
    let mut changed = false;
    kept.push_str(first);
    for line in lines {
        if line == previous {
            changed = true;
            continue;
        }
        kept.push('\n');
        kept.push_str(line);
        previous = line;
    }
    if changed { Cow::Owned(kept) } else { Cow::Borrowed(text) }
}

/// Triage's `truncate`: the first and last `max_length / 2` bytes around [`TRUNCATED`]. Go cuts
/// bytes; here the cuts move to character boundaries (inwards), so the result stays UTF-8.
pub fn truncate(text: &str, max_length: usize) -> Cow<'_, str> {
    if text.len() <= max_length {
        return Cow::Borrowed(text);
    }
    let half = max_length / 2;
    let head = text.floor_char_boundary(half);
    let tail = text.ceil_char_boundary(text.len() - half);
    Cow::Owned(format!("{}{TRUNCATED}{}", &text[..head], &text[tail..]))
}

/// Like [`truncate`], but each cut moves inwards to the nearest place that is not inside a word
/// (ASCII letters, digits, `_`): a cut word could turn into a value ("k8s" → "8s") and the
/// result would no longer be a fixed point.
fn truncate_between_words(text: &str, max_length: usize) -> String {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let can_cut = |i: usize| {
        text.is_char_boundary(i) && (i == 0 || i == bytes.len() || !(is_word(bytes[i - 1]) && is_word(bytes[i])))
    };
    let half = max_length / 2;
    let head = (0..=half).rev().find(|&i| can_cut(i)).unwrap_or(0);
    let tail = (bytes.len() - half..=bytes.len()).find(|&i| can_cut(i)).unwrap_or(bytes.len());
    format!("{}{TRUNCATED}{}", &text[..head], &text[tail..])
}

/// Triage's `normalizeName`: a test name without `[...]` and `{...}` and with runs of spaces
/// squashed; owner prefixes are matched against it.
pub fn normalize_name(name: &str) -> String {
    static TAGS: LazyLock<Regex> = LazyLock::new(|| compile(r"\[.*?\]|\{.*?\}"));
    static SPACES: LazyLock<Regex> = LazyLock::new(|| compile(r"[\t\n\f\r ]+"));
    let name = TAGS.replace_all(name, "");
    SPACES.replace_all(&name, " ").trim().to_owned()
}

#[cfg(test)]
mod tests;
