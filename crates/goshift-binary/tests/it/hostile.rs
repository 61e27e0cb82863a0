//! Damaged, truncated and random input: a clear error, never a panic.

use goshift_binary::{ReadError, read_build_info, read_build_info_from_bytes};
use goshift_testkit::gobinary::{Container, GoBinary};
use proptest::prelude::*;

use crate::formats::MODINFO;

fn sample(container: Container, wide: bool, pointer_form: bool) -> Vec<u8> {
    GoBinary {
        wide,
        pointer_form,
        ..GoBinary::new(container, "go1.22.10", MODINFO)
    }
    .build()
}

#[test]
fn not_executables_are_not_go_binaries() {
    for bytes in [
        b"".as_slice(),
        b"#!/bin/sh\necho hi\n",
        b"MZ",
        b"MZ this is a DOS stub without a PE header at all........................",
        b"\x7fELF",
        &[0u8; 4096],
    ] {
        match read_build_info_from_bytes(bytes) {
            Err(error) => assert!(
                error.is_not_go() || matches!(error, ReadError::Malformed { .. }),
                "{error}"
            ),
            Ok(info) => panic!("read {info:?} from {bytes:?}"),
        }
    }
    assert_eq!(
        read_build_info_from_bytes(b"hello world").unwrap_err(),
        ReadError::UnknownFormat
    );
}

#[test]
fn every_truncation_fails_cleanly() {
    for container in [
        Container::Elf,
        Container::MachO,
        Container::FatMachO,
        Container::Pe,
    ] {
        let bytes = sample(container, true, false);
        for len in (0..bytes.len()).step_by(7) {
            // Must not panic; an error or (for cuts after the blob) a result are both fine.
            let _ = read_build_info_from_bytes(&bytes[..len]);
        }
        // Cutting inside the blob loses the build information.
        let blob = goshift_binary::find_magic(&bytes).unwrap();
        let error = read_build_info_from_bytes(&bytes[..blob + 40]).unwrap_err();
        assert!(
            error.is_not_go() || matches!(error, ReadError::Malformed { .. }),
            "{error}"
        );
    }
}

#[test]
fn a_bad_modinfo_line_is_reported_with_its_number() {
    let binary = GoBinary::new(
        Container::Elf,
        "go1.22.10",
        "path\tx\nbuild\tkey=two words\n",
    );
    let error = read_build_info_from_bytes(&binary.build()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "could not parse Go build info: line 2: unquoted value \"two words\" must be quoted"
    );
}

#[test]
fn huge_counts_and_offsets_are_refused() {
    let mut bytes = sample(Container::Elf, true, false);
    // e_phoff far beyond the end of the file.
    bytes[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        read_build_info_from_bytes(&bytes),
        Err(ReadError::Malformed { .. })
    ));
    let mut bytes = sample(Container::MachO, true, false);
    // ncmds = u32::MAX.
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(read_build_info_from_bytes(&bytes).is_err());
}

#[test]
fn pointer_form_with_dangling_pointers_is_not_go() {
    let mut bytes = sample(Container::Elf, true, true);
    let blob = goshift_binary::find_magic(&bytes).unwrap();
    // The version pointer now points nowhere.
    bytes[blob + 16..blob + 24].copy_from_slice(&0xdead_beef_u64.to_le_bytes());
    assert_eq!(
        read_build_info_from_bytes(&bytes).unwrap_err(),
        ReadError::NoBuildInfo
    );
}

#[test]
fn files_that_are_not_regular_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = read_build_info(dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("is not a regular file"),
        "{error}"
    );
    let error = read_build_info(dir.path().join("missing")).unwrap_err();
    assert!(error.to_string().starts_with("failed to read"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_build_info_from_bytes(&bytes);
    }

    #[test]
    fn corrupted_binaries_never_panic(
        container in prop_oneof![
            Just(Container::Elf), Just(Container::ElfNoSections), Just(Container::MachO),
            Just(Container::FatMachO), Just(Container::Pe)
        ],
        wide in any::<bool>(),
        pointer_form in any::<bool>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let mut bytes = sample(container, wide, pointer_form);
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        let _ = read_build_info_from_bytes(&bytes);
    }
}
