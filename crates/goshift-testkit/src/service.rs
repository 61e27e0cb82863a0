//! The fault-injecting test service (`goshift-test-service`) and its variants.
//!
//! A variant is a copy of the service binary with a trailer line naming it and, optionally,
//! a fault mode; different bytes make a different release, so "v2" and "a faulty v2" are
//! real, distinct binaries for the supervisor.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of a freshly built `goshift-test-service`.
///
/// It is built once per test process with the same `cargo` into its own target directory
/// (`<target>/test-service`), so it never waits for the lock of the build running the tests.
pub fn test_service_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test executable's path");
            // <target>/debug/deps/<test> → <target>
            let target = exe
                .ancestors()
                .nth(3)
                .expect("tests run from <target>/<profile>/deps")
                .to_owned();
            let target_dir = target.join("test-service");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--bin",
                    "goshift-test-service",
                    "--manifest-path",
                ])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target_dir)
                .status()
                .expect("failed to run cargo to build the test service");
            assert!(status.success(), "building goshift-test-service failed");
            target_dir.join("debug").join("goshift-test-service")
        })
        .clone()
}

/// Writes a variant of the test service to `dir/name`: the binary plus a trailer with its
/// name and fault mode (`None` for a healthy one).
pub fn service_variant(dir: &Path, name: &str, fault: Option<&str>) -> PathBuf {
    let mut bytes = std::fs::read(test_service_binary()).expect("reading the test service");
    let mut trailer = Vec::new();
    writeln!(
        trailer,
        "\n#goshift-test-variant name={name} fault={}",
        fault.unwrap_or("")
    )
    .expect("writing to a Vec");
    bytes.extend_from_slice(&trailer);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writing the variant");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("making the variant executable");
    path
}
