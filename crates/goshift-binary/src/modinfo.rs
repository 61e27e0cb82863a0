//! The modinfo text (`runtime/debug.BuildInfo`): parsing and Go's own rendering.
//!
//! [`ModInfo::parse`] accepts exactly what Go's `debug.ParseBuildInfo` accepts: lines end in
//! `\n` (a final unterminated line is dropped), unknown lines are ignored, `=>` must follow a
//! `mod` or `dep` line, and `build` keys and values follow Go's quoting rules.
//! [`ModInfo::render`] is `BuildInfo.String()`, so parse then render is what `go version -m`
//! prints.

use std::fmt::Write as _;

use serde::Serialize;

use crate::quote;

/// A module: the main module, a dependency or a replacement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Version, `(devel)` for an unversioned main module.
    pub version: String,
    /// The `h1:` checksum, empty when unknown (replaced or vendored modules).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sum: String,
    /// The module that replaced this one (`=>` line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Box<Self>>,
}

impl Module {
    /// The module that was actually built: the replacement if there is one.
    pub fn effective(&self) -> &Self {
        self.replace.as_deref().unwrap_or(self)
    }

    fn is_zero(&self) -> bool {
        self.path.is_empty()
            && self.version.is_empty()
            && self.sum.is_empty()
            && self.replace.is_none()
    }
}

/// One `build` line: a key and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSetting {
    /// The key, such as `GOOS` or `-ldflags`.
    pub key: String,
    /// The value, unquoted.
    pub value: String,
}

/// The parsed modinfo text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModInfo {
    /// The main package's import path.
    pub path: String,
    /// The main module, if the binary was built in module mode.
    pub main: Option<Module>,
    /// Dependencies that contributed packages, in Go's order.
    pub deps: Vec<Module>,
    /// Build settings in the order they appear.
    pub settings: Vec<BuildSetting>,
}

/// Why modinfo text is invalid; `line` counts from 1, as Go does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse Go build info: line {line}: {reason}")]
pub struct ModinfoError {
    /// The line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl ModInfo {
    /// Parses modinfo text (without the sentinels).
    pub fn parse(text: &str) -> Result<Self, ModinfoError> {
        let mut info = Self::default();
        // Where an `=>` line attaches: `None` after a replacement or before any module.
        let mut last: Option<Target> = None;
        let mut rest = text;
        let mut line_number = 1;
        // Lines, tabs and `=` are ASCII, which never occurs inside a multi-byte UTF-8
        // character: byte searches find them (cheaper than searching by character).
        while let Some(end) = rest.bytes().position(|b| b == b'\n') {
            let line = &rest[..end];
            rest = &rest[end + 1..];
            let error = |reason: String| ModinfoError {
                line: line_number,
                reason,
            };
            if let Some(path) = line.strip_prefix("path\t") {
                path.clone_into(&mut info.path);
            } else if let Some(columns) = line.strip_prefix("mod\t") {
                last = Some(Target::Main);
                info.main = Some(module_line(columns).map_err(error)?);
            } else if let Some(columns) = line.strip_prefix("dep\t") {
                info.deps.push(module_line(columns).map_err(error)?);
                last = Some(Target::Dep(info.deps.len() - 1));
            } else if let Some(columns) = line.strip_prefix("=>\t") {
                let fields: Vec<&str> = columns.split('\t').collect();
                let [path, version, sum] = fields[..] else {
                    return Err(error(format!(
                        "expected 3 columns for replacement; got {}",
                        fields.len()
                    )));
                };
                let replacement = Box::new(Module {
                    path: path.to_owned(),
                    version: version.to_owned(),
                    sum: sum.to_owned(),
                    replace: None,
                });
                let target = match last.take() {
                    Some(Target::Main) => info.main.as_mut(),
                    Some(Target::Dep(index)) => info.deps.get_mut(index),
                    None => None,
                };
                let target = target.ok_or_else(|| {
                    error("replacement with no module on previous line".to_owned())
                })?;
                target.replace = Some(replacement);
            } else if let Some(setting) = line.strip_prefix("build\t") {
                info.settings.push(build_line(setting).map_err(error)?);
            }
            line_number += 1;
        }
        Ok(info)
    }

    /// Renders the text exactly as Go's `BuildInfo.String()` does, without a `go` line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.path.is_empty() {
            let _ = writeln!(out, "path\t{}", self.path);
        }
        if let Some(main) = self.main.as_ref().filter(|m| !m.is_zero()) {
            render_module(&mut out, "mod", main);
        }
        for dep in &self.deps {
            render_module(&mut out, "dep", dep);
        }
        for setting in &self.settings {
            let key = if needs_quoted_key(&setting.key) {
                quote::quote(&setting.key)
            } else {
                setting.key.clone()
            };
            let value = if needs_quoted_value(&setting.value) {
                quote::quote(&setting.value)
            } else {
                setting.value.clone()
            };
            let _ = writeln!(out, "build\t{key}={value}");
        }
        out
    }

    /// The value of the first build setting named `key`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Main,
    Dep(usize),
}

fn module_line(columns: &str) -> Result<Module, String> {
    let mut fields = columns.split('\t');
    match [fields.next(), fields.next(), fields.next(), fields.next()] {
        [Some(path), Some(version), None, None] => Ok(Module {
            path: path.to_owned(),
            version: version.to_owned(),
            ..Module::default()
        }),
        [Some(path), Some(version), Some(sum), None] => Ok(Module {
            path: path.to_owned(),
            version: version.to_owned(),
            sum: sum.to_owned(),
            replace: None,
        }),
        _ => Err(format!(
            "expected 2 or 3 columns; got {}",
            columns.split('\t').count()
        )),
    }
}

