//! `goshift env`: shell lines for scripts and non-interactive shells.
//!
//! By default the same `PATH` line as `goshift init`, without the interactive parts: the
//! proxies come first, `go` resolves per project, and `GOROOT` stays unset (the proxy sets it
//! for the toolchain it runs), so `goshift doctor` finds nothing to complain about.
//! `--default-toolchain` prints the older setup that pins the default toolchain's own
//! directory.

use super::ToolchainSettings;
use crate::cli::toolchain::EnvArgs;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the `export` lines.
pub(crate) fn env(
    args: &EnvArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let EnvArgs { default_toolchain } = *args;
    let store = &toolchain.store;
    let printer = &settings.printer;
    if !default_toolchain {
        let bin = store.bin_dir();
        if !bin.join("go").exists() {
            printer.warn(format!(
                "there is no `go` proxy in `{}` yet; install a toolchain with `goshift install latest`",
                bin.display()
            ));
        }
        if printer.json() {
            printer.json_value(&serde_json::json!({ "PATH": bin }))?;
        } else {
            let bin = shell_quote(&bin.display().to_string());
            printer.data(format!(
                "case \":${{PATH}}:\" in *:{bin}:*) ;; *) export PATH={bin}\":${{PATH}}\" ;; esac"
            ));
        }
        return Ok(ExitStatus::Success);
    }
    let Some(version) = store.default_version()? else {
        return Err(hinted(
            "there is no default toolchain",
            "install one with `goshift install latest`, or pick one with `goshift use VERSION`",
        ));
    };
    let goroot = store.default_link();
    let bin = goroot.join("bin");
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "version": version,
            "GOROOT": goroot,
            "PATH": bin,
        }))?;
    } else {
        printer.data(format!(
            "export PATH={}:\"$PATH\"",
            shell_quote(&bin.display().to_string())
        ));
        printer.data(format!(
            "export GOROOT={}",
            shell_quote(&goroot.display().to_string())
        ));
    }
    Ok(ExitStatus::Success)
}

/// Quotes `text` for POSIX shells (single quotes; `'` becomes `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
