//! `goshift init bash|zsh|fish`: the lines a shell's startup file evaluates.
//!
//! They put `$GOSHIFT_HOME/bin` (the `go` proxies) first on `PATH` and load completions. No
//! `cd` hook is needed: the proxies resolve the toolchain per directory each time `go` runs.

use std::path::Path;

use crate::cli::{InitArgs, InitShell};
use crate::exit::ExitStatus;
use crate::proxy::goshift_executable;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Prints the setup script for a shell.
pub(crate) fn init(args: &InitArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let InitArgs { shell } = *args;
    let bin = StoreView::new(&settings.dirs.home).bin_dir();
    let exe = goshift_executable()?;
    settings.printer.data(script(shell, &bin, &exe));
    Ok(ExitStatus::Success)
}

fn script(shell: InitShell, bin: &Path, exe: &Path) -> String {
    match shell {
        InitShell::Bash | InitShell::Zsh => {
            let bin = posix_quote(&bin.display().to_string());
            let exe = posix_quote(&exe.display().to_string());
            let (rehash, completions) = if shell == InitShell::Bash {
                (
                    "hash -r",
                    format!(
                        "if [ -n \"${{BASH_VERSION:-}}\" ]; then\n  eval \"$({exe} completions bash)\"\nfi"
                    ),
                )
            } else {
                (
                    "rehash",
                    format!(
                        "if (( $+functions[compdef] )); then\n  eval \"$({exe} completions zsh)\"\nfi"
                    ),
                )
            };
            format!(
                "# goshift: its `go` proxies first on PATH, then completions.\n\
                 case \":${{PATH}}:\" in\n  :{bin}:*) ;;\n  *) export PATH={bin}\":${{PATH}}\" ;;\nesac\n\
                 {rehash}\n{completions}"
            )
        }
        InitShell::Fish => {
            let bin = fish_quote(&bin.display().to_string());
            let exe = fish_quote(&exe.display().to_string());
            format!(
                "# goshift: its `go` proxies first on PATH, then completions.\n\
                 set -gx PATH {bin} (string match -v -- {bin} $PATH)\n\
                 {exe} completions fish | source"
            )
        }
    }
}

/// Single-quotes `text` for bash and zsh.
fn posix_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Single-quotes `text` for fish, where `\` and `'` are escaped inside quotes.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths() {
        assert_eq!(posix_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(fish_quote(r"/a\b/it's"), r"'/a\\b/it\'s'");
        let text = script(
            InitShell::Bash,
            Path::new("/h/bin"),
            Path::new("/x/goshift"),
        );
        assert!(text.contains("export PATH='/h/bin'\":${PATH}\""), "{text}");
    }
}
