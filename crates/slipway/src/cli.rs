//! The command line, as clap sees it. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use slipway_core::{ImageReference, Platform, Version};

/// CI and release machinery for Kubernetes sub-projects.
///
/// slipway checks that a release's git tag, registry images and manifests agree, and bumps
/// them together; it builds multi-arch images without a Docker daemon and proves each
/// platform's binary is that platform's; it runs CI jobs (its own or Prow's) locally, in
/// containers and on a schedule, with artifacts in the Prow layout; it pins a kind node image by
/// digest for every Kubernetes version of a test matrix, building those kind never published.
/// Run `slipway release verify` in a project to see what it finds.
#[derive(Debug, Parser)]
#[command(name = "slipway", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// Read configuration from FILE instead of the nearest slipway.yaml.
    #[arg(long, global = true, value_name = "FILE", env = "SLIPWAY_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// The project directory (default: the nearest directory at or above the current one that
    /// has a slipway.yaml, else the git repository's top level).
    #[arg(long, global = true, value_name = "DIR", env = "SLIPWAY_REPO")]
    pub(crate) repo: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Release consistency: the git tag, the images and every manifest name one version.
    #[command(subcommand)]
    Release(ReleaseCommand),

    /// Images: daemonless multi-arch builds, inspection and verification.
    #[command(subcommand)]
    Image(ImageCommand),

    /// Jobs: run CI jobs (slipway's or Prow's) locally or in containers, lint and import them.
    #[command(subcommand)]
    Job(JobCommand),

    /// Start periodic jobs on time: cron in real time zones, or intervals.
    ///
    /// Runs until interrupted. State lives in the store, so a restart neither repeats nor
    /// loses a due run, and runs left running by a scheduler that died are marked as errors.
    #[command(
        after_help = "Examples:\n  slipway schedule\n  slipway schedule --once\n  slipway schedule --database-url postgres://ci@db/slipway --storage s3://ci-logs/slipway"
    )]
    Schedule(crate::cli_jobs::ScheduleArgs),

    /// Runs: what ran, how it went, and its logs.
    #[command(subcommand)]
    Runs(crate::cli_jobs::RunsCommand),

    /// The web UI and JSON API: every run, newest first, and each run's page with its log.
    ///
    /// Server-rendered pages with no script and a strict Content Security Policy; the JSON
    /// API under /api/v1/ is described at /api/v1/openapi.json. Also /healthz, /healthz/ready
    /// and Prometheus /metrics (runs by job and state, request latencies by route). Reads are
    /// open; any address but loopback needs --token-file. Everything comes from the store, so
    /// several servers on one PostgreSQL database show the same. Runs until interrupted
    /// (SIGINT or SIGTERM), finishing the requests under way.
    ///
    /// Exit status: 0 when stopped; 2 for a bad address, a non-loopback address without a
    /// token, or an unreadable token file; 3 when the address cannot be bound or the store
    /// cannot be opened.
    #[command(after_help = "Examples:
  slipway serve                          # http://127.0.0.1:8080/runs
  slipway serve --listen 127.0.0.1:9000 --database-url sqlite:.slipway/state.db
  slipway serve --listen 0.0.0.0:8080 --token-file /etc/slipway/token --database-url postgres://ci@db/slipway")]
    Serve(crate::cli_serve::ServeArgs),

    /// Results: JUnit history, the grid, flakes, alerts and failure clusters.
    #[command(subcommand)]
    Results(crate::cli_results::ResultsCommand),

    /// Cluster failures from Triage's input files into Triage's failure_data.json.
    Triage(crate::cli_results::TriageArgs),

    /// Version markers (stable-1.31.txt): read and publish them, with compare-and-swap.
    ///
    /// Markers live in the artifact storage (a directory, S3, GCS or Azure), so CI jobs and
    /// release tooling share them: markers/master/latest-ci.txt, release/stable-1.31.txt.
    #[command(
        subcommand,
        after_help = "Examples:\n  slipway marker get stable-1.31\n  slipway marker publish stable-1.31 v1.31.2 --if-newer --storage s3://ci-artifacts/release"
    )]
    Marker(MarkerCommand),

    /// slipway's cache in .slipway/cache: image layers and cached version markers.
    #[command(subcommand)]
    Cache(CacheCommand),

    /// Leases: a Boskos-compatible lease server and its client, to hand cloud projects and
    /// accounts to CI jobs one at a time.
    #[command(subcommand)]
    Lease(crate::cli_lease::LeaseCommand),

    /// Test environments: Kubernetes versions from markers, a kind node image for each, pinned
    /// by digest (kind's published one, or built when there is none), slipway.lock, and kind
    /// clusters on them.
    #[command(
        subcommand,
        after_help = "Examples:\n  slipway env versions stable-1.36 ci/latest\n  slipway env node-image --build --update\n  slipway env up --matrix"
    )]
    Env(crate::cli_env::EnvCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// Remove cache entries unused for --max-age, then the least recently used until the
    /// blobs fit in --max-size, and whatever a killed build left half-written.
    ///
    /// `image build` does the same after every build, with `cache.max_size` (default 10GiB) and
    /// `cache.max_age` (default 30d) from slipway.yaml (or SLIPWAY_CACHE_MAX_SIZE and
    /// SLIPWAY_CACHE_MAX_AGE). Nothing used in the last hour is removed by size or age, so a
    /// build running beside the prune keeps its layers. --all empties the cache but for the
    /// writes of builds still running.
    ///
    /// Exit status: 0; 2 for a bad size or age.
    #[command(after_help = "Examples:
  slipway cache prune
  slipway cache prune --max-size 2GiB --max-age 1w --dry-run
  slipway cache prune --all --format json")]
    Prune(CachePruneArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CachePruneArgs {
    /// Keep at most this much (10GiB, 500MB, 2G; a bare number is bytes).
    #[arg(long, value_name = "SIZE", conflicts_with = "all")]
    pub(crate) max_size: Option<String>,

    /// Remove what was not used for this long (30d, 2w, 12h).
    #[arg(long, value_name = "AGE", conflicts_with = "all")]
    pub(crate) max_age: Option<String>,

    /// Remove everything (but the writes of builds still running).
    #[arg(long)]
    pub(crate) all: bool,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCommand {
    /// List the jobs of slipway.yaml, and of Prow config read in place, with their schedules
    /// and matrices.
    ///
    /// A Prow job shows its type and file:line; one that cannot run here says why.
    #[command(
        after_help = "Examples:\n  slipway job list\n  slipway job list --prow-config ../test-infra/config/jobs/kubernetes-sigs/descheduler\n  slipway job list --format json"
    )]
    List(crate::cli_jobs::JobListArgs),

    /// List the presubmits a change triggers, by Prow's rules, saying why each runs or not.
    ///
    /// The change is everything the working tree holds beyond its merge base with --base:
    /// commits, staged and unstaged edits, and untracked files that are not ignored. A presubmit
    /// runs when its `branches`/`skip_branches` admit the base branch and it has `always_run`,
    /// or a `run_if_changed` regex matching a changed path, or a `skip_if_only_changed` regex
    /// that some changed path does not match. `slipway job run --affected` runs them.
    ///
    /// Exit status: 0, also when nothing is triggered; 2 for bad input (no Prow config, an
    /// unknown base, a repository with no presubmits).
    #[command(
        after_help = "Examples:\n  slipway job affected --prow-config ../test-infra/config/jobs/kubernetes-sigs/descheduler\n  slipway job affected --base origin/release-1.36 --all\n  slipway job run --affected --follow"
    )]
    Affected(crate::cli_jobs::JobAffectedArgs),

    /// Run one job now, as CI would: its own build id, environment, timeout, artifacts in the
    /// Prow layout, and a record in the store. Ctrl-C stops it and records it as aborted.
    ///
    /// A job with a matrix runs once per entry, with KUBERNETES_VERSION and SKIP_REGEX set.
    /// With --prow-config the job comes from Prow job config, run the way its pod would run:
    /// its image, command, args and env, presets applied, JOB_NAME, JOB_TYPE, BUILD_ID,
    /// PROW_JOB_ID, ARTIFACTS and the REPO_* variables injected, extra_refs cloned.
    #[command(
        after_help = "Examples:\n  slipway job run unit --follow\n  slipway job run e2e --matrix stable-1.30\n  slipway job run --prow-config ../test-infra/config/jobs/kubernetes-sigs/descheduler,../test-infra/config/prow/config.yaml \\\n      pull-descheduler-unit-test-release-1-36 --ref kubernetes-sigs/descheduler=."
    )]
    Run(crate::cli_jobs::JobRunArgs),

    /// Turn Prow jobs into slipway jobs: print a `jobs:` section for slipway.yaml.
    ///
    /// Reads Prow job files and directories as Prow does, applies presets (from Prow's
    /// config.yaml given among the paths, and from job files), and maps each job's container,
    /// schedule, timeouts, labels, annotations, extra_refs and volumes. Every field slipway does
    /// not use is kept, unchanged, under the job's `prow:` key, with its type and repository.
    /// What a local run cannot provide (secrets, config maps, env from the cluster) is listed on
    /// stderr, one line each.
    ///
    /// Exit status: 0 when every job is imported, 1 when a job's presets clash (Prow rejects it
    /// too), 2 when a file cannot be read or parsed.
    #[command(
        after_help = "Examples:\n  slipway job import-prow ../test-infra/config/jobs/kubernetes-sigs/descheduler ../test-infra/config/prow/config.yaml >> slipway.yaml\n  slipway job import-prow ../test-infra/config/jobs/kubernetes/sig-node/crio.yaml --format json"
    )]
    ImportProw(crate::commands::job_prow::ImportProwArgs),

    /// Check jobs: those of slipway.yaml, or Prow job config with --prow-config.
    ///
    /// For Prow config it reports what Prow rejects when it loads the config (duplicate or
    /// invalid names, a periodic without exactly one valid schedule, presets that clash, a
    /// decorated container without a command), and what Prow accepts and then gets wrong without
    /// a word: a `TZ=` prefix in a cron (that job and every later cron job stop being scheduled),
    /// and keys Prow does not know (a misspelt `minimum_interval` leaves a periodic unscheduled).
    /// Each finding is one line: `path:line: job NAME: [rule] message`.
    ///
    /// Exit status: 0 when clean, 1 when anything is found, 2 when a file cannot be read or parsed.
    #[command(
        after_help = "Examples:\n  slipway job lint\n  slipway job lint --prow-config ../test-infra/config/jobs/kubernetes-sigs/descheduler,../test-infra/config/prow/config.yaml\n  slipway job lint --prow-config ../test-infra/config/jobs --format json"
    )]
    Lint(crate::commands::job_prow::JobLintArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// Build the images in slipway.yaml for every platform, without a Docker daemon.
    ///
    /// Runs each platform's build command (in parallel), packs the configured files into a
    /// reproducible layer, sets it on the base image's matching platform, and checks that each
    /// platform's entrypoint is an ELF binary for that platform. Only when every platform passes
    /// is anything published: with --push to the registry (blobs, then platform manifests, then
    /// the tags, so an interrupted push never tags an incomplete image), or with --output to an
    /// OCI layout directory or archive that podman can run. Without either it builds and checks.
    ///
    /// Tags come from git: the release tag on a clean tagged commit, a `git describe` tag
    /// otherwise; --tag replaces them. A release tag that names another image is never
    /// overwritten without --force.
    #[command(
        after_help = "Examples:\n  slipway image build\n  slipway image build --push\n  slipway image build --output oci-archive:image.tar && podman run oci-archive:image.tar"
    )]
    Build(ImageBuildArgs),

    /// Show an image's platforms, digests, sizes, provenance and what each entrypoint binary is
    /// built for. Exits 1 when the image does not exist.
    #[command(
        after_help = "Examples:\n  slipway image inspect registry.k8s.io/descheduler/descheduler:v0.33.0\n  slipway image inspect ghcr.io/example-org/hello-operator:v0.4.0 --format json"
    )]
    Inspect(ImageInspectArgs),

    /// Check a published image: every platform present, configs that agree, the revision, and
    /// each entrypoint binary's architecture (the registry checks of `release verify`).
    #[command(
        after_help = "Examples:\n  slipway image verify ghcr.io/example-org/hello-operator:v0.4.0 --revision \"$(git rev-parse v0.4.0^{commit})\"\n  slipway image verify registry.k8s.io/kwok/kwok:v0.7.0 --platform linux/amd64 --platform linux/arm64"
    )]
    Verify(ImageVerifyArgs),

    /// Print a cross-compiling multi-stage Dockerfile for an image in slipway.yaml.
    ///
    /// For projects that also build with docker buildx or podman: the Dockerfile runs the same
    /// build command and copies the same files as `slipway image build`.
    #[command(
        after_help = "Examples:\n  slipway image dockerfile > Dockerfile\n  slipway image dockerfile --image hello-operator"
    )]
    Dockerfile(ImageDockerfileArgs),

    /// Print a cloudbuild.yaml that builds every platform and pushes one index per image.
    ///
    /// Each step builds from the Dockerfile `slipway image dockerfile` generates; write those
    /// first, at the path --dockerfile names.
    #[command(
        after_help = "Examples:\n  slipway image dockerfile > Dockerfile && slipway image cloudbuild > cloudbuild.yaml\n  slipway image cloudbuild --dockerfile images/{name}/Dockerfile"
    )]
    Cloudbuild(ImageCloudbuildArgs),
}

