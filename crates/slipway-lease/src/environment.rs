//! The environment a leased command gets: the lease's name and type as Boskos jobs know them,
//! and its userdata under the names tools read (an `aws-account`'s keys become
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, a `*-project` lease's name `GCP_PROJECT`).
//! `leases.env` in slipway.yaml adds or replaces mappings per type.

use std::collections::BTreeMap;

use crate::resource::Resource;

/// The `leases:` section of slipway.yaml.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct LeasesSection {
    /// The lease server clients use: `host:port` or a URL (else `$BOSKOS_HOST`).
    pub server: Option<String>,
    /// `resources.yaml` for `lease serve` (default: resources.yaml in the project).
    pub config: Option<String>,
    /// Where `lease serve` listens (default 127.0.0.1:8080).
    pub listen: Option<String>,
    /// A file holding the server's token.
    pub token_file: Option<String>,
    /// Per type, userdata key to environment variable: `{aws-account: {access-key-id: AWS_ACCESS_KEY_ID}}`.
    pub env: BTreeMap<String, BTreeMap<String, String>>,
}

/// What a leased command gets from `resources` (several when `--count` is above one): for the
/// first, `BOSKOS_RESOURCE` and `BOSKOS_RESOURCE_TYPE`; for each, its mapped userdata and, for
/// project types, `GCP_PROJECT`; `BOSKOS_RESOURCES` lists every name.
pub fn lease_environment(
    resources: &[Resource],
    mappings: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    let mut environment = BTreeMap::new();
    if let Some(first) = resources.first() {
        environment.insert("BOSKOS_RESOURCE".to_owned(), first.name.clone());
        environment.insert("BOSKOS_RESOURCE_TYPE".to_owned(), first.kind.clone());
    }
    environment.insert(
        "BOSKOS_RESOURCES".to_owned(),
        resources.iter().map(|resource| resource.name.as_str()).collect::<Vec<_>>().join(","),
    );
    for resource in resources.iter().rev() {
        if resource.kind.ends_with("-project") {
            environment.insert("GCP_PROJECT".to_owned(), resource.name.clone());
        }
        let mut mapping = default_mapping(&resource.kind);
        if let Some(configured) = mappings.get(&resource.kind) {
            mapping.extend(configured.iter().map(|(key, variable)| (key.clone(), variable.clone())));
        }
        for (key, value) in &resource.userdata {
            if let Some(variable) = mapping.get(key) {
                environment.insert(variable.clone(), value.clone());
            }
        }
    }
    environment.into_iter().collect()
}

/// The mappings slipway knows without configuration.
fn default_mapping(kind: &str) -> BTreeMap<String, String> {
    let pairs: &[(&str, &str)] = match kind {
        "aws-account" => &[
            ("access-key-id", "AWS_ACCESS_KEY_ID"),
            ("secret-access-key", "AWS_SECRET_ACCESS_KEY"),
            ("session-token", "AWS_SESSION_TOKEN"),
            ("region", "AWS_REGION"),
        ],
        _ => &[],
    };
    pairs.iter().map(|(key, variable)| ((*key).to_owned(), (*variable).to_owned())).collect()
}

/// The values of `environment` that are secrets: every mapped userdata value (credentials).
pub fn secret_values(resources: &[Resource]) -> Vec<String> {
    resources
        .iter()
        .flat_map(|resource| resource.userdata.values().filter(|value| !value.is_empty()).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, name: &str, userdata: &[(&str, &str)]) -> Resource {
        Resource {
            kind: kind.to_owned(),
            name: name.to_owned(),
            state: "busy".to_owned(),
            owner: "job".to_owned(),
            lastupdate: String::new(),
            userdata: userdata.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect(),
            expiration_date: None,
        }
    }

    #[test]
    fn aws_credentials_and_projects_get_their_usual_names() {
        let aws = resource(
            "aws-account",
            "acct-1",
            &[("access-key-id", "AKIA"), ("secret-access-key", "s3cret"), ("other", "x")],
        );
        let environment: BTreeMap<String, String> = lease_environment(&[aws], &BTreeMap::new()).into_iter().collect();
        assert_eq!(environment["AWS_ACCESS_KEY_ID"], "AKIA");
        assert_eq!(environment["AWS_SECRET_ACCESS_KEY"], "s3cret");
        assert_eq!(environment["BOSKOS_RESOURCE"], "acct-1");
        assert!(!environment.values().any(|value| value == "x"), "unmapped keys stay out");

        let project = resource("gce-project", "k8s-e2e-1", &[]);
        let environment: BTreeMap<String, String> =
            lease_environment(&[project], &BTreeMap::new()).into_iter().collect();
        assert_eq!(environment["GCP_PROJECT"], "k8s-e2e-1");
    }

    #[test]
    fn configured_mappings_add_to_the_defaults() {
        let mappings = BTreeMap::from([(
            "vsphere".to_owned(),
            BTreeMap::from([("password".to_owned(), "VSPHERE_PASSWORD".to_owned())]),
        )]);
        let lease = resource("vsphere", "vc-1", &[("password", "pw")]);
        let environment: BTreeMap<String, String> = lease_environment(&[lease], &mappings).into_iter().collect();
        assert_eq!(environment["VSPHERE_PASSWORD"], "pw");
        assert_eq!(environment["BOSKOS_RESOURCES"], "vc-1");
    }
}
