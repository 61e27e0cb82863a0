//! The directives of go.mod and go.work: which exist, which may form blocks, and how each
//! one's arguments are read.

use goshift_version::GoVersion;

use super::{
    Comments, Entry, FileKind, GoLine, Godebug, ModFile, ModulePath, ModuleVersion, PathLine,
    Replace, ReplaceSide, Require, Retract, ToolchainLine, Use, is_valid_module_version,
};
use crate::lex::TokenKind;

const GO_MOD_DIRECTIVES: &[&str] = &[
    "module",
    "go",
    "toolchain",
    "godebug",
    "require",
    "exclude",
    "replace",
    "retract",
    "tool",
    "ignore",
];
const GO_WORK_DIRECTIVES: &[&str] = &["go", "toolchain", "godebug", "use", "replace"];
const SINGLE_LINE_ONLY: &[&str] = &["go", "toolchain"];

/// Rejects `keyword (` for directives that cannot form a block.
pub(super) fn check_block_allowed(kind: FileKind, keyword: &str) -> Result<(), String> {
    known(kind, keyword)?;
    if SINGLE_LINE_ONLY.contains(&keyword) {
        return Err(format!("`{keyword}` cannot be written as a block"));
    }
    Ok(())
}

/// Reads one directive into `file`.
pub(super) fn apply(kind: FileKind, file: &mut ModFile, entry: &Entry<'_>) -> Result<(), String> {
    known(kind, &entry.keyword)?;
    let line = entry.args.number;
    let args = &entry.args.tokens[entry.skip..];
    let words = || words(entry);
    match entry.keyword.as_str() {
        "module" => {
            let [path] = exactly::<1>(&words()?, "module", "module PATH")?;
            if file.module.is_some() {
                return Err("repeated `module` directive".to_owned());
            }
            file.module = Some(ModulePath {
                path: path.to_owned(),
                deprecated: deprecation(&entry.comments),
                line,
            });
        }
        "go" => {
            let [version] = exactly::<1>(&words()?, "go", "go 1.22.0")?;
            if file.go.is_some() {
                return Err("repeated `go` directive".to_owned());
            }
            file.go = Some(GoLine {
                version: go_directive_version(version)?,
                line,
            });
        }
        "toolchain" => {
            let [name] = exactly::<1>(&words()?, "toolchain", "toolchain go1.22.10")?;
            if file.toolchain.is_some() {
                return Err("repeated `toolchain` directive".to_owned());
            }
            file.toolchain = Some(toolchain_line(name, line)?);
        }
        "godebug" => {
            let [spec] = exactly::<1>(&words()?, "godebug", "godebug key=value")?;
            file.godebug.push(godebug(spec, line)?);
        }
        "require" | "exclude" => require_or_exclude(file, entry, &words()?)?,
        "replace" => file.replace.push(replace(args, line)?),
        "retract" => file.retract.push(retract(entry, args, line)?),
        "tool" | "ignore" => {
            let usage = format!("{} PATH", entry.keyword);
            let [path] = exactly::<1>(&words()?, &entry.keyword, &usage)?;
            let item = PathLine {
                path: path.to_owned(),
                line,
            };
            if entry.keyword == "tool" {
                file.tool.push(item);
            } else {
                file.ignore.push(item);
            }
        }
        "use" => {
            let [path] = exactly::<1>(&words()?, "use", "use ./DIR")?;
            file.r#use.push(Use {
                disk_path: path.to_owned(),
                line,
            });
        }
        other => return Err(format!("unknown directive `{other}`")),
    }
    Ok(())
}

/// The directive's arguments, each of which must be a plain word.
fn words<'e>(entry: &'e Entry<'_>) -> Result<Vec<&'e str>, String> {
    entry.args.tokens[entry.skip..]
        .iter()
        .map(|t| match t.kind {
            TokenKind::Word => Ok(t.text.as_str()),
            _ => Err(format!(
                "unexpected `{}` in a `{}` line",
                t.text, entry.keyword
            )),
        })
        .collect()
}

