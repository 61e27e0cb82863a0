//! `goshift env`: shell lines for the default toolchain.

use super::{ToolchainSettings, store_error};
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints `export PATH=…` and `export GOROOT=…` for the default toolchain. The lines name
/// the `default` link, so a later `goshift use` takes effect without re-running this.
pub(crate) fn env(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let store = &toolchain.store;
    let Some(version) = store.default_version().map_err(|e| store_error(e, None))? else {
        return Err(hinted(
            "there is no default toolchain",
            "install one with `goshift install latest`, or pick one with `goshift use VERSION`",
        ));
    };
    let goroot = store.default_link();
    let bin = goroot.join("bin");
    let printer = &settings.printer;
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
