//! Any bytes: container parsing, blob search and decoding must return, never panic; and
//! reading the same bytes from a file, piece by piece with `pread`, must give the same answer.
#![no_main]

use std::io::Write as _;

use goshift_binary::{Error, read_build_info, read_build_info_from_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let from_bytes = read_build_info_from_bytes(data);
    if let Ok(info) = &from_bytes {
        // Whatever was read must render.
        let _ = info.go_version_m("fuzz");
    }
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("writing the temporary file");
    let from_file = match read_build_info(file.path()) {
        Ok(info) => Ok(info),
        Err(Error::Read { source, .. }) => Err(source.to_string()),
        Err(other) => panic!("reading the file failed: {other}"),
    };
    assert_eq!(from_file, from_bytes.map_err(|error| error.to_string()));
});
