//! Image platforms (`linux/arm64`, `linux/arm/v7`) and which CPU each one's binaries target.
//!
//! OCI uses Go's `GOOS`/`GOARCH` names. [`Platform::satisfies`] decides whether an index entry
//! serves a required platform, with the variant defaults containerd applies (`arm64` means
//! `arm64/v8`). [`Architecture::elf`] gives the ELF machine, word size and byte order that a
//! binary for the architecture carries, which is what catches an amd64 image holding an arm64
//! binary (autoscaler#9226).

use std::fmt;

use crate::elf::{ElfClass, ElfEndianness, ElfMachine};

/// An `os/architecture[/variant]` triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// Operating system, as `GOOS` (`linux`).
    pub os: String,
    /// CPU architecture, as `GOARCH` (`amd64`, `arm64`).
    pub architecture: String,
    /// CPU variant (`v7` for `arm`, `v8` for `arm64`), if given.
    pub variant: Option<String>,
}

/// Why a string is not a platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform `{input}`: expected OS/ARCH or OS/ARCH/VARIANT, like linux/arm64")]
pub struct PlatformError {
    /// The text that was given.
    pub input: String,
}

impl Platform {
    /// Parses `linux/amd64` or `linux/arm/v7`.
    pub fn parse(input: &str) -> Result<Platform, PlatformError> {
        let error = || PlatformError { input: input.to_owned() };
        let parts: Vec<&str> = input.split('/').collect();
        let valid_part = |part: &&str| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(valid_part) {
            return Err(error());
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|variant| (*variant).to_owned()),
        })
    }

    /// A platform from its parts, as an index entry or image config states them.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.filter(|variant| !variant.is_empty()).map(str::to_owned),
        }
    }

    /// The `unknown/unknown` entries BuildKit adds to an index for attestations.
    pub fn is_attestation(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }

    /// Whether an image for `self` serves `required`: same OS and architecture and, when the
    /// requirement names a variant, the same variant after applying the usual defaults.
    pub fn satisfies(&self, required: &Platform) -> bool {
        if self.os != required.os || self.architecture != required.architecture {
            return false;
        }
        match &required.variant {
            None => true,
            Some(variant) => self.normalized_variant() == Some(variant.as_str()),
        }
    }

    fn normalized_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            (_, Some(variant)) => Some(variant),
            ("arm64", None) => Some("v8"),
            ("arm", None) => Some("v7"),
            ("amd64", None) => Some("v1"),
            _ => None,
        }
    }

    /// The architecture's binary format, when slipway knows it.
    pub fn known_architecture(&self) -> Option<Architecture> {
        Architecture::from_goarch(&self.architecture)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = PlatformError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Platform::parse(input)
    }
}

/// This machine's architecture as a `GOARCH` name (`amd64` on x86_64, `arm64` on aarch64).
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "arm" => "arm",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The platforms a release must cover when nothing else is configured.
pub fn default_platforms() -> Vec<Platform> {
    vec![Platform::new("linux", "amd64", None), Platform::new("linux", "arm64", None)]
}

/// A CPU architecture slipway can recognise in an ELF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Architecture {
    /// The `GOARCH` name.
    pub goarch: &'static str,
    /// What the ELF header of a binary for it says.
    pub elf: (ElfMachine, ElfClass, ElfEndianness),
}

const ARCHITECTURES: &[Architecture] = &[
    Architecture { goarch: "amd64", elf: (ElfMachine::X86_64, ElfClass::Elf64, ElfEndianness::Little) },
    Architecture { goarch: "386", elf: (ElfMachine::X86, ElfClass::Elf32, ElfEndianness::Little) },
    Architecture { goarch: "arm64", elf: (ElfMachine::AARCH64, ElfClass::Elf64, ElfEndianness::Little) },
    Architecture { goarch: "arm", elf: (ElfMachine::ARM, ElfClass::Elf32, ElfEndianness::Little) },
    Architecture { goarch: "ppc64le", elf: (ElfMachine::PPC64, ElfClass::Elf64, ElfEndianness::Little) },
    Architecture { goarch: "ppc64", elf: (ElfMachine::PPC64, ElfClass::Elf64, ElfEndianness::Big) },
    Architecture { goarch: "s390x", elf: (ElfMachine::S390, ElfClass::Elf64, ElfEndianness::Big) },
    Architecture { goarch: "riscv64", elf: (ElfMachine::RISCV, ElfClass::Elf64, ElfEndianness::Little) },
    Architecture { goarch: "mips64le", elf: (ElfMachine::MIPS, ElfClass::Elf64, ElfEndianness::Little) },
    Architecture { goarch: "mips64", elf: (ElfMachine::MIPS, ElfClass::Elf64, ElfEndianness::Big) },
    Architecture { goarch: "mipsle", elf: (ElfMachine::MIPS, ElfClass::Elf32, ElfEndianness::Little) },
    Architecture { goarch: "mips", elf: (ElfMachine::MIPS, ElfClass::Elf32, ElfEndianness::Big) },
    Architecture { goarch: "loong64", elf: (ElfMachine::LOONGARCH, ElfClass::Elf64, ElfEndianness::Little) },
];

impl Architecture {
    /// The architecture for a `GOARCH` name, if slipway knows its ELF signature.
    pub fn from_goarch(goarch: &str) -> Option<Architecture> {
        ARCHITECTURES.iter().copied().find(|architecture| architecture.goarch == goarch)
    }

    /// The architecture whose binaries carry this ELF signature.
    pub fn from_elf(signature: (ElfMachine, ElfClass, ElfEndianness)) -> Option<Architecture> {
        ARCHITECTURES.iter().copied().find(|architecture| architecture.elf == signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(text: &str) -> Platform {
        Platform::parse(text).expect("valid platform")
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(platform("linux/arm/v7").to_string(), "linux/arm/v7");
        assert_eq!(platform("linux/amd64"), Platform::new("linux", "amd64", None));
        for bad in ["linux", "linux/", "/amd64", "linux/amd64/v1/x", "Linux/AMD64", "linux amd64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn variants_default_like_containerd() {
        assert!(platform("linux/arm64").satisfies(&platform("linux/arm64/v8")));
        assert!(platform("linux/arm64/v8").satisfies(&platform("linux/arm64")));
        assert!(!platform("linux/arm/v6").satisfies(&platform("linux/arm/v7")));
        assert!(platform("linux/arm").satisfies(&platform("linux/arm/v7")));
        assert!(!platform("linux/amd64").satisfies(&platform("linux/arm64")));
        assert!(!platform("windows/amd64").satisfies(&platform("linux/amd64")));
    }

    #[test]
    fn every_architecture_has_a_unique_signature() {
        for architecture in ARCHITECTURES {
            assert_eq!(Architecture::from_elf(architecture.elf), Some(*architecture));
            assert_eq!(Architecture::from_goarch(architecture.goarch), Some(*architecture));
        }
        assert!(platform("unknown/unknown").is_attestation());
    }
}
