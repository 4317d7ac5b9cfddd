//! The keys Prow knows, object by object (the JSON names of the Go types in kubernetes-sigs/prow
//! pkg/config/jobs.go and pkg/apis/prowjobs/v1/types.go, and of core/v1 PodSpec and
//! Container). Prow reads job files leniently: a key it does not know is dropped without a word,
//! so a misspelt `minimum_interval` silently leaves a job without a schedule. These tables let
//! the linter say so.

use crate::load::JobType;

/// `JobBase` and `UtilityConfig`: every job type has these.
pub(crate) const JOB_BASE: &[&str] = &[
    "name",
    "labels",
    "annotations",
    "max_concurrency",
    "agent",
    "cluster",
    "namespace",
    "error_on_eviction",
    "spec",
    "pipeline_run_spec",
    "tekton_pipeline_run_spec",
    "reporter_config",
    "rerun_auth_config",
    "hidden",
    "prowjob_defaults",
    "job_queue_name",
    "decorate",
    "path_alias",
    "clone_uri",
    "skip_submodules",
    "clone_depth",
    "skip_fetch_head",
    "extra_refs",
    "decoration_config",
];

/// `Presubmit` on top of the base.
pub(crate) const PRESUBMIT: &[&str] = &[
    "always_run",
    "optional",
    "trigger",
    "rerun_command",
    "run_before_merge",
    "branches",
    "skip_branches",
    "run_if_changed",
    "skip_if_only_changed",
    "context",
    "skip_report",
    "jenkins_spec",
];

/// `Postsubmit` on top of the base.
pub(crate) const POSTSUBMIT: &[&str] = &[
    "always_run",
    "run_if_changed",
    "skip_if_only_changed",
    "branches",
    "skip_branches",
    "context",
    "skip_report",
    "jenkins_spec",
];

/// `Periodic` on top of the base.
pub(crate) const PERIODIC: &[&str] = &["cron", "interval", "minimum_interval", "tags", "retry"];

/// `DecorationConfig`.
pub(crate) const DECORATION_CONFIG: &[&str] = &[
    "timeout",
    "grace_period",
    "utility_images",
    "resources",
    "gcs_configuration",
    "gcs_credentials_secret",
    "s3_credentials_secret",
    "default_service_account_name",
    "ssh_key_secrets",
    "ssh_host_fingerprints",
    "blobless_fetch",
    "sparse_checkout_files",
    "skip_cloning",
    "cookiefile_secret",
    "oauth_token_secret",
    "github_api_endpoints",
    "github_app_id",
    "github_app_private_key_secret",
    "censor_secrets",
    "censoring_options",
    "upload_ignores_interrupts",
    "set_limit_equals_memory_request",
    "default_memory_request",
    "scheduling_options",
    "pod_pending_timeout",
    "pod_running_timeout",
    "pod_unscheduled_timeout",
    "run_as_user",
    "run_as_group",
    "fs_group",
];

/// `Refs`, as an `extra_refs` entry.
pub(crate) const REFS: &[&str] = &[
    "org",
    "repo",
    "repo_link",
    "base_ref",
    "base_sha",
    "base_link",
    "pulls",
    "path_alias",
    "workdir",
    "auxiliary",
    "clone_uri",
    "skip_submodules",
    "clone_depth",
    "skip_fetch_head",
    "blobless_fetch",
    "sparse_checkout_files",
];

/// `Preset`.
pub(crate) const PRESET: &[&str] = &["labels", "env", "volumes", "volumeMounts", "tolerations"];

/// core/v1 `PodSpec`.
pub(crate) const POD_SPEC: &[&str] = &[
    "volumes",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "nodeSelector",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "hostname",
    "subdomain",
    "affinity",
    "schedulerName",
    "tolerations",
    "hostAliases",
    "priorityClassName",
    "priority",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "overhead",
    "topologySpreadConstraints",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "schedulingGates",
    "resourceClaims",
    "resources",
    "hostnameOverride",
];

/// core/v1 `Container`.
pub(crate) const CONTAINER: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "restartPolicyRules",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
];

/// core/v1 `EnvVar`.
pub(crate) const ENV_VAR: &[&str] = &["name", "value", "valueFrom"];

