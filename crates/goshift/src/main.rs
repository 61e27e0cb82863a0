//! The `goshift` binary: parse, run, map the result to an exit code.

mod cli;
mod commands;
mod error;
mod exit;
mod governance;
mod printer;
mod settings;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(error) => {
            error::report(&error);
            exit::ExitStatus::Error.into()
        }
    }
}
