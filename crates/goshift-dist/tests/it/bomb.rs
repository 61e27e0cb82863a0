//! Bounded work before trust: an archive that inflates far beyond its size is stopped early,
//! and a hash mismatch is reported as such even when the disk filled first.

use goshift_dist::{DistError, Expected, GoVersion};
use goshift_testkit::archive::TarBuilder;
use goshift_testkit::mirror::sha256_hex;

use crate::unpack_bytes;

/// Bytes of disk used under `dir`, recursively (allocated blocks: a preallocated file's
/// length says nothing about what was written).
fn written(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|entry| {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                written(&entry.path())
            } else {
                metadata.len()
            }
        })
        .sum()
}

/// A distribution with a 256 MiB file of zeros: a few hundred KiB compressed.
fn bomb() -> Vec<u8> {
    let mut tar = TarBuilder::new();
    tar.dir("go/", 0o755)
        .file("go/VERSION", 0o644, b"go1.22.10\n")
        .file("go/pkg/zeros", 0o644, &vec![0u8; 256 << 20]);
    tar.tar_gz()
}

#[test]
fn a_bomb_with_another_hash_is_stopped_early_and_reported_as_a_checksum_mismatch() {
    let bomb = bomb();
    // What a hostile mirror does: the index's size, another payload.
    let expected = Expected {
        sha256: Some(sha256_hex(b"the real archive")),
        size: Some(bomb.len() as u64),
        version: Some(GoVersion::parse("1.22.10").unwrap()),
    };
    let (scratch, result) = unpack_bytes(&bomb, &expected);
    assert!(
        matches!(result, Err(DistError::ChecksumMismatch { .. })),
        "{result:?}"
    );
    // Stopped at 8 times the archive's size (at least 8 MiB), not after 256 MiB.
    let bound = (bomb.len() as u64).max(1 << 20) * 8;
    let on_disk = written(&scratch.dest());
    assert!(
        on_disk <= bound + (4 << 20),
        "{on_disk} bytes written, bound {bound}"
    );
    assert!(
        scratch.cache_listing().is_empty(),
        "{:?}",
        scratch.cache_listing()
    );
}

#[test]
fn a_bomb_the_index_vouches_for_is_named_as_suspect() {
    let bomb = bomb();
    let expected = crate::expect_exact(&bomb, "1.22.10");
    let (scratch, result) = unpack_bytes(&bomb, &expected);
    let Err(error @ DistError::Inflated { .. }) = result else {
        panic!("expected the archive to be refused as inflating too much, got {result:?}");
    };
    let message = error.to_string();
    assert!(message.contains("the archive is suspect"), "{message}");
    assert!(message.contains("8 times its size"), "{message}");
    let bound = (bomb.len() as u64).max(1 << 20) * 8;
    let on_disk = written(&scratch.dest());
    assert!(
        on_disk <= bound + (4 << 20),
        "{on_disk} bytes written, bound {bound}"
    );
}
