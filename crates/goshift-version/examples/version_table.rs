//! Answers the version table of the real tier (`scripts/e2e/41-go-rules.sh`) the way Go's
//! `go/version` package does, from [`GoVersion`]: reads `P<TAB>version` or `-<TAB>version`
//! lines on stdin and prints, per line, `valid<TAB>lang`, then for every `P` line a row of
//! `-`, `0` or `+`: how it compares with every `P` line. The part diffs this output with the
//! same table printed by a Go program using `go/version`.
//!
//! `go/version` spells versions with the `go` prefix only, and orders an invalid version
//! before every valid one and equal to the other invalid ones; both are applied here on top
//! of [`GoVersion::parse`], which also accepts the prefix-less form.

use std::cmp::Ordering;
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use goshift_version::GoVersion;

fn go_version(text: &str) -> Option<GoVersion> {
    text.starts_with("go")
        .then(|| GoVersion::parse(text).ok())
        .flatten()
}

#[expect(
    clippy::print_stderr,
    reason = "a command-line example reports bad input on stderr"
)]
fn main() -> ExitCode {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut pairs = Vec::new();
    for line in stdin.lines() {
        let Ok(line) = line else {
            eprintln!("version_table: stdin is not UTF-8 text");
            return ExitCode::from(2);
        };
        let Some((flag, text)) = line.split_once('\t') else {
            eprintln!("version_table: malformed input line {line:?}");
            return ExitCode::from(2);
        };
        let version = go_version(text);
        let lang = version
            .as_ref()
            .map(|v| format!("go{}", v.lang()))
            .unwrap_or_default();
        if writeln!(out, "{}\t{lang}", version.is_some()).is_err() {
            return ExitCode::from(2);
        }
        if flag == "P" {
            pairs.push(version);
        }
    }
    let mut row = Vec::with_capacity(pairs.len() + 1);
    for x in &pairs {
        row.clear();
        row.extend(pairs.iter().map(|y| match x.cmp(y) {
            Ordering::Less => b'-',
            Ordering::Equal => b'0',
            Ordering::Greater => b'+',
        }));
        row.push(b'\n');
        if out.write_all(&row).is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
