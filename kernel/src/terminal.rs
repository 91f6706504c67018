//! The terminal's I/O: Xen's console attached to the shell or to a guest's
//! console (the state and the queued guest input are
//! `shell::terminal::Terminal`'s).

use crate::{console, ts};
use alloc::string::String;
use shell::terminal::{Terminal, Typed};

/// The shell prompt.
pub const PROMPT: &str = "thindom> ";

static TERM: spin::Mutex<Terminal> = spin::Mutex::new(Terminal::new());

/// The domain the terminal is attached to.
pub fn attached() -> Option<u16> {
    TERM.lock().attached()
}

/// Attaches the terminal to `id`'s console, printing what it logged so far.
pub fn attach(id: u16) -> Result<(), String> {
    let (start, bytes) = ts::with(|ts| ts.console_since(id, 0))
        .flatten()
        .ok_or("no console for that domain (not created by thindom)")?;
    show(&bytes);
    TERM.lock().attach(id, start + bytes.len() as u64);
    Ok(())
}

fn show(bytes: &[u8]) {
    let _ = core::fmt::Write::write_str(&mut console::writer(), &String::from_utf8_lossy(bytes));
}

/// Prints what `id` logged since the last look (with the toolstack in
/// hand), if the terminal is attached to it.
pub fn show_since(toolstack: &ts::Ts, id: u16) {
    let mut t = TERM.lock();
    let Some(from) = t.shown(id) else { return };
    if let Some((start, bytes)) = toolstack.console_since(id, from) {
        show(&bytes);
        t.set_shown(id, start + bytes.len() as u64);
    }
}

/// Prints what `id` logged since the last look and gives it the input
/// that waits for room in its ring, if the terminal is attached to it.
pub fn on_output(id: u16) {
    ts::with(|t| show_since(t, id));
    let mut t = TERM.lock();
    if t.attached() == Some(id) {
        t.flush_input(|b| ts::with(|ts| ts.console_input(id, b)).unwrap_or(0));
    }
}

/// Detaches the terminal, saying why, and prompts again.
pub fn detach(reason: &str) {
    if TERM.lock().detach() {
        crate::println!("\n[{reason}]");
        crate::print!("{PROMPT}");
    }
}

/// Bytes typed while attached: queued for the guest up to Ctrl-] (which
/// detaches) as far as there is room, and given as its ring has room.
/// Returns how many bytes were taken: 0 if the shell has them (not
/// attached) or the guest's queue is full (they wait in `input`).
pub fn typed(bytes: &[u8]) -> usize {
    let mut t = TERM.lock();
    let (what, used) = t.typed(bytes);
    if what == Typed::Shell {
        return 0;
    }
    if let Some(id) = t.attached() {
        t.flush_input(|b| ts::with(|ts| ts.console_input(id, b)).unwrap_or(0));
    }
    drop(t);
    if what == Typed::Detached {
        detach("detached from the console");
    }
    used
}
