//! Reading the identity of an ELF binary from its first bytes.
//!
//! Only the header's identification and machine fields matter for slipway: they say which CPU
//! and word size a binary was built for, regardless of what an image index claims.

use std::fmt;

/// The length of an ELF header prefix that [`ElfHeader::parse`] needs.
pub const HEADER_LEN: usize = 20;

/// The `e_machine` field of an ELF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElfMachine(pub u16);

impl ElfMachine {
    /// Intel 80386.
    pub const X86: ElfMachine = ElfMachine(3);
    /// MIPS.
    pub const MIPS: ElfMachine = ElfMachine(8);
    /// 64-bit PowerPC.
    pub const PPC64: ElfMachine = ElfMachine(21);
    /// IBM S/390.
    pub const S390: ElfMachine = ElfMachine(22);
    /// 32-bit ARM.
    pub const ARM: ElfMachine = ElfMachine(40);
    /// AMD x86-64.
    pub const X86_64: ElfMachine = ElfMachine(62);
    /// 64-bit ARM.
    pub const AARCH64: ElfMachine = ElfMachine(183);
    /// RISC-V.
    pub const RISCV: ElfMachine = ElfMachine(243);
    /// LoongArch.
    pub const LOONGARCH: ElfMachine = ElfMachine(258);

    /// The conventional `EM_*` name, for messages.
    pub fn name(self) -> String {
        let known = match self {
            ElfMachine::X86 => "EM_386",
            ElfMachine::MIPS => "EM_MIPS",
            ElfMachine::PPC64 => "EM_PPC64",
            ElfMachine::S390 => "EM_S390",
            ElfMachine::ARM => "EM_ARM",
            ElfMachine::X86_64 => "EM_X86_64",
            ElfMachine::AARCH64 => "EM_AARCH64",
            ElfMachine::RISCV => "EM_RISCV",
            ElfMachine::LOONGARCH => "EM_LOONGARCH",
            ElfMachine(other) => return format!("e_machine {other}"),
        };
        known.to_owned()
    }
}

/// 32- or 64-bit objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// Byte order of the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElfEndianness {
    /// `ELFDATA2LSB`.
    Little,
    /// `ELFDATA2MSB`.
    Big,
}

/// What the first bytes of an ELF file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfHeader {
    /// Word size.
    pub class: ElfClass,
    /// Byte order.
    pub endianness: ElfEndianness,
    /// Target machine.
    pub machine: ElfMachine,
}

/// Why bytes are not an ELF header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The file is a script with an interpreter line.
    #[error("a script (`{interpreter}`), not an ELF binary")]
    Script {
        /// The `#!` line, trimmed.
        interpreter: String,
    },
    /// The file does not start with the ELF magic.
    #[error("not an ELF binary")]
    NotElf,
    /// Too short to hold an ELF header.
    #[error("too short for an ELF header ({length} bytes)")]
    Truncated {
        /// How many bytes there were.
        length: usize,
    },
    /// Magic present but the identification bytes are invalid.
    #[error("an ELF header with invalid {field} byte {value}")]
    Invalid {
        /// Which identification field.
        field: &'static str,
        /// Its value.
        value: u8,
    },
}

impl ElfHeader {
    /// Reads the header from the first [`HEADER_LEN`] or more bytes of a file.
    pub fn parse(bytes: &[u8]) -> Result<ElfHeader, ElfError> {
        if let Some(line) = bytes.strip_prefix(b"#!") {
            let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len()).min(200);
            return Err(ElfError::Script {
                interpreter: format!("#!{}", String::from_utf8_lossy(&line[..end]).trim()),
            });
        }
        if !bytes.starts_with(b"\x7fELF") {
            return Err(if bytes.len() < 4 { ElfError::Truncated { length: bytes.len() } } else { ElfError::NotElf });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ElfError::Truncated { length: bytes.len() });
        }
        let class = match bytes[4] {
            1 => ElfClass::Elf32,
            2 => ElfClass::Elf64,
            value => return Err(ElfError::Invalid { field: "EI_CLASS", value }),
        };
        let endianness = match bytes[5] {
            1 => ElfEndianness::Little,
            2 => ElfEndianness::Big,
            value => return Err(ElfError::Invalid { field: "EI_DATA", value }),
        };
        let machine_bytes = [bytes[18], bytes[19]];
        let machine = ElfMachine(match endianness {
            ElfEndianness::Little => u16::from_le_bytes(machine_bytes),
            ElfEndianness::Big => u16::from_be_bytes(machine_bytes),
        });
        Ok(ElfHeader { class, endianness, machine })
    }

    /// The `GOARCH` name of the architecture this binary targets, if known.
    pub fn goarch(&self) -> Option<&'static str> {
        crate::platform::Architecture::from_elf((self.machine, self.class, self.endianness))
            .map(|architecture| architecture.goarch)
    }
}

