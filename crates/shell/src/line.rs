//! A small line editor for a serial terminal.

use alloc::collections::VecDeque;
use alloc::string::String;
use core::fmt::Write;

/// Longest line accepted; further typed characters are dropped (bell).
pub const MAX_LINE: usize = 4096;
/// History entries kept.
pub const MAX_HISTORY: usize = 32;

/// What a typed byte produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing complete yet.
    None,
    /// Enter was pressed: the line (without newline).
    Line(String),
    /// Ctrl-C: the line was abandoned.
    Interrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Started,
    Csi,
}

/// Line editor state.
#[derive(Debug)]
pub struct LineEditor {
    prompt: String,
    buf: String,
    history: VecDeque<String>,
    /// Position while browsing history (0 = newest).
    browse: Option<usize>,
    esc: Esc,
    last_cr: bool,
}

impl LineEditor {
    /// A new editor printing `prompt`.
    pub fn new(prompt: &str) -> Self {
        LineEditor {
            prompt: prompt.into(),
            buf: String::new(),
            history: VecDeque::new(),
            browse: None,
            esc: Esc::None,
            last_cr: false,
        }
    }

    /// The prompt text.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The line typed so far.
    pub fn current(&self) -> &str {
        &self.buf
    }

    /// History, newest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(|s| s.as_str())
    }

    fn redraw(&self, out: &mut dyn Write) {
        let _ = write!(out, "\r\x1b[2K{}{}", self.prompt, self.buf);
    }

    fn recall(&mut self, older: bool, out: &mut dyn Write) {
        let next = match (self.browse, older) {
            (None, true) if !self.history.is_empty() => Some(0),
            (Some(i), true) if i + 1 < self.history.len() => Some(i + 1),
            (Some(i), true) => Some(i),
            (Some(0), false) | (None, false) => None,
            (Some(i), false) => Some(i - 1),
            (None, true) => None,
        };
        self.browse = next;
        self.buf = next.and_then(|i| self.history.get(i).cloned()).unwrap_or_default();
        self.redraw(out);
    }

    /// Feeds one typed byte; echo and redraws go to `out`.
    pub fn feed(&mut self, b: u8, out: &mut dyn Write) -> Event {
        let was_cr = core::mem::replace(&mut self.last_cr, false);
        match self.esc {
            Esc::Started => {
                self.esc = if b == b'[' || b == b'O' { Esc::Csi } else { Esc::None };
                return Event::None;
            }
            Esc::Csi => {
                if b.is_ascii_digit() || b == b';' {
                    return Event::None;
                }
                self.esc = Esc::None;
                match b {
                    b'A' => self.recall(true, out),
                    b'B' => self.recall(false, out),
                    _ => {}
                }
                return Event::None;
            }
            Esc::None => {}
        }
        match b {
            0x1b => self.esc = Esc::Started,
            b'\r' | b'\n' => {
                if b == b'\n' && was_cr {
                    return Event::None;
                }
                self.last_cr = b == b'\r';
                let _ = out.write_str("\r\n");
                let line = core::mem::take(&mut self.buf);
                self.browse = None;
                let t = line.trim();
                if !t.is_empty() && self.history.front().map(|h| h.as_str()) != Some(t) {
                    self.history.push_front(t.into());
                    self.history.truncate(MAX_HISTORY);
                }
                return Event::Line(line);
            }
            0x7f | 0x08 if self.buf.pop().is_some() => {
                let _ = out.write_str("\x08 \x08");
            }
            0x03 => {
                self.buf.clear();
                self.browse = None;
                let _ = out.write_str("^C\r\n");
                return Event::Interrupt;
            }
            0x15 => {
                self.buf.clear();
                self.redraw(out);
            }
            0x20..=0x7e => {
                if self.buf.len() < MAX_LINE {
                    self.buf.push(b as char);
                    let _ = out.write_char(b as char);
                } else {
                    let _ = out.write_char('\x07');
                }
            }
            _ => {}
        }
        Event::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ed: &mut LineEditor, s: &[u8]) -> (alloc::vec::Vec<Event>, String) {
        let mut out = String::new();
        let ev = s.iter().map(|&b| ed.feed(b, &mut out)).filter(|e| *e != Event::None).collect();
        (ev, out)
    }

    #[test]
    fn echo_backspace_enter() {
        let mut ed = LineEditor::new("> ");
        let (ev, out) = feed(&mut ed, b"lisx\x7ft\r\n");
        assert_eq!(ev, [Event::Line("list".into())]);
        assert_eq!(out, "lisx\x08 \x08t\r\n");
    }

    #[test]
    fn history_with_arrows() {
        let mut ed = LineEditor::new("> ");
        feed(&mut ed, b"one\rtwo\r");
        let (ev, out) = feed(&mut ed, b"\x1b[A\x1b[A\r");
        assert_eq!(ev, [Event::Line("one".into())]);
        assert!(out.contains("> two") && out.contains("> one"));
        let (ev, _) = feed(&mut ed, b"\x1b[A\x1b[B\x1b[Bx\r");
        assert_eq!(ev, [Event::Line("x".into())]);
    }

    #[test]
    fn ctrl_c_and_overlong_lines() {
        let mut ed = LineEditor::new("> ");
        let (ev, _) = feed(&mut ed, b"abc\x03");
        assert_eq!(ev, [Event::Interrupt]);
        let long = alloc::vec![b'a'; MAX_LINE + 10];
        let (_, out) = feed(&mut ed, &long);
        assert_eq!(ed.current().len(), MAX_LINE);
        assert_eq!(out.matches('\x07').count(), 10);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_keep_invariants(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let mut ed = LineEditor::new("> ");
            let mut out = String::new();
            for b in bytes {
                if let Event::Line(l) = ed.feed(b, &mut out) {
                    proptest::prop_assert!(l.len() <= MAX_LINE);
                }
                proptest::prop_assert!(ed.current().len() <= MAX_LINE);
                proptest::prop_assert!(ed.history().count() <= MAX_HISTORY);
            }
        }
    }
}
