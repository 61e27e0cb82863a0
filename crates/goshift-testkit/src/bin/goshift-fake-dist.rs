//! Writes a go.dev-style distribution of fake Go toolchains into a directory, for scripts
//! that need many fast installs (`scripts/kill-trials.sh`): one archive per version, for this
//! machine's platform, and `index.json` listing them with their SHA-256 and size.
//!
//! Usage: `goshift-fake-dist DIR VERSION...`; point `GOSHIFT_INDEX_URL` at
//! `file://DIR/index.json`.
#![expect(
    clippy::print_stderr,
    reason = "a test program reporting its own failures"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use goshift_testkit::archive::fake_go;
use goshift_testkit::mirror::{IndexEntry, index_json};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: goshift-fake-dist DIR VERSION...");
        return ExitCode::from(2);
    };
    let versions: Vec<String> = args.map(|v| v.to_string_lossy().into_owned()).collect();
    if versions.is_empty() {
        eprintln!("goshift-fake-dist: error: name at least one version (`1.22.10`)");
        return ExitCode::from(2);
    }
    let mut entries = Vec::new();
    for version in &versions {
        let bytes = fake_go(version);
        let entry = IndexEntry::host_archive(version, &bytes);
        let path = dir.join(&entry.filename);
        if let Err(error) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &bytes))
        {
            eprintln!(
                "goshift-fake-dist: error: failed to write `{}`: {error}",
                path.display()
            );
            return ExitCode::from(2);
        }
        entries.push(entry);
    }
    let index = dir.join("index.json");
    if let Err(error) = std::fs::write(&index, index_json(&entries)) {
        eprintln!(
            "goshift-fake-dist: error: failed to write `{}`: {error}",
            index.display()
        );
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
