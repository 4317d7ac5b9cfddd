//! The smallest real executables: an ELF header, one loadable segment and an `exit(0)`.
//!
//! The amd64 and arm64 programs are real (the amd64 one runs on an amd64 host); other
//! architectures get a correct header, which is all a checker reads.

use slipway_core::elf::header_bytes;
use slipway_core::platform::Architecture;

const BASE: u64 = 0x40_0000;
const CODE_OFFSET: u64 = 64 + 56;

/// An executable for `goarch` (`amd64`, `arm64`, `s390x`, ...).
///
/// # Panics
///
/// When slipway does not know the architecture.
pub fn executable(goarch: &str) -> Vec<u8> {
    let architecture = Architecture::from_goarch(goarch).unwrap_or_else(|| panic!("unknown architecture {goarch}"));
    let (machine, class, endianness) = architecture.elf;
    let code: &[u8] = match goarch {
        // mov eax, 60; xor edi, edi; syscall
        "amd64" => &[0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05],
        // mov x8, #93; mov x0, #0; svc #0
        "arm64" => &[0xa8, 0x0b, 0x80, 0xd2, 0x00, 0x00, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4],
        _ => {
            let mut bytes = header_bytes(machine, class, endianness).to_vec();
            bytes.resize(64, 0);
            return bytes;
        }
    };
    let total = CODE_OFFSET + code.len() as u64;
    let mut bytes = header_bytes(machine, class, endianness).to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes()); // e_version
    bytes.extend_from_slice(&(BASE + CODE_OFFSET).to_le_bytes()); // e_entry
    bytes.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    bytes.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    bytes.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    bytes.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    bytes.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    bytes.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    bytes.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    bytes.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    bytes.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    bytes.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    bytes.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    bytes.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    bytes.extend_from_slice(&total.to_le_bytes()); // p_filesz
    bytes.extend_from_slice(&total.to_le_bytes()); // p_memsz
    bytes.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    bytes.extend_from_slice(code);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_core::elf::ElfHeader;

    #[test]
    fn headers_name_their_architecture() {
        for goarch in ["amd64", "arm64", "s390x", "ppc64le", "arm"] {
            let header = ElfHeader::parse(&executable(goarch)).expect("an ELF header");
            assert_eq!(header.goarch(), Some(goarch));
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn the_amd64_program_runs() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("exit0");
        fs_err::write(&path, executable("amd64")).expect("write program");
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("make executable");
        let status = std::process::Command::new(&path).status().expect("run program");
        assert!(status.success(), "{status}");
    }
}
