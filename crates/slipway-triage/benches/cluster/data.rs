//! Deterministic synthetic failures for the clustering benchmark and the quality tests.
//!
//! Three kinds of data, each with the true family of every failure:
//!
//! - [`e2e`]: short node-e2e-like messages from templates whose variable parts (pod and node
//!   names, IPs, timestamps, durations, line numbers, counts) change in every occurrence;
//! - [`noisy`]: long messages (60–200 words) in which about 6% of the words are replaced, in every
//!   occurrence, by an IP, a UUID, a hex value or a plain number;
//! - [`hard`]: what real CI logs look like (see its documentation): hard-wrapped at a fixed
//!   column, long-tailed lengths, many kinds of variable tokens, several families per test, and
//!   families that share a long stack trace and differ in one line.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use slipway_triage::Failure;

/// How much data to make.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub failures: usize,
    pub tests: usize,
    pub families: usize,
}

/// SplitMix64: a small deterministic generator, so the data is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < probability
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn hex(&mut self, digits: usize) -> String {
        (0..digits).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }

    pub fn ip(&mut self) -> String {
        format!("10.{}.{}.{}", self.below(256), self.below(256), self.below(256))
    }

    pub fn uuid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))
    }

    /// A made-up word of 6 to 10 letters.
    pub fn word(&mut self) -> String {
        let length = 6 + self.below(5);
        (0..length).map(|_| char::from(b'a' + self.below(26) as u8)).collect()
    }

    pub fn suffix(&mut self) -> String {
        (0..5).map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[self.below(27)])).collect()
    }
}

/// Test names and how many failures each test has: a few tests fail a lot, most a little.
pub fn tests(rng: &mut Rng, sizes: Sizes) -> Vec<(String, usize)> {
    let Sizes { failures, tests: count, .. } = sizes;
    let weights: Vec<f64> = (0..count).map(|rank| 1.0 / (rank as f64 + 10.0).powf(0.9)).collect();
    let total: f64 = weights.iter().sum();
    let areas = ["sig-node", "sig-storage", "sig-network", "sig-apps", "sig-scheduling", "sig-cli", "sig-auth"];
    let mut tests: Vec<(String, usize)> = weights
        .iter()
        .enumerate()
        .map(|(rank, weight)| {
            let area = rng.pick(&areas);
            let name = format!("Kubernetes e2e suite: [It] [{area}] behaviour {rank} should work as expected");
            (name, ((weight / total) * failures as f64).floor().max(1.0) as usize)
        })
        .collect();
    let assigned: usize = tests.iter().map(|(_, count)| count).sum();
    let mut missing = failures.saturating_sub(assigned);
    let mut index = 0;
    while missing > 0 {
        tests[index % count].1 += 1;
        missing -= 1;
        index += 1;
    }
    tests
}

/// Builds: 600 jobs × runs; each failure is in one.
pub fn build(rng: &mut Rng) -> (String, i64) {
    let job = rng.below(600);
    let number = 1000 + rng.below(400);
    (format!("gs://kubernetes-ci-logs/logs/ci-job-{job}/{number}"), 1_760_000_000 + (number as i64) * 3600)
}