/// Where `image build --output` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    Layout(PathBuf),
    Archive(PathBuf),
}

#[derive(Debug, Args)]
pub(crate) struct ImageBuildArgs {
    /// Build only the image with this name (repeatable; default: all).
    #[arg(long = "image", value_name = "NAME")]
    pub(crate) images: Vec<String>,

    /// Push to the configured repositories.
    #[arg(long, conflicts_with = "output")]
    pub(crate) push: bool,

    /// Write an OCI layout: oci:DIR or oci-archive:FILE.
    #[arg(long, value_name = "DESTINATION", value_parser = parse_output)]
    pub(crate) output: Option<Output>,

    /// Tag the images TAG instead of what git says (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// Overwrite a release tag that already names a different image.
    #[arg(long, requires = "push")]
    pub(crate) force: bool,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ImageInspectArgs {
    /// The image, such as registry.k8s.io/descheduler/descheduler:v0.33.0.
    #[arg(value_name = "IMAGE", value_parser = parse_image)]
    pub(crate) reference: ImageReference,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ImageVerifyArgs {
    /// The image, such as registry.k8s.io/descheduler/descheduler:v0.33.0.
    #[arg(value_name = "IMAGE", value_parser = parse_image)]
    pub(crate) reference: ImageReference,

    /// A platform the image must cover (repeatable; default: release.platforms, else
    /// linux/amd64 and linux/arm64).
    #[arg(long = "platform", value_name = "OS/ARCH", env = "SLIPWAY_RELEASE_PLATFORMS", value_delimiter = ',', value_parser = parse_platform)]
    pub(crate) platforms: Vec<Platform>,

    /// The commit org.opencontainers.image.revision must name.
    #[arg(long, value_name = "COMMIT")]
    pub(crate) revision: Option<String>,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ImageDockerfileArgs {
    /// The image (needed when slipway.yaml has several).
    #[arg(long = "image", value_name = "NAME")]
    pub(crate) image: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ImageCloudbuildArgs {
    /// Where each image's generated Dockerfile is; `{name}` is the image's name.
    #[arg(long, value_name = "PATH", default_value = "Dockerfile")]
    pub(crate) dockerfile: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Check that manifests, charts, docs and registry images agree with a release.
    ///
    /// Finds, with no configuration, every reference to the project's images and version:
    /// container images in Kubernetes YAML, kustomization `images:` entries and what each
    /// kustomize overlay really deploys, Helm Chart.yaml and values.yaml, `?ref=` links to
    /// release tags and release branches, the project's images in docs, GitHub Actions workflow
    /// values, Makefile variables and configured version files. Whatever looks like a reference
    /// and is not checked (another project's image, a link into another repository, a tool's
    /// version) is listed with --verbose, and always in the JSON. Unless --offline, it then
    /// checks each project image's release tag in its registry: an index covering every
    /// platform, configs that agree, the revision annotation, and the entrypoint binary's real
    /// architecture. A release in the ledger is compared with its record.
    ///
    /// Exit status: 0 when everything agrees, 1 when anything disagrees, 2 for bad input,
    /// 3 when a registry or the ledger's storage is unreachable (the findings from files are
    /// still printed).
    #[command(
        after_help = "Examples:\n  slipway release verify --tag v0.33.0\n  slipway release verify --version 0.34.0 --offline\n  slipway release verify --image registry.k8s.io/descheduler/descheduler --format json"
    )]
    Verify(VerifyArgs),

    /// Rewrite every reference to a new version, in one change.
    ///
    /// Edits exactly the text that holds each version (image tags, kustomize newTag, Chart.yaml
    /// version and appVersion, values.yaml tags, `?ref=` links, version files), so comments,
    /// quoting and layout stay as they are. Prints a unified diff and writes all files or none.
    /// With --commit it makes one commit; with --tag it also tags that commit, so the tag points
    /// at manifests that name it. It never moves an existing tag.
    #[command(after_help = "Examples:\n  slipway release bump 0.34.0 --dry-run\n  slipway release bump 0.34.0 --tag")]
    Bump(BumpArgs),

    /// Record a release in the ledger: its tag's commit, its images' digests, what its overlays
    /// and charts deploy.
    ///
    /// `release bump --tag` and `image build --push` of a release record as they go; this
    /// records a release made some other way (or before slipway), reading the tag, the files at
    /// the tag and the registries. The record lives in the artifact storage
    /// (`releases/<tag>.json`, beside the markers) and is never overwritten: facts it lacks are
    /// added, facts that differ are reported.
    ///
    /// Exit status: 0 when recorded, 1 when the release differs from its record, 2 for bad input
    /// (no such tag), 3 when the storage or a registry is unreachable.
    #[command(
        after_help = "Examples:\n  slipway release record 0.36.0\n  slipway release record 0.29.0 --storage s3://my-ci-bucket/descheduler"
    )]
    Record(RecordArgs),

