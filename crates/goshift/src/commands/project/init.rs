//! `goshift init bash|zsh|fish`: the lines a shell's startup file evaluates.
//!
//! They put `$GOSHIFT_HOME/bin` (the `go` proxies) first on `PATH` and load completions. No
//! `cd` hook is needed: the proxies resolve the toolchain per directory each time `go` runs.
//!
//! bash and zsh remember where they found a command. A shell that ran a system `go` before
//! goshift created its proxy keeps running the system one, so bash and zsh get a hook: before
//! each prompt, and after each `goshift` run through the shell function of the same name,
//! they forget a remembered `go` or `gofmt` that is not goshift's once goshift's exists. The
//! check reads the shell's own table (no process is started), so a prompt stays instant.

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
            let (name, remembered, forget, hook, completions) = if shell == InitShell::Bash {
                (
                    "bash",
                    "BASH_CMDS",
                    "hash -d \"$__goshift_tool\"",
                    "case \";${PROMPT_COMMAND[*]-};\" in\n  *\";__goshift_forget;\"*) ;;\n  *) PROMPT_COMMAND=\"__goshift_forget${PROMPT_COMMAND:+;$PROMPT_COMMAND}\" ;;\nesac\nhash -r".to_owned(),
                    format!(
                        "if [ -n \"${{BASH_VERSION:-}}\" ]; then\n  eval \"$({exe} completions bash)\"\nfi"
                    ),
                )
            } else {
                (
                    "zsh",
                    "commands",
                    "unhash \"$__goshift_tool\"",
                    "precmd_functions=(${precmd_functions:#__goshift_forget} __goshift_forget)\nrehash".to_owned(),
                    // Before `compinit` there is no `compdef`: load completions at the first
                    // prompt after `compinit` has run (usually later in ~/.zshrc).
                    format!(
                        "if (( $+functions[compdef] )); then\n  eval \"$({exe} completions zsh)\"\n\
                         else\n  __goshift_completions() {{\n    (( $+functions[compdef] )) || return 0\n    \
                         precmd_functions=(${{precmd_functions:#__goshift_completions}})\n    \
                         eval \"$({exe} completions zsh)\"\n  }}\n  \
                         precmd_functions+=(__goshift_completions)\nfi"
                    ),
                )
            };
            format!(
                "# goshift: its `go` proxies first on PATH, a hook that keeps the shell from running\n\
                 # a `go` it remembered from elsewhere once goshift has its own, then completions.\n\
                 case \":${{PATH}}:\" in\n  :{bin}:*) ;;\n  *) export PATH={bin}\":${{PATH}}\" ;;\nesac\n\
                 __goshift_bin={bin}\n\
                 __goshift_forget() {{\n\
                 \x20 local __goshift_tool\n\
                 \x20 for __goshift_tool in go gofmt; do\n\
                 \x20   if [[ -n \"${{{remembered}[$__goshift_tool]-}}\" && \"${{{remembered}[$__goshift_tool]}}\" != \"$__goshift_bin/$__goshift_tool\" && -x \"$__goshift_bin/$__goshift_tool\" ]]; then\n\
                 \x20     {forget}\n\
                 \x20   fi\n\
                 \x20 done\n\
                 }}\n\
                 goshift() {{\n\
                 \x20 GOSHIFT_SHELL_HOOK={name} command {exe} \"$@\"\n\
                 \x20 local __goshift_status=$?\n\
                 \x20 __goshift_forget\n\
                 \x20 return $__goshift_status\n\
                 }}\n\
                 {hook}\n{completions}"
            )
        }
        InitShell::Fish => {
            let bin = fish_quote(&bin.display().to_string());
            let exe = fish_quote(&exe.display().to_string());
            // fish looks commands up on every run, so it needs no hook.
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
