//! The command line of results and triage (`slipway results`, `slipway triage`). Doc comments
//! here are the `--help` text. Each command's arguments are its own struct.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::Format;
use crate::cli_jobs::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum ResultsCommand {
    /// Read JUnit files and Prow artifact directories into the test history.
    Ingest(IngestArgs),
    /// A job's tests × builds, newest first, in the terminal or as one HTML page.
    Grid(GridArgs),
    /// Flaky tests: flakiness as TestGrid computes it, and tests that failed and passed in one build.
    Flakes(FlakesArgs),
    /// Tests and jobs failing for N builds in a row; exits 1 while any alert is open.
    Alerts(AlertsArgs),
    /// Cluster the failures of the history by their text (as `slipway triage` does).
    Clusters(ClustersArgs),
    /// A dashboard: several jobs' grids on one page, each tab summarized as TestGrid does.
    Dashboard(DashboardArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "A directory (or storage URL) is searched for Prow builds: directories holding started.json or \
finished.json, named <job>/<build-id>/; their JUnit files are the XML files under artifacts/ (also .xml.gz) \
whose root is <testsuites> or <testsuite>, other XML left out with a note (--glob chooses other files). JUnit \
files given on their own, or the XML files of a directory without builds, make one build of --job and --build. Ingesting the same build again \
changes nothing.\n\nExit status: 0 when everything was ingested; 2 when an input could not be read or parsed \
(it is reported with its file and line, and every other input is still ingested); 3 when the database or \
object storage fails.\n\nExamples:\n  slipway results ingest .slipway/artifacts\n  slipway results ingest \
s3://ci-logs/logs/ci-crio-node-e2e --database-url postgres://ci@db/slipway\n  slipway results ingest \
_artifacts/junit_01.xml --job node-e2e --build \"$BUILD_ID\" --format json"
)]
pub(crate) struct IngestArgs {
    /// JUnit XML files, Prow build directories or trees of them: local paths or storage URLs
    /// (s3://, gs://, az://, file://).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<String>,

    /// The job of JUnit files given on their own.
    #[arg(long, value_name = "NAME", default_value = slipway_junit::DEFAULT_JOB)]
    pub(crate) job: String,

    /// The build of JUnit files given on their own (default: a hash of their results, so the
    /// same files are the same build).
    #[arg(long, value_name = "ID")]
    pub(crate) build: Option<String>,

    /// Which files of a directory are JUnit candidates, relative to each build directory (or to
    /// a directory without builds), such as 'artifacts/**/junit*.xml' (default: every *.xml and
    /// *.xml.gz under a build's artifacts/, every *.xml of a plain directory).
    #[arg(long, value_name = "GLOB")]
    pub(crate) glob: Option<String>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Each column is a build (newest on the left), each row a test: ✓ pass, ✗ fail, ~ flaky \
(failed, then passed on a rerun), s skipped, · no result. The Overall row is the build's own result. \
Rows failing in their newest build come first, then rows that failed or flaked in a shown build, \
then the rest, each group by name.

Examples:
  slipway results grid ci-crio-node-e2e
  slipway results grid ci-crio-node-e2e --builds 40 --html grid.html
  slipway results grid ci-crio-node-e2e --format json | jq '.rows[0].cells[0]'")]
pub(crate) struct GridArgs {
    /// The job, as ingested (`slipway results ingest`).
    #[arg(value_name = "JOB")]
    pub(crate) job: String,

    /// Also write the grid as one self-contained HTML page: coloured cells, the failure message
    /// on hover, and a filter box (FILE?filter=TEXT opens it filtered).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,

    /// How many builds to show, newest first (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) builds: u32,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Dashboards come from `results.dashboards` in slipway.yaml (name, tabs: [{job, name, \
num_failures_to_alert, num_passes_to_disable_alert, base_options, alert_email, description}]) and from the \
testgrid-dashboards, testgrid-tab-name, testgrid-num-failures-to-alert, testgrid-alert-email, \
testgrid-base-options and description annotations of jobs (slipway.yaml's and Prow's), read as TestGrid's \
configurator reads them. A tab is FAILING when a row has an open alert, FLAKY when one of its 10 newest \
finished builds is not all passes, PASSING when none is, UNKNOWN without results.

Examples:
  slipway results dashboard
  slipway results dashboard sig-node-cri-o --html dashboard.html
  slipway results dashboard sig-node-cri-o --prow-config ../test-infra/config/jobs/cri-o --format json")]
pub(crate) struct DashboardArgs {
    /// The dashboard (default: list the dashboards).
    #[arg(value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// Also write the dashboard as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,

    /// How many builds of each tab to show, newest first (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) builds: u32,

    #[command(flatten)]
    pub(crate) prow: crate::cli_jobs::ProwConfigArgs,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Flakiness is TestGrid's flip flakiness: over the builds in the window, runs of 3 or more \
failures in a row are left out (a breakage, not a flake), as are one-word failure messages (infra \
failures) and failures in builds where no test passed; flakiness = 100 × (failures that follow a pass \
+ flaky builds) / builds considered, a failure in the first build considered counting as following a \
pass, as in TestGrid. Skips count as passes, as in TestGrid. A test that never passed in the window is \
failing, not flaky (flakiness 0): one that failed in its only build is not listed. Tests that failed \
and passed within one build (reruns) are listed too.

Examples:
  slipway results flakes
  slipway results flakes --job ci-crio-node-e2e --days 14
  slipway results flakes --days 0 --format json | jq '.tests[] | select(.flakiness > 10)'")]
pub(crate) struct FlakesArgs {
    /// Only this job (default: every job with results).
    #[arg(long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Look at builds started in the last N days (0: every build).
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub(crate) days: u32,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "As TestGrid decides it: each test row, and each job's Overall row, is walked from the \
newest build to the oldest, skipping builds without a result; it alerts after N failing builds in a \
row and stays open until M passing builds are newer than the failures. Skips count as passes; a \
flaky build ends an outage or restarts the count.

Exit status: 0 when no alert is open, 1 while any is open, 2 for an unknown job or a bad flag, \
3 when the store or the webhook fails (the alerts are printed first).

Examples:
  slipway results alerts
  slipway results alerts --job ci-crio-node-e2e --failures 2
  slipway results alerts --webhook \"$SLACK_WEBHOOK_URL\" || echo 'something is broken'")]