    /// Check that recorded releases are still what they were: tags not moved or deleted, image
    /// tags not pushed over, no platform gone, overlays at the tag deploying what they did.
    ///
    /// With no VERSION, every recorded release is audited. When release.promoter_manifest is
    /// set, each image's recorded digest must be the one the promoter promotes.
    ///
    /// Exit status: 0 when every release is unchanged, 1 when any changed (or has no usable
    /// record), 3 when the storage or a registry is unreachable.
    #[command(
        after_help = "Examples:\n  slipway release audit\n  slipway release audit 0.29.0 0.30.0 --format json\n  slipway release audit --offline"
    )]
    Audit(AuditArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For scripts; the schema is documented in the README and versioned.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Check the files at this git tag, read through git rather than from the work tree.
    #[arg(long, value_name = "TAG", conflicts_with = "version")]
    pub(crate) tag: Option<String>,

    /// Check the work tree against this version (default: the tag at a clean HEAD, else the
    /// highest version the references name).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub(crate) version: Option<Version>,

    /// A project image repository, such as registry.k8s.io/descheduler/descheduler
    /// (repeatable; default: release.images, else inferred from the manifests).
    #[arg(long = "image", value_name = "REPO", env = "SLIPWAY_RELEASE_IMAGES", value_delimiter = ',', value_parser = parse_image)]
    pub(crate) images: Vec<ImageReference>,

    /// A platform every image must cover (repeatable; default: release.platforms, else
    /// linux/amd64 and linux/arm64).
    #[arg(long = "platform", value_name = "OS/ARCH", env = "SLIPWAY_RELEASE_PLATFORMS", value_delimiter = ',', value_parser = parse_platform)]
    pub(crate) platforms: Vec<Platform>,

    /// Do not contact registries; check files only.
    #[arg(long, env = "SLIPWAY_OFFLINE", value_parser = parse_offline)]
    pub(crate) offline: bool,

    /// Also list what looked like a reference and was not checked, with why (the JSON output
    /// always has it, as `skipped`).
    #[arg(long, short = 'v')]
    pub(crate) verbose: bool,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

/// How to reach registries, for every command that talks to one.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct RegistryArgs {
    /// Speak plain HTTP to this registry (repeatable; localhost always is).
    #[arg(
        long = "insecure-registry",
        value_name = "HOST[:PORT]",
        env = "SLIPWAY_REGISTRIES_INSECURE",
        value_delimiter = ','
    )]
    pub(crate) insecure_registries: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The version whose tag to record, such as 0.36.0 or v0.36.0.
    #[arg(value_name = "VERSION", value_parser = parse_version)]
    pub(crate) version: Version,

    /// A project image repository (repeatable; default: release.images, else inferred).
    #[arg(long = "image", value_name = "REPO", env = "SLIPWAY_RELEASE_IMAGES", value_delimiter = ',', value_parser = parse_image)]
    pub(crate) images: Vec<ImageReference>,

    /// Do not read registries: record the tag and the manifests only.
    #[arg(long, env = "SLIPWAY_OFFLINE", value_parser = parse_offline)]
    pub(crate) offline: bool,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The versions to audit (default: every recorded release).
    #[arg(value_name = "VERSION", value_parser = parse_version)]
    pub(crate) versions: Vec<Version>,

    /// Audit every recorded release (the default when no VERSION is given).
    #[arg(long, conflicts_with = "versions")]
    pub(crate) all: bool,

    /// Do not read registries: check tags and manifests only.
    #[arg(long, env = "SLIPWAY_OFFLINE", value_parser = parse_offline)]
    pub(crate) offline: bool,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    #[command(flatten)]
    pub(crate) registries: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct BumpArgs {
    /// The new version, such as 0.34.0 or v0.34.0.
    #[arg(value_name = "VERSION", value_parser = parse_version)]
    pub(crate) version: Version,

    /// Show the diff; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Commit the bumped files (only those) in one commit.
    #[arg(long)]
    pub(crate) commit: bool,

    /// Commit, then create an annotated tag for the version on that commit, and record the
    /// release in the ledger.
    #[arg(long)]
    pub(crate) tag: bool,

    /// Allow a version lower than the one the references name now.
    #[arg(long)]
    pub(crate) allow_downgrade: bool,

    /// A project image repository (repeatable; default: release.images, else inferred).
    #[arg(long = "image", value_name = "REPO", env = "SLIPWAY_RELEASE_IMAGES", value_delimiter = ',', value_parser = parse_image)]
    pub(crate) images: Vec<ImageReference>,

    /// Also list what looked like a reference and was not bumped, with why.
    #[arg(long, short = 'v')]
    pub(crate) verbose: bool,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MarkerCommand {
    /// Print a marker's value.
    ///
    /// NAME is the marker's path in the storage, like stable-1.31.txt or
    /// markers/master/latest-ci.txt; `.txt` is added when missing. The stored body has no
    /// trailing newline; the text output adds one. Exits 1 when there is no such marker.
    #[command(
        after_help = "Examples:\n  slipway marker get stable-1.31\n  slipway marker get markers/master/latest-ci.txt --storage s3://k8s-staging-kops/kops/releases\n  slipway marker get latest --format json"
    )]
    Get(MarkerGetArgs),

    /// Set a marker to VALUE, with compare-and-swap.
    ///
    /// The marker is read, then written only if it still holds what was read (a conditional
    /// put: If-Match on S3 and Azure, a generation on GCS, a lock on the directory of a local one).
    /// If another publisher moved it in between, nothing is written and the command exits 1.
    /// With --if-newer the marker only moves forward, comparing Kubernetes versions (v1.31.2,
    /// v1.35.0-alpha.0.123+abcdef); an older or equal VALUE leaves it as it is (exit 0), and a
    /// lost race is decided again against the winner. The body is VALUE with no newline,
    /// served as text/plain with `Cache-Control: private, max-age=0, no-transform`.
    #[command(
        after_help = "Examples:\n  slipway marker publish stable-1.31 v1.31.2 --if-newer\n  slipway marker publish markers/master/latest-ci.txt \"$URL\" \\\n      --storage s3://k8s-staging-kops/kops/releases\n  # promote the build tested, not whatever latest-ci.txt says now:\n  slipway marker publish markers/master/latest-ci-green.txt \"$TESTED\" --expect \"$GREEN_AT_START\""
    )]
    Publish(MarkerPublishArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MarkerGetArgs {
    /// The marker, like stable-1.31.txt or markers/master/latest-ci.txt.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct MarkerPublishArgs {
    /// The marker, like stable-1.31.txt or markers/master/latest-ci.txt.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    /// The value: a version (v1.31.2) or, for kops markers, a URL.
    #[arg(value_name = "VALUE")]
    pub(crate) value: String,

    /// Move the marker only to a greater Kubernetes version.
    #[arg(long)]
    pub(crate) if_newer: bool,

    /// Publish only if the marker holds CURRENT now, such as the value a job read when it
    /// started; exit 1 if it moved.
    #[arg(long, value_name = "CURRENT")]
    pub(crate) expect: Option<String>,

    #[command(flatten)]
    pub(crate) storage: crate::cli_jobs::StorageArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

/// `SLIPWAY_OFFLINE`: `true`/`false`/`1`/`0` (any case), nothing else, so a typo such as
/// `SLIPWAY_OFFLINE=maybe` is an error rather than a silent yes. (The flag itself takes no value;
/// any value that reaches this parser came from the variable.)
fn parse_offline(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err("SLIPWAY_OFFLINE must be true, false, 1 or 0".to_owned()),
    }
}

fn parse_version(text: &str) -> Result<Version, String> {
    Version::parse(text).map_err(|error| error.reason)
}

fn parse_image(text: &str) -> Result<ImageReference, String> {
    ImageReference::parse(text).map_err(|error| error.reason.to_owned())
}

fn parse_output(text: &str) -> Result<Output, String> {
    let invalid = || "expected oci:DIR or oci-archive:FILE".to_owned();
    match text.split_once(':') {
        Some(("oci", path)) if !path.is_empty() => Ok(Output::Layout(PathBuf::from(path))),
        Some(("oci-archive", path)) if !path.is_empty() => Ok(Output::Archive(PathBuf::from(path))),
        _ => Err(invalid()),
    }
}

fn parse_platform(text: &str) -> Result<Platform, String> {
    Platform::parse(text).map_err(|_| "expected OS/ARCH or OS/ARCH/VARIANT, like linux/arm64".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