/// `toolchain NAME`: `default`, or a Go toolchain name that parses.
fn toolchain_line(name: &str, line: usize) -> Result<ToolchainLine, String> {
    let valid = name == "default"
        || name
            .strip_prefix("go1")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
    let toolchain = ToolchainLine {
        name: name.to_owned(),
        line,
    };
    if !valid || toolchain.version().is_some_and(|v| v.is_err()) {
        return Err(format!(
            "invalid toolchain version `{name}`: must match format go1.23.0 or default"
        ));
    }
    Ok(toolchain)
}

/// `godebug key=value`.
fn godebug(spec: &str, line: usize) -> Result<Godebug, String> {
    let (key, value) = spec
        .split_once('=')
        .filter(|(key, value)| !key.is_empty() && !value.is_empty())
        .ok_or_else(|| format!("invalid godebug `{spec}`: expected key=value"))?;
    if spec.contains([',', '"', '`', '\'']) {
        return Err(format!(
            "invalid godebug `{spec}`: it must not contain `,`, quotes or backticks"
        ));
    }
    Ok(Godebug {
        key: key.to_owned(),
        value: value.to_owned(),
        line,
    })
}

/// `require MODULE VERSION` or `exclude MODULE VERSION`.
fn require_or_exclude(file: &mut ModFile, entry: &Entry<'_>, words: &[&str]) -> Result<(), String> {
    let line = entry.args.number;
    let usage = format!("{} MODULE VERSION", entry.keyword);
    let [path, version] = exactly::<2>(words, &entry.keyword, &usage)?;
    module_version(version)?;
    if entry.keyword == "require" {
        file.require.push(Require {
            path: path.to_owned(),
            version: version.to_owned(),
            indirect: is_indirect(entry.comments.suffix.as_deref()),
            line,
        });
    } else {
        file.exclude.push(ModuleVersion {
            path: path.to_owned(),
            version: version.to_owned(),
            line,
        });
    }
    Ok(())
}

fn known(kind: FileKind, keyword: &str) -> Result<(), String> {
    let set = match kind {
        FileKind::GoMod => GO_MOD_DIRECTIVES,
        FileKind::GoWork => GO_WORK_DIRECTIVES,
    };
    if set.contains(&keyword) {
        Ok(())
    } else {
        Err(format!(
            "unknown directive `{keyword}` (a {} may contain: {})",
            kind.file_name(),
            set.join(", ")
        ))
    }
}

fn exactly<'a, const N: usize>(
    words: &[&'a str],
    keyword: &str,
    usage: &str,
) -> Result<[&'a str; N], String> {
    <[&str; N]>::try_from(words).map_err(|_| {
        format!(
            "`{keyword}` takes {N} argument{}, found {}: expected `{usage}`",
            if N == 1 { "" } else { "s" },
            words.len()
        )
    })
}

/// Checks a `go` line against Go's `GoVersionRE`:
/// `^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`.
fn go_directive_version(text: &str) -> Result<GoVersion, String> {
    let invalid = || format!("invalid go version `{text}`: must match format 1.23.0");
    let number = |s: &str| -> Option<usize> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let ok = digits > 0 && (digits == 1 || !s.starts_with('0'));
        ok.then_some(digits)
    };
    let major = number(text)
        .filter(|_| !text.starts_with('0'))
        .ok_or_else(invalid)?;
    let rest = text[major..].strip_prefix('.').ok_or_else(invalid)?;
    let minor = number(rest).ok_or_else(invalid)?;
    let mut rest = &rest[minor..];
    if let Some(after) = rest.strip_prefix('.') {
        let patch = number(after).ok_or_else(invalid)?;
        rest = &after[patch..];
    }
    if !rest.is_empty() {
        let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        let digits = rest[letters..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if letters == 0 || digits == 0 || letters + digits != rest.len() {
            return Err(invalid());
        }
    }
    GoVersion::parse(text).map_err(|_| invalid())
}

