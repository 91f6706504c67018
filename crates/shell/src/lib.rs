//! `shell`: the pure parts of thindom's console shell.
//!
//! - [`LineEditor`]: turns typed bytes into lines with echo, backspace,
//!   Ctrl-C/Ctrl-U, and history on the arrow keys (VT100 escapes).
//! - [`split`]: a command line into words (with `"quoted words"`).
//! - [`format`]: `xl`-compatible text for `list`, `info`, `version`.
//! - [`out`]: buffered console output and the log line format.
//! - [`terminal`]: shell or guest console, queued guest input.
//! - [`input`]: typed bytes read out of Xen before they are used.
//!
//! No I/O here: the kernel feeds bytes in and writes the returned text out,
//! so everything is tested on the host.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod format;
pub mod input;
mod line;
pub mod out;
pub mod terminal;

pub use line::{Event, LineEditor, MAX_HISTORY, MAX_LINE};

use alloc::string::String;
use alloc::vec::Vec;

/// Splits a command line into words; double or single quotes group words.
/// Returns `Err` for an unterminated quote.
pub fn split(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    // The open quote, if any: inside `"..."` or `'...'` the other quote
    // character and blanks are literal (as in sh, without escapes), so
    // `'dtdev=["/pl031@9010000"]'` passes xl.cfg syntax through.
    let mut quoted: Option<char> = None;
    for c in line.chars() {
        match c {
            '"' | '\'' if quoted.is_none() || quoted == Some(c) => {
                quoted = if quoted.is_some() { None } else { Some(c) };
                in_word = true;
            }
            c if c.is_whitespace() && quoted.is_none() => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted.is_some() {
        return Err("unterminated quote");
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_and_quotes() {
        assert_eq!(split("  list  -l ").unwrap(), ["list", "-l"]);
        assert_eq!(split("echo \"a b\" c").unwrap(), ["echo", "a b", "c"]);
        assert_eq!(split("create t 'dtdev=[\"/a b\"]'").unwrap(), ["create", "t", "dtdev=[\"/a b\"]"]);
        assert_eq!(split("x \"it's\"").unwrap(), ["x", "it's"]);
        assert!(split("x 'open").is_err());
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert!(split("echo \"oops").is_err());
    }

    proptest::proptest! {
        #[test]
        fn split_never_panics_and_words_have_no_space(s in "\\PC{0,64}") {
            if let Ok(w) = split(&s) {
                for word in w { proptest::prop_assert!(!word.is_empty() || s.contains('"')); }
            }
        }
    }
}