/// core/v1 `VolumeMount`.
pub(crate) const VOLUME_MOUNT: &[&str] =
    &["name", "readOnly", "recursiveReadOnly", "mountPath", "subPath", "mountPropagation", "subPathExpr"];

/// Objects inside a job whose keys are checked, by their path below the job (`*` is any list
/// item), with the keys each may have.
pub(crate) const NESTED: &[(&str, &[&str])] = &[
    ("decoration_config", DECORATION_CONFIG),
    ("decoration_config.utility_images", &["clonerefs", "initupload", "entrypoint", "sidecar"]),
    ("decoration_config.resources", &["clonerefs", "initupload", "place_entrypoint", "sidecar"]),
    (
        "decoration_config.gcs_configuration",
        &[
            "bucket",
            "path_prefix",
            "path_strategy",
            "default_org",
            "default_repo",
            "mediaTypes",
            "job_url_prefix",
            "local_output_dir",
            "compress_file_types",
        ],
    ),
    (
        "decoration_config.censoring_options",
        &[
            "censoring_concurrency",
            "censoring_buffer_size",
            "include_directories",
            "exclude_directories",
            "minimum_secret_length",
        ],
    ),
    ("decoration_config.scheduling_options", &["affinity", "tolerations"]),
    ("decoration_config.oauth_token_secret", &["name", "key"]),
    ("decoration_config.github_app_private_key_secret", &["name", "key"]),
    ("extra_refs.*", REFS),
    ("rerun_auth_config", &["allow_anyone", "github_users", "github_team_ids", "github_team_slugs", "github_orgs"]),
    ("rerun_auth_config.github_team_slugs.*", &["org", "slug"]),
    ("reporter_config", &["slack"]),
    ("reporter_config.slack", &["host", "channel", "job_states_to_report", "report_template", "report"]),
    ("prowjob_defaults", &["tenant_id", "resultstore_config"]),
    ("prowjob_defaults.resultstore_config", &["project_id"]),
    ("retry", &["run_all", "attempts", "interval"]),
    ("jenkins_spec", &["github_branch_source_job"]),
    ("spec", POD_SPEC),
    ("spec.containers.*", CONTAINER),
    ("spec.containers.*.env.*", ENV_VAR),
    ("spec.containers.*.volumeMounts.*", VOLUME_MOUNT),
];

/// The keys a job of this type may have at its top level.
pub(crate) fn job_keys(job_type: JobType) -> impl Iterator<Item = &'static str> {
    let specific = match job_type {
        JobType::Presubmit => PRESUBMIT,
        JobType::Postsubmit => POSTSUBMIT,
        JobType::Periodic => PERIODIC,
    };
    JOB_BASE.iter().chain(specific).copied()
}

/// The job types whose top level has `key` (for "`cron` is a periodic field").
pub(crate) fn types_with(key: &str) -> Vec<JobType> {
    [JobType::Presubmit, JobType::Postsubmit, JobType::Periodic]
        .into_iter()
        .filter(|job_type| job_keys(*job_type).any(|known| known == key))
        .collect()
}

/// The known key closest to `key`, if one is close enough to be a likely misspelling.
pub(crate) fn closest<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&lower, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(key.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_find_their_key() {
        assert_eq!(closest("minimal_interval", job_keys(JobType::Periodic)), Some("minimum_interval"));
        assert_eq!(closest("decorate_config", job_keys(JobType::Periodic)), Some("decoration_config"));
        assert_eq!(closest("anotations", job_keys(JobType::Presubmit)), Some("annotations"));
        assert_eq!(closest("run_if_change", job_keys(JobType::Postsubmit)), Some("run_if_changed"));
        assert_eq!(closest("workingdir", CONTAINER.iter().copied()), Some("workingDir"));
        assert_eq!(closest("completely_different", job_keys(JobType::Periodic)), None);
    }

    #[test]
    fn fields_of_other_job_types_are_known() {
        assert_eq!(types_with("cron"), [JobType::Periodic]);
        assert_eq!(types_with("always_run"), [JobType::Presubmit, JobType::Postsubmit]);
    }
}
