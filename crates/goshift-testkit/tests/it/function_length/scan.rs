//! Finds every `fn` with a body in Rust source and measures it.
//!
//! A small lexer skips what may hold a brace that is not code (strings, raw strings, chars,
//! comments) and steps over lifetimes and labels, which start with a quote but do not end
//! with one; the braces that remain are matched, and each `fn NAME … {` is measured from the
//! line of its `fn` to the line of its closing brace.

/// One function with a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Function {
    pub(crate) name: String,
    /// The line of its `fn`, from 1.
    pub(crate) line: usize,
    /// From the line of its `fn` to the line of its closing brace, both included.
    pub(crate) lines: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Word(String),
    Punct(u8),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    line: usize,
}

/// Every function with a body in `source`, in order of their `fn`.
pub(crate) fn functions(source: &str) -> Result<Vec<Function>, String> {
    let tokens = Lexer::new(source).tokens()?;
    let closing = matching_braces(&tokens)?;
    let mut found = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Word("fn".to_owned()) {
            continue;
        }
        let Some(Kind::Word(name)) = tokens.get(index + 1).map(|next| &next.kind) else {
            continue; // a pointer type `fn(u8)` or a macro's `fn $name`
        };
        if let Some(open) = body_start(&tokens, index + 2) {
            let end =
                closing[open].ok_or_else(|| format!("line {}: unmatched `{{`", token.line))?;
            found.push(Function {
                name: name.clone(),
                line: token.line,
                lines: tokens[end].line - token.line + 1,
            });
        }
    }
    Ok(found)
}