fn build_line(text: &str) -> Result<BuildSetting, String> {
    let (key, raw_value) = match text.as_bytes().first() {
        None => return Err("build line missing '='".to_owned()),
        Some(b'=') => return Err("build line with missing key".to_owned()),
        Some(b'"' | b'`') => {
            let used = quote::quoted_prefix(text)
                .map_err(|_| "invalid quoted key in build line".to_owned())?;
            match text.as_bytes().get(used) {
                None => return Err("build line missing '=' after quoted key".to_owned()),
                Some(b'=') => {}
                Some(&c) => {
                    return Err(format!(
                        "unexpected character after quoted key: {}",
                        quote::quote(&char::from(c).to_string()).replace('"', "'")
                    ));
                }
            }
            let key = quote::unquote(&text[..used])
                .map_err(|_| "invalid quoted key in build line".to_owned())?;
            (key, &text[used + 1..])
        }
        Some(_) => {
            let equals = text
                .bytes()
                .position(|b| b == b'=')
                .ok_or_else(|| "build line missing '=' after key".to_owned())?;
            let (key, value) = (&text[..equals], &text[equals + 1..]);
            if needs_quoted_key(key) {
                return Err(format!("unquoted key {} must be quoted", quote::quote(key)));
            }
            (key.to_owned(), value)
        }
    };
    let value = match raw_value.as_bytes().first() {
        None => String::new(),
        Some(b'"' | b'`') => quote::unquote(raw_value)
            .map_err(|_| "invalid quoted value in build line".to_owned())?,
        Some(_) => {
            if needs_quoted_value(raw_value) {
                return Err(format!(
                    "unquoted value {} must be quoted",
                    quote::quote(raw_value)
                ));
            }
            raw_value.to_owned()
        }
    };
    Ok(BuildSetting { key, value })
}

fn needs_quoted_key(key: &str) -> bool {
    key.is_empty() || key.bytes().any(|b| b == b'=' || needs_quoting(b))
}

fn needs_quoted_value(value: &str) -> bool {
    value.bytes().any(needs_quoting)
}

fn needs_quoting(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'`')
}

fn render_module(out: &mut String, word: &str, module: &Module) {
    let _ = write!(out, "{word}\t{}\t{}", module.path, module.version);
    match &module.replace {
        None => {
            let _ = write!(out, "\t{}", module.sum);
        }
        Some(replacement) => {
            // Go ends the replacement line and then the entry, so a blank line follows
            // every `=>` line; `go version -m` prints it as a lone tab.
            out.push('\n');
            render_module(out, "=>", replacement);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "path\texample.com/app/cmd/app\n\
        mod\texample.com/app\t(devel)\t\n\
        dep\tgolang.org/x/net\tv0.17.0\th1:abc=\n\
        dep\texample.com/old\tv1.0.0\n\
        =>\t../fork\t(devel)\t\n\
        build\t-buildmode=exe\n\
        build\t-ldflags=\"-s -w\"\n\
        build\tCGO_ENABLED=0\n\
        build\t\"we ird\"=`x y`\n\
        build\tvcs.modified=true\n";

    #[test]
    fn parses_every_line_kind() {
        let info = ModInfo::parse(SAMPLE).unwrap();
        assert_eq!(info.path, "example.com/app/cmd/app");
        let main = info.main.as_ref().unwrap();
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/app", "(devel)")
        );
        assert_eq!(info.deps.len(), 2);
        assert_eq!(info.deps[0].sum, "h1:abc=");
        let replacement = info.deps[1].replace.as_ref().unwrap();
        assert_eq!(replacement.path, "../fork");
        assert_eq!(info.setting("-ldflags"), Some("-s -w"));
        assert_eq!(info.setting("we ird"), Some("x y"));
        assert_eq!(info.setting("vcs.modified"), Some("true"));
    }

    #[test]
    fn render_is_go_string_form() {
        let info = ModInfo::parse(SAMPLE).unwrap();
        // Go re-quotes with strconv.Quote: the backtick value comes back double-quoted.
        // A blank line follows a replacement, as in Go's `String()`.
        assert_eq!(
            info.render(),
            SAMPLE
                .replace("`x y`", "\"x y\"")
                .replace("(devel)\t\nbuild", "(devel)\t\n\nbuild")
        );
    }

    #[test]
    fn final_line_without_newline_is_dropped_and_unknown_lines_ignored() {
        let info = ModInfo::parse("go\tgo1.22\nzzz\npath\tx\nbuild\tA=b").unwrap();
        assert_eq!(info.path, "x");
        assert!(info.settings.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let error = ModInfo::parse("path\tx\n=>\ta\tb\tc\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "could not parse Go build info: line 2: replacement with no module on previous line"
        );
        let error = ModInfo::parse("mod\ta\n").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(ModInfo::parse("dep\ta\tb\n=>\tc\td\n").is_err());
        assert!(ModInfo::parse("dep\ta\tb\n=>\tc\td\te\n=>\tf\tg\th\n").is_err());
        assert!(ModInfo::parse("build\tkey=has space\n").is_err());
        assert!(ModInfo::parse("build\t=v\n").is_err());
        assert!(ModInfo::parse("build\tnovalue\n").is_err());
        assert!(ModInfo::parse("build\t\"k\"x\n").is_err());
        assert!(ModInfo::parse("build\t\n").is_err());
    }
}
