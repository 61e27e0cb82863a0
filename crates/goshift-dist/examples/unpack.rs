//! Unpacks a local Go archive the way `goshift install` does, for measuring throughput.
//!
//! `cargo run --release -p goshift-dist --example unpack -- ARCHIVE DEST [SHA256]`
//! DEST must be an existing empty directory. Exits non-zero with the error chain on failure.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use goshift_dist::{Expected, unpack};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(archive), Some(dest)) = (args.next(), args.next()) else {
        report("usage: unpack ARCHIVE DEST [SHA256]");
        return ExitCode::from(2);
    };
    let sha256 = args.next().and_then(|s| s.into_string().ok());
    let archive = PathBuf::from(archive);
    let result = std::fs::File::open(&archive)
        .map_err(|error| format!("cannot open {}: {error}", archive.display()))
        .and_then(|file| {
            let size = file.metadata().map(|meta| meta.len()).ok();
            let expected = Expected {
                sha256,
                size,
                version: None,
            };
            unpack(file, &expected, &PathBuf::from(dest), None, &mut |_| {}).map_err(|error| {
                let mut text = error.to_string();
                let mut source = error.source();
                while let Some(cause) = source {
                    text = format!("{text}\n  caused by: {cause}");
                    source = cause.source();
                }
                text
            })
        });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            report(&message);
            ExitCode::FAILURE
        }
    }
}

fn report(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "error: {message}");
}