pub(crate) struct AlertsArgs {
    /// Only this job (default: every job with results).
    #[arg(long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Failing builds in a row that open an alert (0: no alerts; default results.alerts.failures,
    /// else 3).
    #[arg(long, value_name = "N")]
    pub(crate) failures: Option<u32>,

    /// Passing builds that close an alert (default results.alerts.passes, else 1).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) passes: Option<u32>,

    /// How many builds of each job to look at, newest first (0: all; default
    /// results.alerts.builds, else 100).
    #[arg(long, value_name = "N")]
    pub(crate) builds: Option<u32>,

    /// When an alert is open, POST it as JSON to URL: a Slack-style `text` and the JSON report
    /// (default results.alerts.webhook, or $SLIPWAY_RESULTS_ALERTS_WEBHOOK).
    #[arg(long, value_name = "URL")]
    pub(crate) webhook: Option<String>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Failure texts are normalized (times, addresses, ids, numbers and durations become \
TIME and UNIQ), then clustered within each test and across tests as Triage does; ids are Triage's \
(go.k8s.io/triage#ID). Every failure is in exactly one cluster; clusters of one failure are listed and \
marked `singleton`. See docs/design/triage.md.

Examples:
  slipway results clusters
  slipway results clusters --job ci-crio-node-e2e --days 3
  slipway results clusters --limit 0 --format json | jq -r '.clusters[].id'")]
pub(crate) struct ClustersArgs {
    /// Only failures of this job (default: every job with results).
    #[arg(long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Look at builds started in the last N days (0: every build); Triage looks at 14.
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub(crate) days: u32,

    /// Show the N biggest clusters (0: all); the totals count every cluster.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) limit: usize,

    /// The normalization rules: slipway's (numbers and durations too), or Triage's exactly.
    #[arg(long, value_name = "RULES", default_value = "slipway", value_parser = ["slipway", "triage"])]
    pub(crate) normalizer: String,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "The inputs are Triage's: the builds file is a JSON array of builds ({path, started, \
elapsed, tests_run, tests_failed, result, executor, job, number, pr}, numbers as strings or numbers); each \
TESTS file holds one failed test per line ({started, build, name, failure_text}, build = the build's \
path). The output is Triage's failure_data.json, which Triage's page (triage/index.html) renders, plus \
`failures` and `singleton` on each cluster: clusters of one failure are kept, not dropped. Triage's \
underscore flags (--output_slices, --max_cluster_text_length, ...) are accepted as they are. A malformed \
input is reported with its file and line (exit 2); nothing is written unless every file can be.

Examples:
  slipway triage --builds triage_builds.json --output failure_data.json triage_tests/*.json
  slipway triage --builds triage_builds.json --output failure_data.json \\
      --output_slices slices/failure_data_PREFIX.json --previous old/failure_data.json shard_*.json
  slipway triage --normalizer triage --builds b.json --output f.json t.json  # Triage's own keys")]
pub(crate) struct TriageArgs {
    /// Triage's builds file (a JSON array).
    #[arg(long, value_name = "FILE")]
    pub(crate) builds: PathBuf,

    /// Triage's failed-tests files (one JSON object per line).
    #[arg(value_name = "TESTS", required = true)]
    pub(crate) tests: Vec<PathBuf>,

    /// Where to write failure_data.json.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: PathBuf,

    /// Also write slices: PATTERN with PREFIX replaced by each id prefix 00..ff and by
    /// sig-OWNER for each owner.
    #[arg(long = "output_slices", alias = "output-slices", value_name = "PATTERN")]
    pub(crate) output_slices: Option<String>,

    /// A previous failure_data.json: its cluster keys seed the clustering, so their ids stay.
    #[arg(long, value_name = "FILE")]
    pub(crate) previous: Option<PathBuf>,

    /// Owners of tests without a [sig-...] label: {"owner": ["test name prefix", ...]}.
    #[arg(long, value_name = "FILE")]
    pub(crate) owners: Option<PathBuf>,

    /// The normalization rules: slipway's (numbers and durations too), or Triage's exactly.
    #[arg(long, value_name = "RULES", default_value = "slipway", value_parser = ["slipway", "triage"])]
    pub(crate) normalizer: String,

    /// Failure texts are cut in the middle to this many bytes for clustering.
    #[arg(
        long = "max_cluster_text_length",
        alias = "max-cluster-text-length",
        value_name = "BYTES",
        default_value_t = 10_000
    )]
    pub(crate) max_cluster_text_length: usize,

    /// Failure texts are cut in the middle to this many bytes in the output.
    #[arg(
        long = "max_failure_text_length",
        alias = "max-failure-text-length",
        value_name = "BYTES",
        default_value_t = 100_000
    )]
    pub(crate) max_failure_text_length: usize,

    /// Worker threads (default: one per core).
    #[arg(long = "num_workers", alias = "num-workers", value_name = "N")]
    pub(crate) num_workers: Option<usize>,
}
