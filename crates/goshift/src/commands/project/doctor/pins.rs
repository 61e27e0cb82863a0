//! Whether a pin (`.go-version`, `.tool-versions`) fights the module's go.mod: a pin below its `go` line breaks the
//! build, and a pin that differs from its `toolchain` line silently overrides the updates
//! Renovate and Dependabot make to that line.

use goshift_project::show_path;

use super::{Class, Finding, Severity};
use crate::commands::project::pin::{module_file, nearest_pin, overrides_message};
use crate::settings::GlobalSettings;

const CHECK: &str = "pin";

/// The finding about the pin of the working directory, when there is a pin and a module.
pub(super) fn pin_against_module(settings: &GlobalSettings) -> Option<Finding> {
    let pin = nearest_pin(settings).ok()??;
    let module = module_file(settings).ok()??;
    let pin_file = show_path(&pin.path, &settings.cwd);
    let module_path = show_path(&module.path, &settings.cwd);
    let minimum = module.minimum();
    if pin.version < minimum {
        return Some(Finding::problem(
            Severity::Error,
            Class::Configuration,
            CHECK,
            format!(
                "{pin_file} pins {}, below the `go {minimum}` line of {module_path}; builds here fail",
                pin.version.toolchain_name()
            ),
            format!("goshift pin {}", minimum.lang()),
        ));
    }
    if let Some(toolchain) = module.toolchain()
        && toolchain != pin.version
    {
        return Some(Finding::problem(
            Severity::Warning,
            Class::Configuration,
            CHECK,
            overrides_message(
                settings,
                pin.name(),
                &pin.version,
                Some(&module),
                &toolchain,
            ),
            "goshift unpin",
        ));
    }
    Some(Finding::ok(
        Class::Configuration,
        CHECK,
        format!(
            "{pin_file} pins {}, which meets {module_path}",
            pin.version.toolchain_name()
        ),
    ))
}
