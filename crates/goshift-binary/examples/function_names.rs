//! Prints the functions of a Go binary's pclntab, one `package.symbol` per line, as
//! `goshift_binary::symbols` splits them; the real tier compares them with `go tool nm`.

use std::io::Write as _;
use std::process::ExitCode;

#[expect(
    clippy::print_stderr,
    reason = "a command-line example reports bad input on stderr"
)]
fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: function_names BINARY");
        return ExitCode::from(2);
    };
    match goshift_binary::symbols::read_symbols(std::path::Path::new(&path)) {
        Ok(Some(symbols)) => {
            let mut out = std::io::stdout().lock();
            for name in symbols.names() {
                if writeln!(out, "{name}").is_err() {
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("function_names: no pclntab found");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("function_names: {error}");
            ExitCode::from(2)
        }
    }
}