impl fmt::Display for ElfHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.class {
            ElfClass::Elf32 => 32,
            ElfClass::Elf64 => 64,
        };
        let order = match self.endianness {
            ElfEndianness::Little => "LSB",
            ElfEndianness::Big => "MSB",
        };
        match self.goarch() {
            Some(goarch) => write!(f, "{goarch} (ELF {bits}-bit {order}, {})", self.machine.name()),
            None => write!(f, "ELF {bits}-bit {order}, {}", self.machine.name()),
        }
    }
}

/// A minimal ELF header for `architecture`, as a binary built for it would start.
///
/// Useful to anyone who needs to produce a file a checker must classify; slipway's tests build
/// whole executables on top of it.
pub fn header_bytes(machine: ElfMachine, class: ElfClass, endianness: ElfEndianness) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(b"\x7fELF");
    header[4] = match class {
        ElfClass::Elf32 => 1,
        ElfClass::Elf64 => 2,
    };
    header[5] = match endianness {
        ElfEndianness::Little => 1,
        ElfEndianness::Big => 2,
    };
    header[6] = 1;
    let (kind, machine) = match endianness {
        ElfEndianness::Little => (2u16.to_le_bytes(), machine.0.to_le_bytes()),
        ElfEndianness::Big => (2u16.to_be_bytes(), machine.0.to_be_bytes()),
    };
    header[16..18].copy_from_slice(&kind);
    header[18..20].copy_from_slice(&machine);
    header
}

/// Whether a whole ELF file is statically linked (it has no `PT_INTERP` program header), so it
/// runs inside any container: `None` when the bytes are not an ELF file slipway can read.
pub fn is_static(bytes: &[u8]) -> Option<bool> {
    let header = ElfHeader::parse(bytes).ok()?;
    let little = header.endianness == ElfEndianness::Little;
    let read = |offset: usize, width: usize| -> Option<u64> {
        let field = bytes.get(offset..offset + width)?;
        let mut value = 0u64;
        for (index, byte) in field.iter().enumerate() {
            let shift = if little { index } else { width - 1 - index };
            value |= u64::from(*byte) << (8 * shift);
        }
        Some(value)
    };
    let wide = header.class == ElfClass::Elf64;
    let (phoff, phentsize, phnum) = if wide {
        (read(0x20, 8)?, read(0x36, 2)?, read(0x38, 2)?)
    } else {
        (read(0x1c, 4)?, read(0x2a, 2)?, read(0x2c, 2)?)
    };
    const PT_INTERP: u64 = 3;
    for index in 0..phnum {
        let offset = usize::try_from(phoff.checked_add(index.checked_mul(phentsize)?)?).ok()?;
        if read(offset, 4)? == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_and_dynamic_binaries_are_told_apart() {
        // The host's own tools: a dynamic one, and a static one where the machine has it.
        let read = |path: &str| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::fs::File::open(path).ok()?, &mut bytes).ok()?;
            Some(bytes)
        };
        let dynamic = read("/bin/sh").or_else(|| read("/usr/bin/env")).expect("a binary");
        assert_eq!(is_static(&dynamic), Some(false));
        if let Some(busybox) = read("/bin/busybox") {
            assert_eq!(is_static(&busybox), Some(true), "busybox-static is static");
        }
        assert_eq!(is_static(b"#!/bin/sh\n"), None);
        assert_eq!(is_static(&dynamic[..64]), None, "cut short");
    }

    #[test]
    fn reads_real_header_prefixes() {
        // The first 20 bytes of /bin/true on Debian amd64 and arm64.
        let amd64 = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00";
        let arm64 = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\xb7\x00";
        assert_eq!(ElfHeader::parse(amd64).map(|h| h.goarch()), Ok(Some("amd64")));
        assert_eq!(ElfHeader::parse(arm64).map(|h| h.goarch()), Ok(Some("arm64")));
        let s390x = header_bytes(ElfMachine::S390, ElfClass::Elf64, ElfEndianness::Big);
        assert_eq!(ElfHeader::parse(&s390x).map(|h| h.goarch()), Ok(Some("s390x")));
        let arm = header_bytes(ElfMachine::ARM, ElfClass::Elf32, ElfEndianness::Little);
        let header = ElfHeader::parse(&arm).expect("valid");
        assert_eq!(header.to_string(), "arm (ELF 32-bit LSB, EM_ARM)");
    }

    #[test]
    fn says_what_a_non_elf_file_is() {
        assert_eq!(
            ElfHeader::parse(b"#!/bin/sh\nexec app\n"),
            Err(ElfError::Script { interpreter: "#!/bin/sh".to_owned() })
        );
        assert_eq!(ElfHeader::parse(b"MZ\x90\x00 windows"), Err(ElfError::NotElf));
        assert_eq!(ElfHeader::parse(b"\x7fELF\x02"), Err(ElfError::Truncated { length: 5 }));
        let mut bad = header_bytes(ElfMachine::X86_64, ElfClass::Elf64, ElfEndianness::Little);
        bad[4] = 9;
        assert_eq!(ElfHeader::parse(&bad), Err(ElfError::Invalid { field: "EI_CLASS", value: 9 }));
    }
}