/// Failures of the `e2e` data set and the template each came from.
pub fn e2e(sizes: Sizes) -> (Vec<Failure>, Vec<u32>) {
    let mut rng = Rng(0x5EED_0001);
    let templates_count = sizes.families;
    let subjects =
        ["pod", "container", "volume", "service", "deployment", "node", "endpoint", "lease", "job", "daemonset"];
    let verbs = [
        "to be running",
        "to be ready",
        "to be deleted",
        "to attach",
        "to respond",
        "to become healthy",
        "to schedule",
    ];
    let causes = [
        "context deadline exceeded",
        "connection refused",
        "i/o timeout",
        "the object has been modified; please apply your changes to the latest version and try again",
        "no route to host",
        "the server could not find the requested resource",
        "etcdserver: request timed out",
        "rpc error: code = Unavailable desc = connection error",
    ];
    let files = ["pods.go", "util.go", "wait.go", "framework.go", "volumes.go", "service.go", "network.go"];
    // A template: a shape and its fixed words; its variable parts are drawn per failure.
    let templates: Vec<(usize, [&str; 4], String)> = (0..templates_count)
        .map(|_| {
            let words = [rng.pick(&subjects), rng.pick(&verbs), rng.pick(&causes), rng.pick(&files)];
            let salt = (0..5).map(|_| rng.word()).collect::<Vec<_>>().join(" ");
            (rng.below(5), words, salt)
        })
        .collect();
    let mut failures = Vec::with_capacity(sizes.failures);
    let mut families = Vec::with_capacity(sizes.failures);
    for (test, count) in tests(&mut rng, sizes) {
        let own: Vec<usize> = (0..1 + rng.below(4)).map(|_| rng.below(templates_count)).collect();
        for _ in 0..count {
            let template = own[rng.below(own.len())];
            let (shape, [subject, verb, cause, file], ref salt) = templates[template];
            let text = match shape {
                0 => format!(
                    "[FAILED] Timed out after {}.{:03}s.\nExpected {subject} \"{subject}-{}\" in namespace \"e2e-tests-{salt}-{}\" {verb}: {cause}\nIn [It] at: k8s.io/kubernetes/test/e2e/common/{file}:{} @ 12/{:02}/25 {:02}:{:02}:{:02}.{:03}",
                    rng.below(600),
                    rng.below(1000),
                    rng.suffix(),
                    rng.below(10_000),
                    rng.below(2000),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60),
                    rng.below(1000)
                ),
                1 => format!(
                    "{file}:{}: Unexpected error:\n    <*errors.errorString | 0x{}>: \n    error waiting for {subject} {}-{} on node {}: {cause} (template {salt})\noccurred",
                    rng.below(2000),
                    rng.hex(10),
                    subject,
                    rng.suffix(),
                    rng.ip()
                ),
                2 => format!(
                    "failed to {verb} {subject} {} at {}: {cause}; retried {} times over {}m{}s, last attempt at 2025-12-{:02}T{:02}:{:02}:{:02}Z (case {salt})",
                    rng.uuid(),
                    rng.ip(),
                    rng.below(20),
                    rng.below(10),
                    rng.below(60),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                ),
                3 => format!(
                    "Expected\n    <int>: {}\nto equal\n    <int>: {}\n{subject} {verb} check {salt} failed at {file}:{} on node kind-worker{}",
                    rng.below(100),
                    rng.below(100),
                    rng.below(2000),
                    rng.below(4)
                ),
                _ => format!(
                    "I12{:02} {:02}:{:02}:{:02}.{:06}   {} {file}:{}] {subject} sync {salt} error: {cause}\ngoroutine {} [running]:\nmain.{subject}Worker(0x{}, 0x{})",
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60),
                    rng.below(1_000_000),
                    rng.below(100_000),
                    rng.below(2000),
                    rng.below(10_000),
                    rng.hex(12),
                    rng.hex(8)
                ),
            };
            let (build, started) = build(&mut rng);
            failures.push(Failure { test: test.clone(), build, started: Some(started), text });
            families.push(template as u32);
        }
    }
    (failures, families)
}

/// Failures of the `noisy` data set and the family each came from.
pub fn noisy(sizes: Sizes) -> (Vec<Failure>, Vec<u32>) {
    let mut rng = Rng(0x5EED_0002);
    let family_count = sizes.families;
    const NOISE: f64 = 0.06;
    let syllables = [
        "ka", "ru", "po", "de", "sch", "ed", "con", "tai", "ner", "ti", "me", "out", "net", "work", "vol", "ume", "le",
        "ase", "sync", "pro", "xy", "api", "ser", "ver", "node", "pod", "fail", "ed", "wait", "ing", "for", "ready",
        "st", "ate", "err", "or", "re", "try", "dial", "tcp", "read", "write", "lock", "mount", "path", "cgroup",
    ];
    let vocabulary: Vec<String> =
        (0..3_000).map(|_| (0..1 + rng.below(3)).map(|_| rng.pick(&syllables)).collect::<String>()).collect();
    let frames = [
        "[FAILED] Timed out waiting for the condition:",
        "Unexpected error:",
        "panic: runtime error:",
        "failed to run e2e step:",
        "Error from server:",
    ];
    let families: Vec<Vec<&str>> = (0..family_count)
        .map(|_| {
            let mut words = vec![frames[rng.below(frames.len())]];
            let length = 60 + rng.below(141);
            words.extend((0..length).map(|_| vocabulary[rng.below(vocabulary.len())].as_str()));
            words
        })
        .collect();
    let mut failures = Vec::with_capacity(sizes.failures);
    let mut family_of = Vec::with_capacity(sizes.failures);
    for (test, count) in tests(&mut rng, sizes) {
        let own: Vec<usize> = (0..1 + rng.below(5)).map(|_| rng.below(family_count)).collect();
        for _ in 0..count {
            let family = own[rng.below(own.len())];
            let mut text = String::new();
            for (position, word) in families[family].iter().enumerate() {
                if position > 0 {
                    text.push(' ');
                }
                if position > 0 && rng.chance(NOISE) {
                    let noise = match rng.below(4) {
                        0 => rng.ip(),
                        1 => rng.uuid(),
                        2 => {
                            let digits = 8 + rng.below(8);
                            format!("0x{}", rng.hex(digits))
                        }
                        _ => rng.below(1_000_000).to_string(),
                    };
                    text.push_str(&noise);
                } else {
                    text.push_str(word);
                }
            }
            let (build, started) = build(&mut rng);
            failures.push(Failure { test: test.clone(), build, started: Some(started), text });
            family_of.push(family as u32);
        }
    }
    (failures, family_of)
}

