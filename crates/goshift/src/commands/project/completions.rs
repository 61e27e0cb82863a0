//! `goshift completions SHELL`, and the versions they offer (`goshift __complete`).
//!
//! clap generates the static part (commands, flags). Versions change as toolchains come and
//! go, so each script also asks goshift: installed versions after `use`, `uninstall`/`rm`,
//! `pin`, `verify`, `exec` and `each`, and the index's releases after `install`. In bash and
//! zsh, clap's `_goshift` becomes `_goshift_static` and a new `_goshift` answers version
//! positions first; fish gets extra `complete` lines.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompleteArgs, CompleteWhat, CompletionsArgs};
use crate::commands::toolchain::ToolchainSettings;
use crate::exit::ExitStatus;
use crate::proxy::goshift_executable;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Commands whose first argument is an installed version.
const INSTALLED_FIRST: &str = "use uninstall rm pin verify exec";
/// Commands whose every argument before `--` is an installed version.
const INSTALLED_ALL: &str = "each";

/// Prints the completion script for a shell.
pub(crate) fn completions(
    args: &CompletionsArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let CompletionsArgs { shell } = args;
    let mut script = Vec::new();
    clap_complete::generate(*shell, &mut Cli::command(), "goshift", &mut script);
    let text = String::from_utf8(script)?;
    let exe = goshift_executable()?;
    let text = match shell {
        Shell::Bash => with_versions_bash(&text, &exe),
        Shell::Zsh => with_versions_zsh(&text, &exe),
        Shell::Fish => with_versions_fish(&text, &exe),
        _ => text,
    };
    settings.printer.data(text.trim_end());
    Ok(ExitStatus::Success)
}

/// Prints the versions a completion offers, one a line. Nothing (and success) when there
/// are none or the index cannot be read: a completion never prints errors into a prompt.
pub(crate) fn complete(args: &CompleteArgs, settings: &GlobalSettings) -> ExitStatus {
    let CompleteArgs { what } = *args;
    let words: Vec<String> = match what {
        CompleteWhat::Installed => StoreView::new(&settings.dirs.home)
            .installed_sorted()
            .iter()
            .map(ToString::to_string)
            .collect(),
        CompleteWhat::Remote => ToolchainSettings::resolve(settings)
            .ok()
            .and_then(|toolchain| toolchain.client.fetch_index(&toolchain.sources).ok())
            .map(|index| {
                let mut versions: Vec<_> = index
                    .releases()
                    .iter()
                    .filter(|release| release.stable)
                    .map(|release| release.version.clone())
                    .collect();
                versions.sort_unstable_by(|a, b| b.cmp(a));
                std::iter::once("latest".to_owned())
                    .chain(versions.iter().map(ToString::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    for word in words {
        settings.printer.data(word);
    }
    ExitStatus::Success
}

fn quoted(exe: &Path) -> String {
    format!("'{}'", exe.display().to_string().replace('\'', r"'\''"))
}

/// The shell code that walks the words before the cursor: the subcommand and how many
/// arguments follow it, skipping global options and their values; `--` ends versions.
fn walk(first: usize, words: &str, current: &str) -> String {
    format!(
        "    local __sub=\"\" __what=\"\" __skip=\"\" __word __i __count=0
    for (( __i = {first}; __i < {current}; __i++ )); do
        __word=\"${{{words}[__i]}}\"
        if [[ -n \"$__skip\" ]]; then __skip=\"\"; continue; fi
        case \"$__word\" in
            --) __sub=\"\"; break ;;
            --policy|--env|--color) __skip=1 ;;
            -*) ;;
            *) if [[ -z \"$__sub\" ]]; then __sub=\"$__word\"; else (( __count++ )); fi ;;
        esac
    done
    case \" {INSTALLED_FIRST} \" in
        *\" $__sub \"*) (( __count == 0 )) && __what=installed ;;
    esac
    case \"$__sub\" in
        {INSTALLED_ALL}) __what=installed ;;
        install) __what=remote ;;
    esac
"
    )
}

fn with_versions_bash(script: &str, exe: &Path) -> String {
    let renamed = script.replacen("_goshift() {", "_goshift_static() {", 1);
    format!(
        "{renamed}\n\n# Versions, from goshift itself, where a command takes one.\n_goshift() {{\n{}    local __cur=\"${{COMP_WORDS[COMP_CWORD]}}\"
    if [[ -n \"$__what\" && \"$__cur\" != -* ]]; then
        COMPREPLY=( $(compgen -W \"$({} __complete \"$__what\" 2>/dev/null)\" -- \"$__cur\") )
        return 0
    fi
    _goshift_static \"$@\"
}}\n",
        walk(1, "COMP_WORDS", "COMP_CWORD"),
        quoted(exe)
    )
}

fn with_versions_zsh(script: &str, exe: &Path) -> String {
    let renamed = script.replacen("_goshift() {", "_goshift_static() {", 1);
    let function = format!(
        "# Versions, from goshift itself, where a command takes one.\n_goshift() {{\n{}    if [[ -n \"$__what\" && \"$PREFIX\" != -* ]]; then
        local -a __versions
        __versions=(${{(f)\"$({} __complete $__what 2>/dev/null)\"}})
        compadd -a __versions
        return
    fi
    _goshift_static \"$@\"
}}\n\n",
        walk(2, "words", "CURRENT"),
        quoted(exe)
    );
    // The wrapper must exist before the script's last lines call it or register it.
    match renamed.rfind("if [ \"$funcstack[1]\" = \"_goshift\" ]") {
        Some(tail) => format!("{}{function}{}", &renamed[..tail], &renamed[tail..]),
        None => format!("{renamed}\n{function}"),
    }
}

fn with_versions_fish(script: &str, exe: &Path) -> String {
    let exe = exe
        .display()
        .to_string()
        .replace('\\', r"\\")
        .replace('\'', r"\'");
    format!(
        "{script}\n# Versions, from goshift itself, where a command takes one.\n\
         complete -c goshift -n \"__fish_seen_subcommand_from use uninstall rm pin verify\" -f -a \"('{exe}' __complete installed 2>/dev/null)\"\n\
         complete -c goshift -n \"__fish_seen_subcommand_from exec each\" -a \"('{exe}' __complete installed 2>/dev/null)\"\n\
         complete -c goshift -n \"__fish_seen_subcommand_from install\" -f -a \"('{exe}' __complete remote 2>/dev/null)\"\n"
    )
}
