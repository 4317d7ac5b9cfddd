//! `images:` in `slipway.yaml`: what each image is made of, resolved into [`ImageSpec`]s.
//!
//! ```yaml
//! images:
//!   - repository: ghcr.io/example-org/hello-operator
//!     platforms: [linux/amd64, linux/arm64]
//!     base: gcr.io/distroless/static:nonroot     # or scratch (the default)
//!     build: CGO_ENABLED=0 GOOS={os} GOARCH={arch} go build -o out/{arch}/manager ./cmd
//!     files:
//!       - source: out/{arch}/manager
//!         path: /manager
//!         mode: 0755
//!         owner: 65532:65532
//!     entrypoint: [/manager]
//! ```
//!
//! Resolution checks everything a build would trip over later (placeholders, modes, owners,
//! references, platforms) and names the key of the first problem.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use slipway_core::{ImageReference, Platform};

use crate::build::Error;

/// One `images:` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImageSection {
    /// A short name for `--image NAME` (default: the repository's last path component).
    pub name: Option<String>,
    /// Where the image is published, without tag.
    pub repository: String,
    /// Platforms to build (default: `release.platforms`, else linux/amd64 and linux/arm64).
    pub platforms: Vec<String>,
    /// The base image, or `scratch` (the default).
    pub base: Option<String>,
    /// A shell command that builds one platform; `{os}`, `{arch}` and `{variant}` are replaced.
    pub build: Option<String>,
    /// Files to add, on top of the base.
    pub files: Vec<FileSection>,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    pub cmd: Option<Vec<String>>,
    /// Environment, added to (and replacing keys of) the base's.
    pub env: BTreeMap<String, String>,
    /// User (`65532` or `65532:65532`).
    pub user: Option<String>,
    /// Working directory.
    pub workdir: Option<String>,
    /// Config labels, added to the base's.
    pub labels: BTreeMap<String, String>,
    /// Manifest and index annotations.
    pub annotations: BTreeMap<String, String>,
    /// Tags moved to each new newest release, such as `latest`.
    pub moving_tags: Vec<String>,
    /// The image `build` runs in, for `image dockerfile` and `image cloudbuild`.
    pub builder: Option<String>,
}

/// One file to add.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileSection {
    /// Path relative to the project, with placeholders (`out/{arch}/app`).
    pub source: String,
    /// Absolute path in the image.
    pub path: String,
    /// Permission bits, octal (`0755`); default 0755 for executables, 0644 otherwise.
    #[serde(deserialize_with = "octal_mode")]
    pub mode: Option<u32>,
    /// `uid` or `uid:gid` (default `0:0`).
    pub owner: Option<String>,
}

/// An image to build, validated.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Short name.
    pub name: String,
    /// Repository (no tag).
    pub repository: ImageReference,
    /// Platforms.
    pub platforms: Vec<Platform>,
    /// The base image; `None` is scratch.
    pub base: Option<ImageReference>,
    /// The build command template.
    pub build: Option<String>,
    /// Files.
    pub files: Vec<FileSpec>,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Cmd.
    pub cmd: Option<Vec<String>>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// User.
    pub user: Option<String>,
    /// Working directory.
    pub workdir: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Moving tags.
    pub moving_tags: Vec<String>,
    /// The builder image for generated Dockerfiles.
    pub builder: Option<String>,
}

/// A file to add, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Source path template, relative to the project.
    pub source: String,
    /// Path in the image, without the leading `/`.
    pub path: String,
    /// Permission bits, if configured.
    pub mode: Option<u32>,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// Placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &["os", "arch", "variant"];

/// Fills `{os}`, `{arch}` and `{variant}` in a template.
pub fn fill(template: &str, platform: &Platform) -> String {
    template
        .replace("{os}", &platform.os)
        .replace("{arch}", &platform.architecture)
        .replace("{variant}", platform.variant.as_deref().unwrap_or(""))
}