/// A variable part of a message, drawn anew in every occurrence.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Ip4,
    Ip4Port,
    Ip6,
    Ip6Port,
    Uuid,
    Pointer,
    Int,
    /// A generated pod name on this base: `web-7f9c4b6d8-x2kqp`, `web-x2kqp`, `web-3`.
    Pod(usize),
    /// A test namespace on this base: `e2e-tests-kubectl-4821`, `provisioning-x2kqp`.
    Namespace(usize),
    Duration,
    Timestamp,
    Port,
    /// A path with a run id: temporary directories, Prow build ids, Go test directories.
    RunPath,
    Node,
}

const SLOTS: [Slot; 14] = [
    Slot::Ip4,
    Slot::Ip4Port,
    Slot::Ip6,
    Slot::Ip6Port,
    Slot::Uuid,
    Slot::Pointer,
    Slot::Int,
    Slot::Pod(0),
    Slot::Namespace(0),
    Slot::Duration,
    Slot::Timestamp,
    Slot::Port,
    Slot::RunPath,
    Slot::Node,
];

/// A piece of a message: fixed text, or a variable part of a kind and a form (which of the
/// kind's shapes it takes: fixed in a family, as one log statement always prints one shape).
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Slot(Slot, usize),
}

type Line = Vec<Piece>;

const TECHNICAL: [&str; 94] = [
    "pod",
    "container",
    "volume",
    "service",
    "deployment",
    "node",
    "endpoint",
    "lease",
    "job",
    "daemonset",
    "failed",
    "to",
    "waiting",
    "for",
    "condition",
    "timed",
    "out",
    "after",
    "error",
    "unexpected",
    "connection",
    "refused",
    "deadline",
    "exceeded",
    "context",
    "canceled",
    "dial",
    "tcp",
    "read",
    "write",
    "reset",
    "by",
    "peer",
    "no",
    "route",
    "host",
    "the",
    "object",
    "has",
    "been",
    "modified",
    "please",
    "apply",
    "your",
    "changes",
    "latest",
    "version",
    "and",
    "try",
    "again",
    "server",
    "could",
    "not",
    "find",
    "requested",
    "resource",
    "etcdserver",
    "request",
    "rpc",
    "code",
    "Unavailable",
    "desc",
    "transport",
    "is",
    "closing",
    "image",
    "pull",
    "back",
    "off",
    "mount",
    "attach",
    "detach",
    "snapshot",
    "claim",
    "bound",
    "pending",
    "ready",
    "running",
    "terminated",
    "evicted",
    "scheduled",
    "preempted",
    "quota",
    "admission",
    "webhook",
    "denied",
    "certificate",
    "expired",
    "token",
    "unauthorized",
    "forbidden",
    "namespace",
    "terminating",
    "finalizer",
];

const PACKAGES: [&str; 12] = [
    "k8s.io/kubernetes/test/e2e/framework",
    "k8s.io/kubernetes/test/e2e/framework/pod",
    "k8s.io/kubernetes/test/e2e/storage/utils",
    "k8s.io/kubernetes/test/e2e/network",
    "k8s.io/kubernetes/pkg/kubelet",
    "k8s.io/client-go/tools/cache",
    "k8s.io/apimachinery/pkg/util/wait",
    "sigs.k8s.io/descheduler/pkg/descheduler",
    "sigs.k8s.io/cluster-api/test/framework",
    "github.com/onsi/ginkgo/v2/internal",
    "github.com/onsi/gomega/internal",
    "k8s.io/kops/upup/pkg/fi/cloudup",
];

impl Rng {
    fn alphabet(&mut self, alphabet: &[u8], length: usize) -> String {
        (0..length).map(|_| char::from(alphabet[self.below(alphabet.len())])).collect()
    }

