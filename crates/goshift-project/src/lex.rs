//! The lexical layer of go.mod and go.work: lines of tokens with their comments.
//!
//! The files are line-oriented. A token is `(`, `)`, `[`, `]`, `,`, `=>`, a quoted string
//! (`"interpreted"` with backslash escapes, or `` `raw` ``) or an identifier (a run of
//! printable, non-space characters other than those punctuation marks). `//` at the start of
//! a token opens a comment that runs to the end of the line; `/* */` does not exist.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An identifier or a quoted string (they are interchangeable).
    Word,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBrack,
    /// `]`
    RBrack,
    /// `,`
    Comma,
    /// `=>`
    Arrow,
}

/// One token; `text` is the unquoted value for strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) text: String,
}

/// One physical line: its 1-based number, tokens and trailing comment (without `//`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) number: usize,
    pub(crate) tokens: Vec<Token>,
    pub(crate) comment: Option<String>,
}

/// A lexical error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

/// Splits `text` into lines of tokens.
pub(crate) fn lex(text: &str) -> Result<Vec<Line>, LexError> {
    text.split('\n')
        .enumerate()
        .map(|(index, raw)| lex_line(index + 1, raw.strip_suffix('\r').unwrap_or(raw)))
        .collect()
}

fn lex_line(number: usize, raw: &str) -> Result<Line, LexError> {
    let error = |reason: String| LexError {
        line: number,
        reason,
    };
    let mut tokens = Vec::new();
    let mut comment = None;
    let mut rest = raw;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace());
        let Some(first) = rest.chars().next() else {
            break;
        };
        if let Some(text) = rest.strip_prefix("//") {
            comment = Some(text.to_owned());
            break;
        }
        if rest.starts_with("/*") {
            return Err(error(
                "`/*` comments are not allowed in go.mod; use `//`".to_owned(),
            ));
        }
        if rest.starts_with("=>") {
            tokens.push(punct(TokenKind::Arrow, "=>"));
            rest = &rest[2..];
            continue;
        }
        let single = match first {
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '[' => Some(TokenKind::LBrack),
            ']' => Some(TokenKind::RBrack),
            ',' => Some(TokenKind::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(punct(kind, &rest[..1]));
            rest = &rest[1..];
            continue;
        }
        if first == '"' {
            let (value, after) = interpreted(&rest[1..]).map_err(error)?;
            tokens.push(Token {
                kind: TokenKind::Word,
                text: value,
            });
            rest = after;
            continue;
        }
        if first == '`' {
            let end = rest[1..]
                .find('`')
                .ok_or_else(|| error("unterminated raw string (missing '`')".to_owned()))?;
            tokens.push(Token {
                kind: TokenKind::Word,
                text: rest[1..=end].to_owned(),
            });
            rest = &rest[end + 2..];
            continue;
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            return Err(error(format!("unexpected character {first:?}")));
        }
        // `=>` ends an identifier only at a token boundary, as in Go's lexer.
        tokens.push(Token {
            kind: TokenKind::Word,
            text: rest[..end].to_owned(),
        });
        rest = &rest[end..];
    }
    Ok(Line {
        number,
        tokens,
        comment,
    })
}

fn punct(kind: TokenKind, text: &str) -> Token {
    Token {
        kind,
        text: text.to_owned(),
    }
}

fn is_ident(c: char) -> bool {
    !matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ',') && !c.is_whitespace() && !c.is_control()
}

/// Reads an interpreted string body after the opening quote; returns the value and the rest.
fn interpreted(input: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &input[index + 1..])),
            '\\' => {
                let (_, escape) = chars
                    .next()
                    .ok_or_else(|| "unterminated string (missing '\"')".to_owned())?;
                let simple = match escape {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'r' => Some('\r'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(simple) = simple {
                    value.push(simple);
                    continue;
                }
                let digits = match escape {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    _ => return Err(format!("invalid escape `\\{escape}` in a string")),
                };
                let mut code = 0u32;
                for _ in 0..digits {
                    let digit = chars
                        .next()
                        .and_then(|(_, d)| d.to_digit(16))
                        .ok_or_else(|| format!("invalid `\\{escape}` escape in a string"))?;
                    code = code * 16 + digit;
                }
                let decoded = char::from_u32(code)
                    .ok_or_else(|| format!("invalid code point {code:#x} in a string"))?;
                value.push(decoded);
            }
            _ => value.push(c),
        }
    }
    Err("unterminated string (missing '\"')".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &Line) -> Vec<&str> {
        line.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn tokens_strings_and_comments() {
        let lines =
            lex("require (\n\t\"ex.com/a\" `v1.0.0` // indirect\n)\nreplace a => ../b\n").unwrap();
        assert_eq!(words(&lines[0]), ["require", "("]);
        assert_eq!(words(&lines[1]), ["ex.com/a", "v1.0.0"]);
        assert_eq!(lines[1].comment.as_deref(), Some(" indirect"));
        assert_eq!(words(&lines[3]), ["replace", "a", "=>", "../b"]);
        assert_eq!(lines[3].tokens[2].kind, TokenKind::Arrow);
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn escapes_and_errors() {
        let lines = lex(r#"module "a\tb\x41\u00e9""#).unwrap();
        assert_eq!(lines[0].tokens[1].text, "a\tbAé");
        assert_eq!(lex("module \"abc").unwrap_err().line, 1);
        assert!(lex("\n/* no */").unwrap_err().reason.contains("/*"));
        assert!(lex(r#"module "\q""#).unwrap_err().reason.contains("escape"));
        let lines = lex("retract [v1.0.0, v1.2.0]").unwrap();
        assert_eq!(
            words(&lines[0]),
            ["retract", "[", "v1.0.0", ",", "v1.2.0", "]"]
        );
    }
}