fn module_version(version: &str) -> Result<(), String> {
    if is_valid_module_version(version) {
        Ok(())
    } else {
        Err(format!(
            "invalid module version `{version}`: must be of the form v1.2.3 (or a pseudo-version, optionally +incompatible)"
        ))
    }
}

fn replace(args: &[crate::lex::Token], line: usize) -> Result<Replace, String> {
    let usage = "expected `replace MODULE [VERSION] => MODULE VERSION` or `replace MODULE [VERSION] => ./DIR`";
    let arrow = args
        .iter()
        .position(|t| t.kind == TokenKind::Arrow)
        .ok_or_else(|| format!("missing `=>` in a `replace` line: {usage}"))?;
    let side = |tokens: &[crate::lex::Token]| -> Result<ReplaceSide, String> {
        if tokens.iter().any(|t| t.kind != TokenKind::Word) || tokens.is_empty() || tokens.len() > 2
        {
            return Err(usage.to_owned());
        }
        let version = tokens.get(1).map(|t| t.text.clone());
        if let Some(version) = &version {
            module_version(version)?;
        }
        Ok(ReplaceSide {
            path: tokens[0].text.clone(),
            version,
        })
    };
    let old = side(&args[..arrow])?;
    let new = side(&args[arrow + 1..])?;
    let local = new.path.starts_with("./")
        || new.path.starts_with("../")
        || new.path.starts_with('/')
        || new.path == "."
        || new.path == "..";
    if local && new.version.is_some() {
        return Err(format!(
            "the replacement directory `{}` cannot have a version",
            new.path
        ));
    }
    if !local && new.version.is_none() {
        return Err(format!(
            "the replacement module `{}` needs a version (a directory must start with `./` or `../`)",
            new.path
        ));
    }
    Ok(Replace { old, new, line })
}

fn retract(entry: &Entry<'_>, args: &[crate::lex::Token], line: usize) -> Result<Retract, String> {
    let usage = "expected `retract VERSION` or `retract [LOW, HIGH]`";
    let kinds: Vec<TokenKind> = args.iter().map(|t| t.kind).collect();
    let (low, high) = match kinds.as_slice() {
        [TokenKind::Word] => (args[0].text.clone(), args[0].text.clone()),
        [
            TokenKind::LBrack,
            TokenKind::Word,
            TokenKind::Comma,
            TokenKind::Word,
            TokenKind::RBrack,
        ] => (args[1].text.clone(), args[3].text.clone()),
        _ => return Err(usage.to_owned()),
    };
    // `go mod edit` keeps retracted versions as written (`retract latest` included); they are
    // only checked against the module's versions when Go loads it.
    Ok(Retract {
        low,
        high,
        rationale: rationale(&entry.comments),
        line,
    })
}

/// Go's rule: the comment lines before the directive and at its end; those of the block
/// when the line has none.
fn rationale(comments: &Comments) -> String {
    let mut lines: Vec<&str> = comments.before.iter().map(String::as_str).collect();
    if let Some(suffix) = &comments.suffix {
        lines.push(suffix.trim());
    }
    if lines.is_empty() {
        lines = comments.block.iter().map(String::as_str).collect();
    }
    lines.join("\n")
}

/// A `// Deprecated: message` paragraph in the module directive's comments.
fn deprecation(comments: &Comments) -> Option<String> {
    let mut lines: Vec<&str> = comments.before.iter().map(String::as_str).collect();
    if let Some(suffix) = &comments.suffix {
        lines.push(suffix.trim());
    }
    let start = lines.iter().position(|l| l.starts_with("Deprecated:"))?;
    let mut message = vec![lines[start].trim_start_matches("Deprecated:").trim()];
    message.extend(
        lines[start + 1..]
            .iter()
            .take_while(|l| !l.is_empty())
            .copied(),
    );
    Some(message.join("\n"))
}

/// `// indirect` or `// indirect; reason`.
fn is_indirect(suffix: Option<&str>) -> bool {
    suffix.is_some_and(|s| {
        let s = s.trim();
        s == "indirect" || s.starts_with("indirect;")
    })
}
