//! Every container, word size, byte order and blob form.

use goshift_binary::{ExecutableFormat, read_build_info_from_bytes};
use goshift_testkit::gobinary::{Container, GoBinary};

pub(crate) const MODINFO: &str = "path\texample.com/app/cmd/app\n\
mod\texample.com/app\tv1.2.3\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
dep\tgolang.org/x/net\tv0.17.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
dep\texample.com/old\tv1.0.0\n\
=>\texample.com/fork\tv1.0.1\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
build\t-buildmode=exe\n\
build\t-compiler=gc\n\
build\t-ldflags=\"-s -w -X main.version=1\"\n\
build\tCGO_ENABLED=0\n\
build\tGOARCH=amd64\n\
build\tGOOS=linux\n\
build\tvcs=git\n\
build\tvcs.revision=c7ea7c975ab86e174b22b585c63b43bcc86e8772\n\
build\tvcs.modified=true\n";

const GO_VERSION_M: &str = "app: go1.21.2\n\
\tpath\texample.com/app/cmd/app\n\
\tmod\texample.com/app\tv1.2.3\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
\tdep\tgolang.org/x/net\tv0.17.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
\tdep\texample.com/old\tv1.0.0\n\
\t=>\texample.com/fork\tv1.0.1\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
\t\n\
\tbuild\t-buildmode=exe\n\
\tbuild\t-compiler=gc\n\
\tbuild\t-ldflags=\"-s -w -X main.version=1\"\n\
\tbuild\tCGO_ENABLED=0\n\
\tbuild\tGOARCH=amd64\n\
\tbuild\tGOOS=linux\n\
\tbuild\tvcs=git\n\
\tbuild\tvcs.revision=c7ea7c975ab86e174b22b585c63b43bcc86e8772\n\
\tbuild\tvcs.modified=true\n";

fn variants() -> Vec<GoBinary> {
    GoBinary::variants("go1.21.2", MODINFO)
}

#[test]
fn every_variant_reads_the_same_build_info() {
    for binary in variants() {
        let bytes = binary.build();
        let info = read_build_info_from_bytes(&bytes).unwrap_or_else(|e| panic!("{binary:?}: {e}"));
        assert_eq!(info.go_version, "go1.21.2", "{binary:?}");
        assert_eq!(info.go_version_m("app"), GO_VERSION_M, "{binary:?}");
        let expected_format = match binary.container {
            Container::Elf | Container::ElfNoSections => ExecutableFormat::Elf,
            Container::MachO | Container::FatMachO => ExecutableFormat::MachO,
            Container::Pe => ExecutableFormat::Pe,
        };
        assert_eq!(info.format, expected_format);
        assert_eq!(info.build_id, binary.build_id, "{binary:?}");
        let main = info.main_module().unwrap();
        assert_eq!(main.path, "example.com/app");
        assert_eq!(info.modinfo.deps[1].effective().path, "example.com/fork");
        assert_eq!(info.setting("-ldflags"), Some("-s -w -X main.version=1"));
        assert!(info.vcs_modified());
    }
}

#[test]
fn a_binary_without_modules_has_only_a_version() {
    let binary = GoBinary::new(Container::Elf, "go1.19.8", "");
    let info = read_build_info_from_bytes(&binary.build()).unwrap();
    assert_eq!(info.go_version, "go1.19.8");
    assert!(info.main_module().is_none());
    assert_eq!(info.go_version_m("x"), "x: go1.19.8\n");
}

#[test]
fn a_goroot_command_has_a_path_but_no_module() {
    let modinfo = "path\tcmd/go\nbuild\t-compiler=gc\nbuild\tCGO_ENABLED=1\n";
    let binary = GoBinary::new(Container::Elf, "go1.22.10", modinfo);
    let info = read_build_info_from_bytes(&binary.build()).unwrap();
    assert_eq!(
        info.go_version_m("go"),
        "go: go1.22.10\n\tpath\tcmd/go\n\tbuild\t-compiler=gc\n\tbuild\tCGO_ENABLED=1\n"
    );
}

#[test]
fn a_devel_main_module_keeps_its_trailing_tab() {
    let modinfo =
        "path\tsnippets\nmod\tsnippets\t(devel)\t\nbuild\tCGO_ENABLED=1\nbuild\tCGO_CFLAGS=\n";
    let binary = GoBinary::new(Container::MachO, "go1.21.7", modinfo);
    let info = read_build_info_from_bytes(&binary.build()).unwrap();
    assert_eq!(
        info.go_version_m("main"),
        "main: go1.21.7\n\tpath\tsnippets\n\tmod\tsnippets\t(devel)\t\n\tbuild\tCGO_ENABLED=1\n\tbuild\tCGO_CFLAGS=\n"
    );
}