    fn digits(&mut self, low: usize, high: usize) -> String {
        let length = low + self.below(high - low + 1);
        let mut digits = self.alphabet(b"123456789", 1);
        digits.push_str(&self.alphabet(b"0123456789", length - 1));
        digits
    }

    fn hex_group(&mut self) -> String {
        let digits = 1 + self.below(4);
        format!("{:x}", self.below(1 << (4 * digits)))
    }

    fn ip6(&mut self, form: usize) -> String {
        match form % 3 {
            0 => format!("fd00:10:244:{}::{}", self.hex_group(), self.hex_group()),
            1 => format!("2001:db8:{}:{}::{}", self.hex_group(), self.hex_group(), self.hex_group()),
            _ => format!("fe80::{}:{}:{}:{}", self.hex_group(), self.hex_group(), self.hex_group(), self.hex_group()),
        }
    }

    fn kube_suffix(&mut self, length: usize) -> String {
        self.alphabet(b"bcdfghjklmnpqrstvwxz2456789", length)
    }

    fn duration(&mut self, form: usize) -> String {
        match form % 5 {
            0 => format!("{}.{}s", self.below(600), self.digits(1, 9)),
            1 => format!("{}m{}s", 1 + self.below(59), self.below(60)),
            2 => format!("{}ms", self.digits(1, 4)),
            3 => format!("{}h{}m{}.{}s", 1 + self.below(3), self.below(60), self.below(60), self.below(1000)),
            _ => format!("{}.{}µs", self.below(1000), self.below(1000)),
        }
    }

    fn timestamp(&mut self, form: usize) -> String {
        let (day, hour, minute, second) = (1 + self.below(28), self.below(24), self.below(60), self.below(60));
        match form % 4 {
            0 => format!("2026-11-{day:02}T{hour:02}:{minute:02}:{second:02}.{}Z", self.digits(3, 9)),
            1 => format!("2026-11-{day:02}T{hour:02}:{minute:02}:{second:02}+00:00"),
            2 => format!("2026-11-{day:02} {hour:02}:{minute:02}:{second:02}.{} +0000 UTC", self.digits(1, 9)),
            _ => format!("I11{day:02} {hour:02}:{minute:02}:{second:02}.{:06}", self.below(1_000_000)),
        }
    }

    fn run_path(&mut self, form: usize) -> String {
        match form % 4 {
            0 => format!("/tmp/e2e-run-{}/artifacts/junit_{:02}.xml", self.hex(8), form % 40),
            1 => format!("/logs/ci-kubernetes-e2e-gce/{}/build-log.txt", self.digits(19, 19)),
            2 => format!("/tmp/TestReconcile{}/{:03}/kubeconfig", self.digits(9, 10), 1 + self.below(3)),
            _ => format!(
                "/tmp/tmp.{}/manifest.yaml",
                self.alphabet(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10)
            ),
        }
    }

    fn node(&mut self, form: usize) -> String {
        match form % 3 {
            0 => format!("ip-10-0-{}-{}.ec2.internal", self.below(256), self.below(256)),
            1 => format!("kind-worker{}", ["", "2", "3"][self.below(3)]),
            _ => format!("gke-e2e-default-pool-{}-{}", self.hex(8), self.kube_suffix(4)),
        }
    }

    fn value(&mut self, slot: Slot, form: usize, bases: &[String]) -> String {
        match slot {
            Slot::Ip4 => self.ip(),
            Slot::Ip4Port => format!("{}:{}", self.ip(), 1024 + self.below(64_000)),
            Slot::Ip6 => self.ip6(form),
            Slot::Ip6Port => format!("[{}]:{}", self.ip6(form), 1024 + self.below(64_000)),
            Slot::Uuid => self.uuid(),
            Slot::Pointer => format!("0xc{}", self.hex(9)),
            Slot::Int => self.digits(1, 7),
            Slot::Pod(base) => match form % 3 {
                0 => {
                    let hash = 6 + self.below(5);
                    format!("{}-{}-{}", bases[base], self.kube_suffix(hash), self.kube_suffix(5))
                }
                1 => format!("{}-{}", bases[base], self.kube_suffix(5)),
                _ => format!("{}-{}", bases[base], self.below(12)),
            },
            Slot::Namespace(base) => match form % 2 {
                0 => format!("e2e-tests-{}-{}", bases[base], self.digits(4, 4)),
                _ => format!("{}-{}", bases[base], self.kube_suffix(5)),
            },
            Slot::Duration => self.duration(form),
            Slot::Timestamp => self.timestamp(form),
            Slot::Port => format!(":{}", 1024 + self.below(64_000)),
            Slot::RunPath => self.run_path(form),
            Slot::Node => self.node(form),
        }
    }

