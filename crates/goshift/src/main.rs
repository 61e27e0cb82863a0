//! The `goshift` binary: parse, run, map the result to an exit code.
//!
//! Invoked as `go`, `gofmt` or `go1.X.Y` (through the links in `$GOSHIFT_HOME/bin`), it is
//! the `go` proxy instead, dispatched before any argument parsing.

mod cli;
mod commands;
mod config;
mod error;
mod exit;
mod goenv;
mod governance;
mod platform;
mod printer;
mod proxy;
mod settings;
mod toolchains;
mod version;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(tool) = args
        .first()
        .and_then(|argv0| proxy::Tool::from_argv0(argv0))
    {
        return proxy::run(&tool, &args).into();
    }
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(error) => {
            error::report(&error);
            exit::ExitStatus::Error.into()
        }
    }
}