/// The index of the `{` that opens the body of the function whose signature starts at `from`,
/// or `None` for a declaration without one (`fn name();` in a trait or an `extern` block).
fn body_start(tokens: &[Token], from: usize) -> Option<usize> {
    let mut depth = 0_usize;
    for (index, token) in tokens.iter().enumerate().skip(from) {
        match token.kind {
            Kind::Punct(b'(' | b'[') => depth += 1,
            Kind::Punct(b')' | b']') => depth = depth.saturating_sub(1),
            Kind::Punct(b'{') if depth == 0 => return Some(index),
            Kind::Punct(b';' | b'}') if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// For each `{` token, the index of its `}`.
fn matching_braces(tokens: &[Token]) -> Result<Vec<Option<usize>>, String> {
    let mut closing = vec![None; tokens.len()];
    let mut open = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Punct(b'{') => open.push(index),
            Kind::Punct(b'}') => {
                let start = open
                    .pop()
                    .ok_or_else(|| format!("line {}: `}}` without its `{{`", token.line))?;
                closing[start] = Some(index);
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(start) => Err(format!("line {}: `{{` is never closed", tokens[start].line)),
        None => Ok(closing),
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    counted: usize,
}

impl<'a> Lexer<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            bytes: source.as_bytes(),
            pos: 0,
            line: 1,
            counted: 0,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// The line of `self.pos`, counting the newlines passed since the last call.
    fn line(&mut self) -> usize {
        let passed = &self.bytes[self.counted..self.pos];
        self.line += passed
            .iter()
            .fold(0, |lines, &byte| lines + usize::from(byte == b'\n'));
        self.counted = self.pos;
        self.line
    }

    fn tokens(mut self) -> Result<Vec<Token>, String> {
        let mut tokens = Vec::new();
        while let Some(byte) = self.peek(0) {
            match byte {
                b'/' if self.peek(1) == Some(b'/') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment()?,
                b'"' => self.skip_string()?,
                b'\'' => self.skip_quote()?,
                _ if is_word_start(byte) => {
                    if let Some(token) = self.word()? {
                        tokens.push(token);
                    }
                }
                _ if byte.is_ascii_whitespace() || byte.is_ascii_digit() => self.pos += 1,
                _ => {
                    let line = self.line();
                    tokens.push(Token {
                        kind: Kind::Punct(byte),
                        line,
                    });
                    self.pos += 1;
                }
            }
        }
        Ok(tokens)
    }

    fn skip_line_comment(&mut self) {
        while self.peek(0).is_some_and(|byte| byte != b'\n') {
            self.pos += 1;
        }
    }

    /// Block comments nest in Rust: `/* /* */ still a comment */`.
    fn skip_block_comment(&mut self) -> Result<(), String> {
        let line = self.line();
        let mut depth = 0_usize;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                (Some(_), _) => self.pos += 1,
                (None, _) => return Err(format!("line {line}: unterminated block comment")),
            }
        }
    }

    /// A string with escapes, from its opening `"`.
    fn skip_string(&mut self) -> Result<(), String> {
        let line = self.line();
        self.pos += 1;
        loop {
            match self.peek(0) {
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => self.pos += 1,
                None => return Err(format!("line {line}: unterminated string")),
            }
        }
    }

    /// A raw string from its first `#` or `"`: no escapes, it ends at `"` and as many `#`.
    fn skip_raw_string(&mut self) -> Result<(), String> {
        let line = self.line();
        let hashes = self.count(b'#');
        self.pos += hashes + 1;
        let mut terminator = vec![b'"'];
        terminator.resize(hashes + 1, b'#');
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos..].starts_with(&terminator) {
                self.pos += terminator.len();
                return Ok(());
            }
            self.pos += 1;
        }
        Err(format!("line {line}: unterminated raw string"))
    }

    /// A char literal (`'{'`, `'\''`, `'\u{7b}'`), or a lifetime or label (`'a`, `'outer:`).
    fn skip_quote(&mut self) -> Result<(), String> {
        let line = self.line();
        if self.peek(1) == Some(b'\\') {
            self.pos += 3; // the quote, the backslash and the escaped character
            while self.peek(0).is_some_and(|byte| byte != b'\'') {
                self.pos += 1;
            }
            if self.peek(0).is_none() {
                return Err(format!("line {line}: unterminated char literal"));
            }
            self.pos += 1;
            return Ok(());
        }
        let width = self.char_width(self.pos + 1);
        if self.bytes.get(self.pos + 1 + width) == Some(&b'\'') {
            self.pos += width + 2;
        } else {
            self.pos += 1;
            while self.peek(0).is_some_and(is_word_byte) {
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// A word, or a literal that starts like one: `r"…"`, `br#"…"#`, `cr"…"`, `b"…"`, `c"…"`,
    /// `b'…'`. A raw identifier (`r#fn`) keeps its `r#`, so it is never taken for a keyword.
    fn word(&mut self) -> Result<Option<Token>, String> {
        for prefix in [&b"br"[..], b"cr", b"r"] {
            if self.bytes[self.pos..].starts_with(prefix) {
                let after = self.pos + prefix.len();
                let hashes = self.bytes[after..]
                    .iter()
                    .take_while(|&&b| b == b'#')
                    .count();
                if self.bytes.get(after + hashes) == Some(&b'"') {
                    self.pos = after;
                    self.skip_raw_string()?;
                    return Ok(None);
                }
            }
        }
        if matches!(self.peek(0), Some(b'b' | b'c')) && self.peek(1) == Some(b'"') {
            self.pos += 1;
            self.skip_string()?;
            return Ok(None);
        }
        if self.peek(0) == Some(b'b') && self.peek(1) == Some(b'\'') {
            self.pos += 1;
            self.skip_quote()?;
            return Ok(None);
        }
        Ok(Some(self.identifier()))
    }

    fn identifier(&mut self) -> Token {
        let line = self.line();
        let start = self.pos;
        if self.peek(0) == Some(b'r') && self.peek(1) == Some(b'#') {
            self.pos += 2;
        }
        while self.peek(0).is_some_and(is_word_byte) {
            self.pos += 1;
        }
        let word = String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned();
        Token {
            kind: Kind::Word(word),
            line,
        }
    }

    /// How many `byte`s follow `self.pos`, from it.
    fn count(&self, byte: u8) -> usize {
        self.bytes[self.pos..]
            .iter()
            .take_while(|&&b| b == byte)
            .count()
    }

    /// The length in bytes of the UTF-8 character at `at` (1 past the end).
    fn char_width(&self, at: usize) -> usize {
        match self.bytes.get(at) {
            Some(&byte) if byte >= 0xf0 => 4,
            Some(&byte) if byte >= 0xe0 => 3,
            Some(&byte) if byte >= 0xc0 => 2,
            _ => 1,
        }
    }
}

fn is_word_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_word_byte(byte: u8) -> bool {
    is_word_start(byte) || byte.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::{Function, functions};

    fn measured(source: &str) -> Vec<(String, usize, usize)> {
        functions(source)
            .unwrap()
            .into_iter()
            .map(|Function { name, line, lines }| (name, line, lines))
            .collect()
    }

    #[test]
    fn braces_in_literals_comments_and_lifetimes_are_not_code() {
        let source = r###"
fn tricky<'a>(x: &'a str) -> char {
    let _ = "}"; let _ = "\"}"; let _ = b"}";
    let _ = r#"}" still raw"#; let _ = br##"}"#}"##; let _ = c"}";
    let _ = '}'; let _ = '\''; let _ = b'{'; let _ = '\u{7d}'; let _ = 'é';
    // }
    /* } /* nested } */ } */
    'outer: loop { break 'outer; }
    let r#fn = 1;
    '{'
}
fn after() {}
"###;
        assert_eq!(
            measured(source),
            [("tricky".to_owned(), 2, 10), ("after".to_owned(), 12, 1)]
        );
    }

    #[test]
    fn declarations_pointer_types_and_macro_functions_have_no_body() {
        let source = "trait T {\n    fn declared(&self);\n    fn defaulted(&self) {}\n}\n\
            type F = fn(u8) -> u8;\n\
            macro_rules! m { ($name:ident) => { fn $name() {} }; }\n\
            fn generic<T: Fn([u8; 2]) -> u8>(f: T) -> Vec<[u8; 4]> where T: Copy {\n    vec![]\n}\n";
        assert_eq!(
            measured(source),
            [("defaulted".to_owned(), 3, 1), ("generic".to_owned(), 7, 3)]
        );
    }

    #[test]
    fn nested_functions_are_measured_on_their_own() {
        let source = "fn outer() {\n    fn inner() {\n    }\n    let _ = || { 1 };\n}\n";
        assert_eq!(
            measured(source),
            [("outer".to_owned(), 1, 5), ("inner".to_owned(), 2, 2)]
        );
    }

    #[test]
    fn unbalanced_or_unterminated_source_is_an_error() {
        assert_eq!(
            functions("fn f() {"),
            Err("line 1: `{` is never closed".to_owned())
        );
        assert_eq!(
            functions("\n}"),
            Err("line 2: `}` without its `{`".to_owned())
        );
        assert_eq!(
            functions("fn f() { \"}"),
            Err("line 1: unterminated string".to_owned())
        );
        assert_eq!(
            functions("fn f() {}\n/* /* */"),
            Err("line 2: unterminated block comment".to_owned())
        );
        assert_eq!(
            functions("let _ = r#\"\"\n;"),
            Err("line 1: unterminated raw string".to_owned())
        );
    }
}
