//! The crate's own rule: no function in `src/` is longer than 60 lines, counted from `fn` to
//! its closing brace (tests included). The workspace checks 80; the supervisor, where most
//! changes land, keeps its steps shorter so each reads as one step.
//!
//! The scan is a small brace matcher over the source with strings, character literals and
//! comments blanked out first, so a `{` in a message or a comment cannot end a function.

use std::path::{Path, PathBuf};

/// The longest a function may be, in lines.
const LIMIT: usize = 60;

/// A function found in a source file.
#[derive(Debug, PartialEq, Eq)]
struct Function {
    name: String,
    /// 1-based line of `fn`.
    line: usize,
    /// Lines from `fn` to the closing brace, both included.
    lines: usize,
}

#[test]
fn no_function_in_the_crate_is_longer_than_60_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        !files.is_empty(),
        "no source file found under {}",
        src.display()
    );
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for function in functions(&text) {
            if function.lines > LIMIT {
                let relative = file.strip_prefix(&src).unwrap_or(file);
                long.push(format!(
                    "src/{}:{} `{}` has {} lines",
                    relative.display(),
                    function.line,
                    function.name,
                    function.lines
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {LIMIT} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_scan_measures_functions_and_ignores_braces_in_text() {
    let source = r##"
fn short() {
    let text = "}}} { fn fake() {";
    let raw = r#"} fn also_fake() {"#;
    let c = '}';
    let escaped = '\'';
    // } fn in_comment() {
    /* } /* nested } */ fn in_block() { */
}

trait T {
    fn declared(&self, x: [u8; 4]);
}

fn generic<'a>(x: &'a str) -> &'a str {
    'outer: loop {
        break 'outer;
    }
    x
}
"##;
    let found = functions(source);
    let summary: Vec<(&str, usize, usize)> = found
        .iter()
        .map(|f| (f.name.as_str(), f.line, f.lines))
        .collect();
    assert_eq!(
        summary,
        vec![("short", 2, 8), ("generic", 15, 6)],
        "{found:?}"
    );
    let long = format!("fn long() {{\n{}}}\n", "    step();\n".repeat(LIMIT));
    assert_eq!(
        functions(&long)[0].lines,
        LIMIT + 2,
        "a long function is seen"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every function with a body, with its length.
fn functions(source: &str) -> Vec<Function> {
    let code = blank_text(source);
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = code[at..].find("fn") {
        let start = at + offset;
        at = start + 2;
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(start + 2).copied();
        if before.is_some_and(is_ident) || !after.is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let name: String = code[start + 2..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(end) = body_end(bytes, start) {
            let line = line_of(bytes, start);
            found.push(Function {
                name,
                line,
                lines: line_of(bytes, end) - line + 1,
            });
        }
    }
    found
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The 1-based line of `offset`: one more than the line breaks before it.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].split(|&b| b == b'\n').count()
}

/// The offset of the brace closing the body of the `fn` at `start`; `None` for a
/// declaration without a body.
fn body_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut nesting = 0_usize;
    let mut open = None;
    for (i, &byte) in bytes.iter().enumerate().skip(start) {
        match byte {
            b'(' | b'[' => nesting += 1,
            b')' | b']' => nesting = nesting.saturating_sub(1),
            b';' if nesting == 0 => return None,
            b'{' if nesting == 0 => {
                open = Some(i);
                break;
            }
            _ => {}
        }
    }
    let mut depth = 0_usize;
    for (i, &byte) in bytes.iter().enumerate().skip(open?) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The source with the insides of strings, character literals and comments replaced by
/// spaces; line breaks stay where they were.
fn blank_text(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let skip = literal_or_comment(&chars, i);
        if skip == 0 {
            out.push(chars[i]);
            i += 1;
        } else {
            for &c in &chars[i..i + skip] {
                out.push(if c == '\n' { '\n' } else { ' ' });
            }
            i += skip;
        }
    }
    out
}

/// How many characters the literal or comment starting at `i` spans; 0 when none starts
/// there.
fn literal_or_comment(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied();
    let previous_is_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    match (at(i), at(i + 1)) {
        (Some('/'), Some('/')) => until(chars, i, |k| at(k) == Some('\n')),
        (Some('/'), Some('*')) => block_comment(chars, i),
        (Some('"'), _) => quoted(chars, i + 1, '"') - i,
        (Some('\''), _) => character(chars, i),
        (Some('r' | 'b'), _) if !previous_is_ident => prefixed_string(chars, i),
        _ => 0,
    }
}

fn until(chars: &[char], i: usize, stop: impl Fn(usize) -> bool) -> usize {
    (i..chars.len()).find(|&k| stop(k)).unwrap_or(chars.len()) - i
}

fn block_comment(chars: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut k = i;
    while k + 1 < chars.len() {
        match (chars[k], chars[k + 1]) {
            ('/', '*') => {
                depth += 1;
                k += 2;
            }
            ('*', '/') => {
                depth -= 1;
                k += 2;
                if depth == 0 {
                    return k - i;
                }
            }
            _ => k += 1,
        }
    }
    chars.len() - i
}

/// The offset just past the `close` ending a string whose text starts at `k`, escapes
/// honoured.
fn quoted(chars: &[char], mut k: usize, close: char) -> usize {
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            c if c == close => return k + 1,
            _ => k += 1,
        }
    }
    chars.len()
}

/// A character literal (`'x'`, `'\n'`, `'\''`), or 0 for a lifetime or a label.
fn character(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => quoted(chars, i + 1, '\'') - i,
        (Some(_), Some('\'')) => 3,
        _ => 0,
    }
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br#"…"#`; 0 when `r` or `b` starts an identifier.
fn prefixed_string(chars: &[char], i: usize) -> usize {
    let mut k = i;
    if chars[k] == 'b' {
        k += 1;
    }
    let raw = chars.get(k) == Some(&'r');
    if raw {
        k += 1;
    }
    let hashes = chars[k..].iter().take_while(|&&c| c == '#').count();
    if chars.get(k + hashes) != Some(&'"') || (!raw && (hashes > 0 || k == i)) {
        return 0;
    }
    if !raw {
        return quoted(chars, k + 1, '"') - i;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = k + hashes + 1;
    (body..chars.len())
        .find(|&j| chars[j..].starts_with(&closing))
        .map_or(chars.len(), |j| j + closing.len())
        - i
}
