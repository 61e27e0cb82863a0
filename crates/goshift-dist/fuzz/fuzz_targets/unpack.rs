//! Fuzzes the archive extractor.
//!
//! The first input byte picks the layer under test: odd values gzip the rest first, so the
//! fuzzer explores the tar layer (headers, links, paths); even values feed the bytes as they
//! are, exploring the gzip layer. Whatever the input, extraction must not panic, must never
//! write outside the destination, and on success its manifest must equal `hash_tree` of
//! what is on disk.
#![no_main]

use std::io::Write;

use goshift_dist::{Expected, hash_tree, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 1 {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(rest).expect("writing to a Vec cannot fail");
        encoder.finish().expect("writing to a Vec cannot fail")
    } else {
        rest.to_vec()
    };
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let dest = scratch.path().join("dest");
    std::fs::create_dir(&dest).expect("the destination directory");
    let cache = scratch.path().join("cache");
    let result = unpack(&bytes[..], &Expected::default(), &dest, Some(&cache), &mut |_| {});
    // Nothing but `dest` (and the cache file on success) may exist next to `dest`.
    let mut siblings: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("listing the scratch directory")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    siblings.sort();
    match result {
        Ok(unpacked) => {
            assert_eq!(siblings, ["cache", "dest"]);
            let on_disk = hash_tree(&dest).expect("hashing the extracted tree");
            assert_eq!(unpacked.entries, on_disk);
        }
        Err(_) => assert_eq!(siblings, ["dest"]),
    }
});