    /// A number of lines with a long tail: mostly a few, some hundreds.
    fn long_tailed(&mut self) -> usize {
        match self.below(100) {
            0..70 => 1 + self.below(4),
            70..95 => 8 + self.below(30),
            _ => 60 + self.below(180),
        }
    }
}

/// A random line of technical words with a few variable parts; `words` are the words no other
/// family's line uses, which make it this family's own.
fn message_line(rng: &mut Rng, own: &[String], bases: usize) -> Line {
    let mut line = Vec::new();
    let length = 6 + rng.below(12);
    let mut own = own.iter();
    for position in 0..length {
        if position > 0 {
            line.push(Piece::Text(" ".to_owned()));
        }
        if position % 4 == 1
            && let Some(word) = own.next()
        {
            line.push(Piece::Text(word.clone()));
        } else if rng.chance(0.2) {
            line.push({
                let slot = slot(rng, bases);
                slot_piece(rng, slot)
            });
        } else {
            line.push(Piece::Text(TECHNICAL[rng.below(TECHNICAL.len())].to_owned()));
        }
    }
    line.push(Piece::Text(format!(": {}", TECHNICAL[rng.below(TECHNICAL.len())])));
    for word in own {
        line.push(Piece::Text(format!(" {word}")));
    }
    line
}

/// A variable part whose form is drawn once, where the family is made.
fn slot_piece(rng: &mut Rng, slot: Slot) -> Piece {
    Piece::Slot(slot, rng.below(1_000))
}

fn slot(rng: &mut Rng, bases: usize) -> Slot {
    match SLOTS[rng.below(SLOTS.len())] {
        Slot::Pod(_) => Slot::Pod(rng.below(bases)),
        Slot::Namespace(_) => Slot::Namespace(rng.below(bases)),
        other => other,
    }
}

/// A body that several families share: a Go stack trace, a klog dump or a Ginkgo report, of a
/// long-tailed number of lines.
fn shared_body(rng: &mut Rng, bases: usize) -> Vec<Line> {
    let lines = rng.long_tailed();
    let text = |text: String| Piece::Text(text);
    match rng.below(3) {
        0 => {
            let mut body =
                vec![vec![text("goroutine ".into()), slot_piece(rng, Slot::Int), text(" [running]:".into())]];
            for _ in 0..lines {
                let package = PACKAGES[rng.below(PACKAGES.len())];
                let function = format!("{}{}", rng.word(), TECHNICAL[rng.below(TECHNICAL.len())]);
                body.push(vec![
                    text(format!("{package}.{function}(")),
                    slot_piece(rng, Slot::Pointer),
                    text(", {".into()),
                    slot_piece(rng, Slot::Pointer),
                    text(", 0x".into()),
                    text(format!("{:x}, 0x{:x}}})", rng.below(4096), rng.below(4096))),
                ]);
                body.push(vec![text(format!(
                    "\t/home/prow/go/src/{package}/{}.go:{} +0x{:x}",
                    rng.word(),
                    rng.below(3000),
                    rng.below(4096)
                ))]);
            }
            body
        }
        1 => (0..lines)
            .map(|_| {
                let mut line = vec![
                    slot_piece(rng, Slot::Timestamp),
                    text(format!("       1 {}.go:{}] ", rng.word(), rng.below(2000))),
                ];
                for _ in 0..3 + rng.below(8) {
                    line.push(text(format!("{} ", TECHNICAL[rng.below(TECHNICAL.len())])));
                }
                line.push(text("pod=".into()));
                let base = rng.below(bases);
                line.push(slot_piece(rng, Slot::Pod(base)));
                line.push(text(" node=".into()));
                line.push(slot_piece(rng, Slot::Node));
                line.push(text(" latency=".into()));
                line.push(slot_piece(rng, Slot::Duration));
                line
            })
            .collect(),
        _ => {
            let mut body = vec![vec![
                text("[FAILED] in [It] - ".into()),
                text(format!("{}/{}_test.go:{}", PACKAGES[rng.below(PACKAGES.len())], rng.word(), rng.below(900))),
                text(" @ ".into()),
                slot_piece(rng, Slot::Timestamp),
            ]];
            for _ in 0..lines {
                let base = rng.below(bases);
                body.push(vec![
                    text(format!(
                        "  STEP: {} {} ",
                        TECHNICAL[rng.below(TECHNICAL.len())],
                        TECHNICAL[rng.below(TECHNICAL.len())]
                    )),
                    slot_piece(rng, Slot::Namespace(base)),
                    text(" using ".into()),
                    slot_piece(rng, Slot::RunPath),
                    text(" from ".into()),
                    slot_piece(rng, Slot::Ip6Port),
                    text(" - ".into()),
                    slot_piece(rng, Slot::Timestamp),
                ]);
            }
            body
        }
    }
}