#[test]
fn a_binary_without_build_id_reads_fine() {
    for container in [Container::Elf, Container::MachO, Container::Pe] {
        let binary = GoBinary {
            build_id: None,
            ..GoBinary::new(container, "go1.22.10", MODINFO)
        };
        let info = read_build_info_from_bytes(&binary.build()).unwrap();
        assert_eq!(info.build_id, None, "{container:?}");
    }
}

#[test]
fn goexperiment_versions_are_kept_whole() {
    let binary = GoBinary::new(Container::Elf, "go1.21.3 X:loopvar", MODINFO);
    let info = read_build_info_from_bytes(&binary.build()).unwrap();
    assert_eq!(info.go_version, "go1.21.3 X:loopvar");
}

/// An XCOFF file laid out as Go's linker writes one for aix/ppc64 (64-bit, big-endian): a
/// file header, an auxiliary header, `.text`, `.data` holding the build information, `.bss`.
fn xcoff64(blob: &[u8], data_address: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let optional_size: u16 = 120;
    out.extend_from_slice(&0x01f7_u16.to_be_bytes());
    out.extend_from_slice(&3_u16.to_be_bytes());
    out.extend_from_slice(&[0; 12]); // time, symbol table offset
    out.extend_from_slice(&optional_size.to_be_bytes());
    out.extend_from_slice(&[0; 6]); // flags, symbol count
    out.resize(24 + usize::from(optional_size), 0);
    let table_end = out.len() + 3 * 72;
    let text_offset = u64::try_from(table_end).unwrap();
    let text = b"text marker bytes";
    let data_offset = text_offset + u64::try_from(text.len()).unwrap();
    let data_size = u64::try_from(blob.len()).unwrap();
    for (name, address, size, offset, flags) in [
        (
            *b".text\0\0\0",
            0x1_0000_0000_u64,
            text.len() as u64,
            text_offset,
            0x20_u32,
        ),
        (*b".data\0\0\0", data_address, data_size, data_offset, 0x40),
        (*b".bss\0\0\0\0", data_address + data_size, 64, 0, 0x80),
    ] {
        out.extend_from_slice(&name);
        out.extend_from_slice(&address.to_be_bytes()); // physical
        out.extend_from_slice(&address.to_be_bytes()); // virtual
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&[0; 24]); // relocations, line numbers, their counts
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
    }
    out.extend_from_slice(text);
    out.extend_from_slice(blob);
    out
}

/// A Plan 9 a.out for amd64: the 40-byte expanded header, text, then data holding the build
/// information; addresses are file offsets.
fn plan9_amd64(blob: &[u8]) -> Vec<u8> {
    let text = b"text marker bytes";
    let mut out = Vec::new();
    let magic: u32 = (4 * 26) * 26 + 7 + 0x8000;
    for word in [
        magic,
        u32::try_from(text.len()).unwrap(),
        u32::try_from(blob.len()).unwrap(),
        0,
        0,
        0,
        0,
        0,
    ] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&0x20_0028_u64.to_be_bytes());
    out.extend_from_slice(text);
    out.extend_from_slice(blob);
    out
}

/// `go version -m` reads XCOFF (aix) and Plan 9 executables; so does goshift.
#[test]
fn xcoff_and_plan9_executables() {
    let binary = GoBinary::new(Container::Elf, "go1.21.2", MODINFO);
    let data_address = 0x2_0000_0000;
    let xcoff = xcoff64(&binary.blob(data_address), data_address);
    let info = read_build_info_from_bytes(&xcoff).unwrap();
    assert_eq!(info.format, ExecutableFormat::Xcoff);
    assert_eq!(info.go_version_m("app"), GO_VERSION_M);
    // The data section starts after a 40-byte header and 17 bytes of text.
    let plan9 = plan9_amd64(&binary.blob(40 + 17));
    let info = read_build_info_from_bytes(&plan9).unwrap();
    assert_eq!(info.format, ExecutableFormat::Plan9);
    assert_eq!(info.go_version_m("app"), GO_VERSION_M);
    // A truncated section table is a damaged XCOFF file, not "not a Go binary".
    let error = read_build_info_from_bytes(&xcoff[..200]).unwrap_err();
    assert!(!error.is_not_go(), "{error}");
    assert!(
        error.to_string().starts_with("malformed XCOFF file"),
        "{error}"
    );
}
