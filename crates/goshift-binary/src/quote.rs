//! Go string literals: `strconv.Quote`, `strconv.Unquote` and `strconv.QuotedPrefix`, as
//! the modinfo `build` lines use them.

use std::fmt::Write as _;

/// Why a Go string literal is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Go string literal")]
pub struct QuoteError;

/// Unquotes a complete `"…"` or `` `…` `` literal.
pub fn unquote(literal: &str) -> Result<String, QuoteError> {
    let (value, used) = unquote_prefix(literal)?;
    if used == literal.len() {
        Ok(value)
    } else {
        Err(QuoteError)
    }
}

/// The length of the quoted literal at the start of `text`.
pub fn quoted_prefix(text: &str) -> Result<usize, QuoteError> {
    unquote_prefix(text).map(|(_, used)| used)
}

/// Unquotes the literal at the start of `text`; returns the value and the bytes consumed.
fn unquote_prefix(text: &str) -> Result<(String, usize), QuoteError> {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, '`')) => {
            let end = text[1..].find('`').ok_or(QuoteError)? + 1;
            // Go drops carriage returns from raw strings.
            Ok((text[1..end].replace('\r', ""), end + 1))
        }
        Some((_, '"')) => {
            let mut value = String::new();
            let bytes = text.as_bytes();
            let mut index = 1;
            // Octal and `\x` escapes can produce bytes that are not UTF-8 on their own.
            let mut raw: Vec<u8> = Vec::new();
            loop {
                let &byte = bytes.get(index).ok_or(QuoteError)?;
                match byte {
                    b'"' => {
                        flush(&mut raw, &mut value);
                        return Ok((value, index + 1));
                    }
                    b'\n' => return Err(QuoteError),
                    b'\\' => {
                        let (consumed, escaped) = escape(&text[index + 1..])?;
                        match escaped {
                            Escaped::Byte(byte) => raw.push(byte),
                            Escaped::Char(c) => {
                                flush(&mut raw, &mut value);
                                value.push(c);
                            }
                        }
                        index += 1 + consumed;
                    }
                    _ => {
                        flush(&mut raw, &mut value);
                        let c = text[index..].chars().next().ok_or(QuoteError)?;
                        value.push(c);
                        index += c.len_utf8();
                    }
                }
            }
        }
        _ => Err(QuoteError),
    }
}

enum Escaped {
    Byte(u8),
    Char(char),
}

fn flush(raw: &mut Vec<u8>, value: &mut String) {
    if !raw.is_empty() {
        value.push_str(&String::from_utf8_lossy(raw));
        raw.clear();
    }
}

/// One escape after the backslash; returns the bytes consumed after the backslash.
fn escape(rest: &str) -> Result<(usize, Escaped), QuoteError> {
    let first = *rest.as_bytes().first().ok_or(QuoteError)?;
    let simple = |c| Ok((1, Escaped::Char(c)));
    match first {
        b'a' => simple('\x07'),
        b'b' => simple('\x08'),
        b'f' => simple('\x0c'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'v' => simple('\x0b'),
        b'\\' => simple('\\'),
        b'"' => simple('"'),
        b'x' => {
            let value = hex(rest.get(1..3).ok_or(QuoteError)?)?;
            Ok((
                3,
                Escaped::Byte(u8::try_from(value).map_err(|_| QuoteError)?),
            ))
        }
        b'u' => {
            let value = hex(rest.get(1..5).ok_or(QuoteError)?)?;
            Ok((5, Escaped::Char(char::from_u32(value).ok_or(QuoteError)?)))
        }
        b'U' => {
            let value = hex(rest.get(1..9).ok_or(QuoteError)?)?;
            Ok((9, Escaped::Char(char::from_u32(value).ok_or(QuoteError)?)))
        }
        b'0'..=b'7' => {
            let digits = rest.get(..3).ok_or(QuoteError)?;
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(QuoteError);
            }
            let value = u32::from_str_radix(digits, 8).map_err(|_| QuoteError)?;
            Ok((
                3,
                Escaped::Byte(u8::try_from(value).map_err(|_| QuoteError)?),
            ))
        }
        _ => Err(QuoteError),
    }
}

fn hex(digits: &str) -> Result<u32, QuoteError> {
    if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(digits, 16).map_err(|_| QuoteError)
    } else {
        Err(QuoteError)
    }
}

/// Quotes `value` as Go's `strconv.Quote` does for printable text.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c < ' ' || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_go_escapes() {
        assert_eq!(unquote(r#""a\tb\n\"c\\""#).unwrap(), "a\tb\n\"c\\");
        assert_eq!(unquote(r#""\x41\101\u00e9\U0001F600""#).unwrap(), "AAé😀");
        assert_eq!(unquote("`raw \\n`").unwrap(), "raw \\n");
        assert!(unquote(r#""\q""#).is_err());
        assert!(unquote(r#""open"#).is_err());
        assert!(unquote(r#""a"b"#).is_err());
        assert!(unquote("plain").is_err());
    }

    #[test]
    fn quoted_prefix_stops_at_the_closing_quote() {
        assert_eq!(quoted_prefix(r#""k=v"=rest"#), Ok(5));
        assert_eq!(quoted_prefix("`k`=v"), Ok(3));
        assert!(quoted_prefix(r#""k"#).is_err());
    }

    #[test]
    fn quote_round_trips() {
        for text in [
            "all=-N -l",
            "tab\there",
            "q\"uote",
            "back`tick",
            "\u{1}",
            "é",
        ] {
            assert_eq!(unquote(&quote(text)).unwrap(), text);
        }
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("\u{1}"), "\"\\x01\"");
    }
}
