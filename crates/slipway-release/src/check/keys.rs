//! What a variable or input name is about: `descheduler-version` names the project, `VERSION`
//! and `image_tag` could be anyone's, `kind-version` and `GOLANGCI_VERSION` name another tool.
//! A workflow value or Makefile variable is the project's version only when its name does not
//! belong to something else, so `kind-version: v0.31.0` is left alone even though descheduler
//! has a v0.31.0 too.

/// Words that say "a version" without saying of what.
const GENERIC: &[&str] = &[
    "version",
    "versions",
    "ver",
    "tag",
    "tags",
    "ref",
    "release",
    "releases",
    "image",
    "images",
    "img",
    "app",
    "git",
    "current",
    "new",
    "latest",
    "default",
    "target",
    "the",
    "to",
    "build",
    "docker",
    "container",
    "operator",
    "controller",
    "manager",
    "chart",
    "helm",
    "v",
];

/// Who a name is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// It names the project.
    Project,
    /// It names nothing in particular.
    Generic,
    /// It names something else; the words that do.
    Other(String),
}

/// The words of a name: split at `-`, `_`, `.`, spaces and lowercase-to-uppercase steps,
/// lowercased.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for character in name.chars() {
        if !character.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if character.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = character.is_ascii_lowercase() || character.is_ascii_digit();
        current.push(character.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Who `name` is about, for a project called `project` (`None`: unknown).
pub(crate) fn subject(name: &str, project: Option<&str>) -> Subject {
    let name_words = words(name);
    if let Some(project) = project {
        let project_words = words(project);
        if !project_words.is_empty() && project_words.iter().all(|word| name_words.contains(word)) {
            return Subject::Project;
        }
        // `CA_VERSION` for cluster-autoscaler: the initials of a project of several words.
        let initials: String = project_words.iter().filter_map(|word| word.chars().next()).collect();
        if project_words.len() > 1 && name_words.contains(&initials) {
            return Subject::Project;
        }
    }
    let others: Vec<&str> =
        name_words.iter().map(String::as_str).filter(|word| !GENERIC.contains(word) && !is_number(word)).collect();
    if others.is_empty() { Subject::Generic } else { Subject::Other(others.join("-")) }
}

fn is_number(word: &str) -> bool {
    word.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        let project = Some("descheduler");
        assert_eq!(subject("descheduler-version", project), Subject::Project);
        assert_eq!(subject("DESCHEDULER_IMAGE_TAG", project), Subject::Project);
        assert_eq!(subject("deschedulerVersion", project), Subject::Project);
        assert_eq!(subject("VERSION", project), Subject::Generic);
        assert_eq!(subject("image_tag", project), Subject::Generic);
        assert_eq!(subject("IMG", project), Subject::Generic);
        assert_eq!(subject("kind-version", project), Subject::Other("kind".into()));
        assert_eq!(subject("GOLANGCI_VERSION", project), Subject::Other("golangci".into()));
        assert_eq!(subject("k8s-version", project), Subject::Other("k8s".into()));
        assert_eq!(subject("kubectlVersion", project), Subject::Other("kubectl".into()));
        assert_eq!(subject("CA_VERSION", Some("cluster-autoscaler")), Subject::Project);
        assert_eq!(subject("cluster_autoscaler_tag", Some("cluster-autoscaler")), Subject::Project);
        assert_eq!(subject("VERSION", None), Subject::Generic);
    }
}
