//! The terminal: attached to the shell, or to a guest's console (as
//! `xl console`; Ctrl-] detaches).

use crate::{console, ts};
use alloc::string::String;

/// The shell prompt.
pub const PROMPT: &str = "thindom> ";

/// The domain whose console the terminal is attached to, and the log
/// offset printed so far.
static ATTACHED: spin::Mutex<Option<(u16, u64)>> = spin::Mutex::new(None);

/// Ctrl-]: detaches the terminal from a guest console (as in xl).
const DETACH: u8 = 0x1d;

/// The domain the terminal is attached to.
pub fn attached() -> Option<u16> {
    ATTACHED.lock().map(|a| a.0)
}

/// Attaches the terminal to `id`'s console, printing what it logged so far.
pub fn attach(id: u16) -> Result<(), String> {
    let (_, bytes) = ts::with(|ts| ts.console_since(id, 0))
        .flatten()
        .ok_or("no console for that domain (not created by thindom)")?;
    let mut w = console::RawWriter::new();
    let _ = core::fmt::Write::write_str(&mut w, &String::from_utf8_lossy(&bytes));
    let end = ts::with(|ts| ts.console_stats(id)).flatten().map_or(0, |s| s.0);
    *ATTACHED.lock() = Some((id, end));
    Ok(())
}

/// Prints what `id` logged since the last look, if the terminal is
/// attached to it.
pub fn print_new_output(id: u16) {
    let mut a = ATTACHED.lock();
    let Some((att, from)) = *a else { return };
    if att != id {
        return;
    }
    if let Some((start, bytes)) = ts::with(|ts| ts.console_since(id, from)).flatten() {
        let mut w = console::RawWriter::new();
        let _ = core::fmt::Write::write_str(&mut w, &String::from_utf8_lossy(&bytes));
        *a = Some((id, start + bytes.len() as u64));
    }
}

/// Detaches the terminal, saying why, and prompts again.
pub fn detach(reason: &str) {
    if ATTACHED.lock().take().is_some() {
        crate::println!("\n[{reason}]");
        crate::print!("{PROMPT}");
    }
}

/// Bytes typed while attached: forwarded to the guest up to Ctrl-].
pub fn forward_input(id: u16, bytes: &[u8]) {
    let (fwd, det) = match bytes.iter().position(|&b| b == DETACH) {
        Some(i) => (&bytes[..i], true),
        None => (bytes, false),
    };
    let mut rest = fwd;
    let mut spins = 0;
    while !rest.is_empty() && spins < 1000 {
        let n = ts::with(|ts| ts.console_input(id, rest)).unwrap_or(0);
        rest = &rest[n..];
        spins += 1;
    }
    if det {
        detach("detached from the console");
    }
}
