//! Variables in Makefiles (`VERSION ?= v0.31.0`, `TAG := v1.2.0`, `export IMAGE = r.io/app:v1`):
//! every simple assignment whose value is one word. Whether a variable names a version of the
//! project is [`crate::check`]'s decision; recipe lines and computed values are not read.

use std::sync::LazyLock;

use regex::Regex;

use super::Located;
use super::text::LineIndex;

/// A variable assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeVariable {
    /// The variable's name.
    pub name: String,
    /// Its value, located.
    pub value: Located,
}

/// Whether a file name is a Makefile.
pub fn is_makefile(name: &str) -> bool {
    matches!(name, "Makefile" | "makefile" | "GNUmakefile") || name.to_ascii_lowercase().ends_with(".mk")
}

static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^(?:export[ \t]+|override[ \t]+)*([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*(?:\?=|::=|:=|\+=|!=|=)[ \t]*([^\s#$()]+)[ \t]*(?:#.*)?\r?$")
        .expect("valid regex")
});

/// Every one-word assignment in a Makefile.
pub fn find(path: &str, text: &str, lines: &LineIndex) -> Vec<MakeVariable> {
    ASSIGNMENT
        .captures_iter(text)
        .filter_map(|captures| {
            let (name, value) = (captures.get(1)?, captures.get(2)?);
            Some(MakeVariable {
                name: name.as_str().to_owned(),
                value: Located {
                    file: path.to_owned(),
                    line: lines.line(value.start()),
                    text: value.as_str().to_owned(),
                    range: Some(value.range()),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_one_word_assignments() {
        let text = "VERSION ?= v0.31.0 # the release\nexport TAG := v1.2.0\nGOLANGCI_VERSION := v2.8.0\nBUILD=$(shell date)\nIMAGE = registry.k8s.io/app:$(VERSION)\n\tVERSION=v9.9.9 make\nall:\n\techo $(VERSION)\n";
        let variables = find("Makefile", text, &LineIndex::new(text));
        let found: Vec<_> = variables.iter().map(|v| (v.name.as_str(), v.value.line, v.value.text.as_str())).collect();
        assert_eq!(found, [("VERSION", 1, "v0.31.0"), ("TAG", 2, "v1.2.0"), ("GOLANGCI_VERSION", 3, "v2.8.0")]);
        let range = variables[0].value.range.clone().expect("located");
        assert_eq!(&text[range], "v0.31.0");
        assert!(is_makefile("Makefile") && is_makefile("hack/tools.mk") && !is_makefile("make.yaml"));
    }
}