/// One family: its own line, placed at the top or inside the shared body.
#[derive(Debug)]
struct Family {
    lines: Vec<Line>,
}

/// Hard, real-world-like failures and the family each came from:
///
/// - families come in groups of one to four that share a long body (a stack trace, a log dump,
///   a Ginkgo report) and differ in one line (at the top, or inside the body), made of common
///   technical words, a few words of its own and variable parts;
/// - lengths have a long tail: most messages a few hundred characters, some over 10,000;
/// - variable parts of many kinds, of varying lengths: IPv4 and IPv6 addresses with and without
///   ports, UUIDs, pointers, numbers, generated pod and namespace names, durations, timestamps
///   in four formats, ports, paths with run ids (temporary directories, Prow build ids, Go test
///   directories, `mktemp` names) and node names;
/// - three messages in four are hard-wrapped at a fixed column (64 to 132), half of them as
///   one string (breaks ignore the message's own lines) and half line by line, so breaks fall
///   inside words and values at positions that shift between occurrences;
/// - each test fails in one to four ways, mostly families of one group, and families recur in
///   several tests.
pub fn hard(sizes: Sizes) -> (Vec<Failure>, Vec<u32>) {
    let mut rng = Rng(0x5EED_0003);
    let bases: Vec<String> =
        (0..200).map(|_| format!("{}-{}", TECHNICAL[rng.below(TECHNICAL.len())], rng.word())).collect();
    let mut families: Vec<Family> = Vec::with_capacity(sizes.families);
    while families.len() < sizes.families {
        let body = shared_body(&mut rng, bases.len());
        let siblings = (1 + rng.below(4)).min(sizes.families - families.len());
        for _ in 0..siblings {
            let own: Vec<String> = (0..2 + rng.below(3)).map(|_| rng.word()).collect();
            let line = message_line(&mut rng, &own, bases.len());
            let mut lines = body.clone();
            let at = if rng.chance(0.5) { 0 } else { rng.below(lines.len() + 1) };
            lines.insert(at, line);
            families.push(Family { lines });
        }
    }
    let mut failures = Vec::with_capacity(sizes.failures);
    let mut family_of = Vec::with_capacity(sizes.failures);
    let mut cursor = 0;
    for (test, count) in tests(&mut rng, sizes) {
        let ways = 1 + rng.below(4);
        let own: Vec<usize> = (0..ways).map(|step| (cursor + step) % families.len()).collect();
        cursor = (cursor + ways) % families.len();
        for _ in 0..count {
            let family = own[rng.below(own.len())];
            let text = render(&mut rng, &families[family], &bases);
            let (build, started) = build(&mut rng);
            failures.push(Failure { test: test.clone(), build, started: Some(started), text });
            family_of.push(family as u32);
        }
    }
    (failures, family_of)
}

fn render(rng: &mut Rng, family: &Family, bases: &[String]) -> String {
    let mut text = String::new();
    for (index, line) in family.lines.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        for piece in line {
            match piece {
                Piece::Text(words) => text.push_str(words),
                Piece::Slot(slot, form) => text.push_str(&rng.value(*slot, *form, bases)),
            }
        }
    }
    match rng.below(8) {
        0 | 1 => text,
        width => {
            let width = [0, 0, 64, 72, 80, 100, 120, 132][width];
            if rng.chance(0.5) { wrap_whole(&text, width) } else { wrap_lines(&text, width) }
        }
    }
}

/// Breaks every `width` characters, the message's own line breaks counting as characters.
pub fn wrap_whole(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(width).map(|chunk| chunk.iter().collect::<String>()).collect::<Vec<_>>().join("\n")
}

/// Breaks each line every `width` characters.
pub fn wrap_lines(text: &str, width: usize) -> String {
    text.split('\n').map(|line| wrap_whole(line, width)).collect::<Vec<_>>().join("\n")
}
