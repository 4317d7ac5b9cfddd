//! The Go module path in `go.mod`, evidence of where the project lives
//! (`module sigs.k8s.io/descheduler` is github.com/kubernetes-sigs/descheduler).

use super::Located;

/// The `module` directive of a `go.mod`, located.
pub fn module(path: &str, text: &str) -> Option<Located> {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("module") {
            let module = rest.split("//").next().unwrap_or(rest).trim().trim_matches('"');
            if !module.is_empty() && rest.starts_with(char::is_whitespace) {
                let start = offset + line.find(module).unwrap_or(0);
                return Some(Located {
                    file: path.to_owned(),
                    line: index + 1,
                    text: module.to_owned(),
                    range: Some(start..start + module.len()),
                });
            }
        }
        offset += line.len();
    }
    None
}

/// The source repository (`host/owner/repo`) a module path names, when it can be told: hosting
/// sites directly, and the Kubernetes vanity domains (`sigs.k8s.io/x` is
/// github.com/kubernetes-sigs/x, `k8s.io/x` is github.com/kubernetes/x).
pub fn repository_of_module(module: &str) -> Option<String> {
    let segments: Vec<&str> = module.split('/').collect();
    let repository = match segments.as_slice() {
        ["sigs.k8s.io", name, ..] => format!("github.com/kubernetes-sigs/{name}"),
        ["k8s.io", name, ..] => format!("github.com/kubernetes/{name}"),
        [host @ ("github.com" | "gitlab.com" | "bitbucket.org" | "codeberg.org"), owner, name, ..] => {
            format!("{host}/{owner}/{name}")
        }
        _ => return None,
    };
    Some(repository.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_module_and_its_repository() {
        let text = "// comment\nmodule sigs.k8s.io/descheduler\n\ngo 1.24\n";
        let located = module("go.mod", text).expect("a module");
        assert_eq!((located.line, located.text.as_str()), (2, "sigs.k8s.io/descheduler"));
        for (module, repository) in [
            ("sigs.k8s.io/descheduler", Some("github.com/kubernetes-sigs/descheduler")),
            ("k8s.io/autoscaler/cluster-autoscaler", Some("github.com/kubernetes/autoscaler")),
            ("github.com/Org/Repo/v2", Some("github.com/org/repo")),
            ("example.com/tool", None),
        ] {
            assert_eq!(repository_of_module(module).as_deref(), repository, "{module}");
        }
    }
}
