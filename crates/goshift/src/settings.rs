//! Settings resolved once, before any work: command-line flags, environment, config file.
//!
//! Nothing below this module reads process-global state: commands get a [`GlobalSettings`]
//! with everything they need, so they run the same in-process and under test.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use goshift_fs::{Dirs, EnvVars};

use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::printer::{Format, Printer};

/// A snapshot of the process environment, taken once at start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Environment {
    vars: BTreeMap<String, OsString>,
}

impl Environment {
    /// Captures the current process environment.
    pub(crate) fn capture() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
                .collect(),
        }
    }

    /// A variable's value, if set.
    pub(crate) fn var_os(&self, name: &str) -> Option<OsString> {
        self.vars.get(name).cloned()
    }

    /// Every variable, by name.
    pub(crate) fn vars(&self) -> impl Iterator<Item = (&String, &OsString)> {
        self.vars.iter()
    }

    /// A variable's value as UTF-8, if set and non-empty.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
            .map(ToOwned::to_owned)
    }
}

/// What every command gets.
#[derive(Debug, Clone)]
pub(crate) struct GlobalSettings {
    /// Output channels.
    pub(crate) printer: Printer,
    /// goshift's directories.
    pub(crate) dirs: Dirs,
    /// The environment snapshot.
    pub(crate) env: Environment,
    /// The policy file given by `--policy` or `GOSHIFT_POLICY`, if any.
    pub(crate) policy: Option<PathBuf>,
    /// The machine's environment name given by `--env` or `GOSHIFT_ENV`, if any.
    pub(crate) environment: Option<String>,
    /// How long to wait for the store lock.
    pub(crate) lock_timeout: Duration,
    /// The working directory at start.
    pub(crate) cwd: PathBuf,
    /// The config file's settings (empty when there is no file).
    pub(crate) config: Config,
    /// Why the config file could not be read, when it was loaded with
    /// [`ConfigErrors::Report`] (`goshift doctor`).
    pub(crate) config_error: Option<String>,
}

/// What to do with a config file that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigErrors {
    /// Fail: the error names the file and line.
    Fail,
    /// Carry on with an empty config and keep the error for a report.
    Report,
}

impl GlobalSettings {
    /// Resolves the global flags against the environment and the config file.
    pub(crate) fn resolve(
        args: GlobalArgs,
        env: Environment,
        config_errors: ConfigErrors,
    ) -> anyhow::Result<Self> {
        let GlobalArgs {
            json,
            quiet,
            verbose,
            color,
            policy,
            environment,
        } = args;
        let format = if json { Format::Json } else { Format::Human };
        let no_color = env.var(EnvVars::NO_COLOR).is_some();
        let verbose = verbose || debug_logging(&env)?;
        let printer = Printer::detect(format, quiet && !verbose, verbose, color, no_color);
        let dirs = Dirs::from_env(|k| env.var_os(k))?;
        let lock_timeout = lock_timeout(&env)?;
        let (config, config_error) = match Config::load(&dirs.config_file()) {
            Ok(config) => (config, None),
            Err(error) if config_errors == ConfigErrors::Report => {
                (Config::default(), Some(format!("{error:#}")))
            }
            Err(error) => return Err(error),
        };
        let policy = policy
            .or_else(|| env.var(EnvVars::GOSHIFT_POLICY).map(PathBuf::from))
            .or_else(|| config.policy.clone());
        let environment = environment
            .or_else(|| env.var(EnvVars::GOSHIFT_ENV))
            .or_else(|| config.environment.clone());
        let cwd = std::env::current_dir().context("failed to read the current directory")?;
        // Formatted (and the config file looked up) only with `-v`: every command passes here.
        if printer.verbose {
            debug_sources(printer, &dirs, policy.as_deref(), environment.as_deref());
        }
        Ok(Self {
            printer,
            dirs,
            env,
            policy,
            environment,
            lock_timeout,
            cwd,
            config,
            config_error,
        })
    }
}

/// Whether `GOSHIFT_LOG` asks for debug output.
fn debug_logging(env: &Environment) -> anyhow::Result<bool> {
    match env.var(EnvVars::GOSHIFT_LOG).as_deref() {
        None | Some("off" | "0" | "warn" | "info") => Ok(false),
        Some("debug" | "1" | "trace") => Ok(true),
        Some(other) => Err(crate::error::hinted(
            format!("{} is `{other}`, not a log level", EnvVars::GOSHIFT_LOG),
            format!(
                "set {}=debug for debug output, or unset it",
                EnvVars::GOSHIFT_LOG
            ),
        )),
    }
}

/// How long to wait for the store lock: `GOSHIFT_LOCK_TIMEOUT`, else a minute.
fn lock_timeout(env: &Environment) -> anyhow::Result<Duration> {
    match env.var(EnvVars::GOSHIFT_LOCK_TIMEOUT) {
        None => Ok(Duration::from_mins(1)),
        Some(text) => parse_duration(&text).map_err(|reason| {
            anyhow::anyhow!(
                "{} is not a duration: {reason}",
                EnvVars::GOSHIFT_LOCK_TIMEOUT
            )
        }),
    }
}

/// Where the home, the config file, the policy and the environment came from, for `-v`.
fn debug_sources(printer: Printer, dirs: &Dirs, policy: Option<&Path>, environment: Option<&str>) {
    printer.debug(format!("home: {}", dirs.home.display()));
    printer.debug(format!(
        "config file: {}{}",
        dirs.config_file().display(),
        if dirs.config_file().exists() {
            ""
        } else {
            " (none)"
        }
    ));
    if let Some(policy) = policy {
        printer.debug(format!("policy file: {}", policy.display()));
    }
    if let Some(environment) = environment {
        printer.debug(format!("environment: {environment}"));
    }
}

/// Parses a duration in humantime's grammar (`30s`, `500ms`, `2m`, `1h 30m`); a bare number
/// is seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}`: {e} (write it like `30s`, `500ms` or `2m`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_mins(2));
        assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("2 fortnights").is_err());
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("").is_err());
    }
}