/// Resolves every `images:` entry; `default_platforms` apply where an entry names none.
pub fn resolve(sections: &[ImageSection], default_platforms: &[Platform]) -> Result<Vec<ImageSpec>, Error> {
    let mut specs: Vec<ImageSpec> = Vec::new();
    for (index, section) in sections.iter().enumerate() {
        let spec = resolve_one(index, section, default_platforms)?;
        if specs.iter().any(|other| other.name == spec.name) {
            return Err(config_error(
                format!("images[{index}].name"),
                format!("`{}` names two images; give each a distinct name", spec.name),
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn config_error(key: String, message: String) -> Error {
    Error::Config { key, message }
}

fn resolve_one(index: usize, section: &ImageSection, default_platforms: &[Platform]) -> Result<ImageSpec, Error> {
    let key = |field: &str| format!("images[{index}].{field}");
    if section.repository.is_empty() {
        return Err(config_error(key("repository"), "a repository is required, such as ghcr.io/org/app".to_owned()));
    }
    let repository = ImageReference::parse(&section.repository)
        .map_err(|error| config_error(key("repository"), error.to_string()))?;
    if repository.tag().is_some() || repository.digest().is_some() {
        return Err(config_error(
            key("repository"),
            format!("`{}` has a tag or digest; tags come from git or --tag", section.repository),
        ));
    }
    let platforms = if section.platforms.is_empty() {
        default_platforms.to_vec()
    } else {
        section
            .platforms
            .iter()
            .enumerate()
            .map(|(position, platform)| {
                Platform::parse(platform)
                    .map_err(|error| config_error(key(&format!("platforms[{position}]")), error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let base = match section.base.as_deref() {
        None | Some("scratch") => None,
        Some(base) => Some(ImageReference::parse(base).map_err(|error| config_error(key("base"), error.to_string()))?),
    };
    if let Some(build) = &section.build {
        check_placeholders(build).map_err(|message| config_error(key("build"), message))?;
    }
    if section.files.is_empty() {
        return Err(config_error(
            key("files"),
            "at least one file is needed, such as {source: out/{arch}/app, path: /app}".to_owned(),
        ));
    }
    let mut files = Vec::new();
    for (position, file) in section.files.iter().enumerate() {
        let file_key = |field: &str| key(&format!("files[{position}].{field}"));
        if file.source.is_empty() {
            return Err(config_error(file_key("source"), "a source path is required".to_owned()));
        }
        check_placeholders(&file.source).map_err(|message| config_error(file_key("source"), message))?;
        if !file.path.starts_with('/') || file.path.split('/').any(|part| part == "..") || file.path.ends_with('/') {
            return Err(config_error(
                file_key("path"),
                format!("`{}` must be an absolute file path in the image, like /app", file.path),
            ));
        }
        let (uid, gid) =
            parse_owner(file.owner.as_deref()).map_err(|message| config_error(file_key("owner"), message))?;
        files.push(FileSpec {
            source: file.source.clone(),
            path: file.path.trim_start_matches('/').to_owned(),
            mode: file.mode,
            uid,
            gid,
        });
    }
    let mut paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
    paths.sort_unstable();
    if let Some(pair) = paths.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(config_error(key("files"), format!("`/{}` is added twice", pair[0])));
    }
    for tag in &section.moving_tags {
        if ImageReference::parse(&format!("{}:{tag}", repository.name())).is_err() {
            return Err(config_error(key("moving_tags"), format!("`{tag}` is not a valid tag")));
        }
    }
    let name = section
        .name
        .clone()
        .unwrap_or_else(|| repository.repository().rsplit('/').next().unwrap_or_default().to_owned());
    Ok(ImageSpec {
        name,
        repository,
        platforms,
        base,
        build: section.build.clone(),
        files,
        entrypoint: section.entrypoint.clone(),
        cmd: section.cmd.clone(),
        env: section.env.clone(),
        user: section.user.clone(),
        workdir: section.workdir.clone(),
        labels: section.labels.clone(),
        annotations: section.annotations.clone(),
        moving_tags: section.moving_tags.clone(),
        builder: section.builder.clone(),
    })
}

fn check_placeholders(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        // `${NAME}` is the shell's.
        if rest[..open].ends_with('$') {
            rest = after;
            continue;
        }
        let Some(close) = after.find('}') else {
            return Ok(());
        };
        let name = &after[..close];
        let is_placeholder = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if is_placeholder && !PLACEHOLDERS.contains(&name) {
            return Err(format!("unknown placeholder `{{{name}}}`; use {{os}}, {{arch}} or {{variant}}"));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

fn parse_owner(owner: Option<&str>) -> Result<(u32, u32), String> {
    let Some(owner) = owner else {
        return Ok((0, 0));
    };
    let invalid = || format!("`{owner}` must be numeric: UID or UID:GID (names need the image's /etc/passwd)");
    let (uid, gid) = owner.split_once(':').unwrap_or((owner, owner));
    Ok((uid.parse().map_err(|_| invalid())?, gid.parse().map_err(|_| invalid())?))
}

/// Reads a mode written as `0755`, `"0755"`, `755` or `0o755`: the digits are octal however YAML
/// typed them.
fn octal_mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct ModeVisitor;

    impl Visitor<'_> for ModeVisitor {
        type Value = Option<u32>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an octal mode such as 0755")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            self.visit_str(&value.to_string())
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            self.visit_str(&value.to_string())
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
            if value.fract() != 0.0 || value < 0.0 {
                return Err(E::custom(format!("`{value}` is not an octal mode such as 0755")));
            }
            self.visit_str(&format!("{value:.0}"))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            let digits = value.trim().trim_start_matches("0o");
            let digits = if digits.len() > 1 { digits.trim_start_matches('0') } else { digits };
            let digits = if digits.is_empty() { "0" } else { digits };
            match u32::from_str_radix(digits, 8) {
                Ok(mode) if mode <= 0o7777 => Ok(Some(mode)),
                _ => Err(E::custom(format!("`{value}` is not an octal mode; write it as 0755 or \"0755\""))),
            }
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(ModeVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> ImageSection {
        serde_json::from_value(serde_json::from_str(yaml).expect("JSON")).expect("an image section")
    }

    fn amd64() -> Vec<Platform> {
        vec![Platform::parse("linux/amd64").expect("valid")]
    }

    #[test]
    fn modes_are_octal_however_yaml_types_them() {
        for (written, mode) in
            [("0755", 0o755), ("\"0755\"", 0o755), ("'644'", 0o644), ("755", 0o755), ("0", 0), ("4755", 0o4755)]
        {
            let yaml = format!("source: a\npath: /a\nmode: {written}\n");
            let file: FileSection = serde_saphyr::from_str(&yaml).unwrap_or_else(|error| panic!("{written}: {error}"));
            assert_eq!(file.mode, Some(mode), "{written}");
        }
        for written in ["0789", "0o755", "rwx", "17777"] {
            let yaml = format!("source: a\npath: /a\nmode: {written}\n");
            let error = serde_saphyr::from_str::<FileSection>(&yaml).expect_err(written);
            assert!(error.to_string().contains("is not an octal mode; write it as 0755"), "{written}: {error}");
        }
    }

    #[test]
    fn resolves_and_names_the_first_problem() {
        let good = section(
            r#"{"repository":"ghcr.io/org/app","build":"GOARCH={arch} go build -o out/{arch}/app","files":[{"source":"out/{arch}/app","path":"/app","owner":"65532:65532"}]}"#,
        );
        let specs = resolve(std::slice::from_ref(&good), &amd64()).expect("valid");
        assert_eq!(specs[0].name, "app");
        assert_eq!(
            specs[0].files[0],
            FileSpec { source: "out/{arch}/app".into(), path: "app".into(), mode: None, uid: 65532, gid: 65532 }
        );
        assert_eq!(fill(&specs[0].files[0].source, &Platform::parse("linux/arm/v7").expect("valid")), "out/arm/app");

        let cases = [
            (r#"{"repository":"ghcr.io/org/app:v1","files":[{"source":"a","path":"/a"}]}"#, "images[0].repository"),
            (r#"{"repository":"ghcr.io/org/app","files":[]}"#, "images[0].files"),
            (
                r#"{"repository":"ghcr.io/org/app","build":"go build {archh}","files":[{"source":"a","path":"/a"}]}"#,
                "images[0].build",
            ),
            (r#"{"repository":"ghcr.io/org/app","files":[{"source":"a","path":"app"}]}"#, "images[0].files[0].path"),
            (
                r#"{"repository":"ghcr.io/org/app","files":[{"source":"a","path":"/a","owner":"nonroot"}]}"#,
                "images[0].files[0].owner",
            ),
            (
                r#"{"repository":"ghcr.io/org/app","platforms":["linux"],"files":[{"source":"a","path":"/a"}]}"#,
                "images[0].platforms[0]",
            ),
            (
                r#"{"repository":"ghcr.io/org/app","files":[{"source":"a","path":"/a"},{"source":"b","path":"/a"}]}"#,
                "images[0].files",
            ),
        ];
        for (yaml, key) in cases {
            let error = resolve(&[section(yaml)], &amd64()).expect_err(yaml);
            assert!(matches!(&error, Error::Config { key: found, .. } if found == key), "{yaml}: {error}");
        }
        let error = resolve(&[good.clone(), good], &amd64()).expect_err("two images named app");
        assert!(error.to_string().contains("images[1].name"), "{error}");
    }

    #[test]
    fn shell_braces_that_are_not_placeholders_pass() {
        assert!(check_placeholders("for f in out/*; do echo ${f}; done; echo {os}").is_ok());
        assert!(check_placeholders("awk '{print $1}'").is_ok());
    }
}
