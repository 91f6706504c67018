//! The xl.cfg syntax.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Largest file accepted.
pub const MAX_FILE: usize = 64 * 1024;
/// Longest string value.
pub const MAX_VALUE: usize = 4096;
/// Most items in a list.
pub const MAX_LIST: usize = 256;

/// A value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Num(u64),
    List(Vec<Value>),
}

/// `key = value` at `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub line: usize,
    pub key: String,
    pub value: Value,
}

/// A configuration error, naming the line (1-based) and the key if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub key: Option<String>,
    pub msg: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "line {}: {k}: {}", self.line, self.msg),
            None => write!(f, "line {}: {}", self.line, self.msg),
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    at: usize,
    line: usize,
}

impl Lexer<'_> {
    fn err(&self, key: Option<&str>, msg: impl Into<String>) -> Error {
        Error { line: self.line, key: key.map(String::from), msg: msg.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// Skips blanks and comments; newlines too if `nl`.
    fn skip(&mut self, nl: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'\n' if nl => {
                    self.at += 1;
                    self.line += 1;
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.at += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    fn string(&mut self, key: &str, quote: u8) -> Result<Value, Error> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err(Some(key), "unterminated string"))?;
            self.at += 1;
            match c {
                b'\n' => return Err(self.err(Some(key), "unterminated string")),
                c if c == quote => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err(Some(key), "unterminated string"))?;
                    self.at += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'\\' | b'"' | b'\'' => e,
                        _ => return Err(self.err(Some(key), alloc::format!("unknown escape \\{}", e as char))),
                    });
                }
                c => out.push(c),
            }
            if out.len() > MAX_VALUE {
                return Err(self.err(Some(key), alloc::format!("string longer than {MAX_VALUE} bytes")));
            }
        }
        String::from_utf8(out).map(Value::Str).map_err(|_| self.err(Some(key), "string is not UTF-8"))
    }

    fn number(&mut self, key: &str) -> Result<Value, Error> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.at += 1;
        }
        let t = core::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
        let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => t.parse(),
        };
        v.map(Value::Num).map_err(|_| self.err(Some(key), alloc::format!("bad number {t:?}")))
    }

    fn value(&mut self, key: &str, depth: usize) -> Result<Value, Error> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(key, q),
            Some(c) if c.is_ascii_digit() => self.number(key),
            Some(b'[') if depth == 0 => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip(true);
                    if self.peek() == Some(b']') {
                        self.at += 1;
                        return Ok(Value::List(items));
                    }
                    if items.len() == MAX_LIST {
                        return Err(self.err(Some(key), alloc::format!("list longer than {MAX_LIST} items")));
                    }
                    items.push(self.value(key, depth + 1)?);
                    self.skip(true);
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {}
                        _ => return Err(self.err(Some(key), "expected ',' or ']' in list")),
                    }
                }
            }
            Some(b'[') => Err(self.err(Some(key), "lists cannot be nested")),
            _ => Err(self.err(Some(key), "expected a string, a number or a list")),
        }
    }
}

/// Parses the syntax into settings (in file order).
pub fn parse(text: &str) -> Result<Vec<Setting>, Error> {
    if text.len() > MAX_FILE {
        return Err(Error { line: 0, key: None, msg: alloc::format!("file larger than {MAX_FILE} bytes") });
    }
    let mut lx = Lexer { s: text.as_bytes(), at: 0, line: 1 };
    let mut out: Vec<Setting> = Vec::new();
    loop {
        lx.skip(true);
        while lx.peek() == Some(b';') {
            lx.at += 1;
            lx.skip(true);
        }
        if lx.peek().is_none() {
            return Ok(out);
        }
        let key = lx.ident().ok_or_else(|| lx.err(None, "expected a key"))?;
        lx.skip(false);
        if lx.peek() != Some(b'=') {
            return Err(lx.err(Some(&key), "expected '=' after the key"));
        }
        lx.at += 1;
        lx.skip(false);
        let line = lx.line;
        let value = lx.value(&key, 0)?;
        if out.iter().any(|s| s.key == key) {
            return Err(Error { line, key: Some(key), msg: "given twice".into() });
        }
        out.push(Setting { line, key, value });
        lx.skip(false);
        match lx.peek() {
            None | Some(b'\n') | Some(b';') => {}
            _ => return Err(lx.err(Some(&out[out.len() - 1].key), "unexpected text after the value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        let s =
            parse("# c\nname = \"a b\" # x\nmemory=0x40; vcpus = 2\nirqs = [ 33,\n 34, ]\nextra='q\\'s'\n").unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].value, Value::Str("a b".into()));
        assert_eq!(s[1].value, Value::Num(64));
        assert_eq!(s[3].value, Value::List(alloc::vec![Value::Num(33), Value::Num(34)]));
        assert_eq!(s[3].line, 4);
        assert_eq!(s[4].value, Value::Str("q's".into()));
    }

    #[test]
    fn syntax_errors_name_line_and_key() {
        assert_eq!(parse("a = 1\nname = \"x").unwrap_err().to_string(), "line 2: name: unterminated string");
        assert_eq!(
            parse("memory = lots").unwrap_err().to_string(),
            "line 1: memory: expected a string, a number or a list"
        );
        assert_eq!(parse("x = 1\nx = 2").unwrap_err().to_string(), "line 2: x: given twice");
        assert_eq!(parse("= 3").unwrap_err().to_string(), "line 1: expected a key");
        assert!(parse("l = [[1]]").is_err());
        assert!(parse("m = 12abc").is_err());
    }
}
