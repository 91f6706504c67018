//! Where typed bytes go: the shell, or a guest's console (as
//! `xl console`; Ctrl-] detaches). Input for a guest is queued here
//! (bounded, then held back in [`crate::input`]) and handed to the guest's
//! ring as it makes room, so a paste longer than the ring is not cut
//! short; output already shown is remembered as a log offset.

use alloc::collections::VecDeque;

/// Ctrl-]: detaches the terminal from a guest console (as in xl).
pub const DETACH: u8 = 0x1d;

/// Most bytes of typed input held for a guest that has not taken them.
pub const INPUT_LIMIT: usize = 16 * 1024;

/// What typed bytes asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// Not attached: the shell's.
    Shell,
    /// Queued for the guest.
    Queued,
    /// Queued up to Ctrl-], then detached.
    Detached,
}

/// The terminal's state.
#[derive(Debug, Default)]
pub struct Terminal {
    /// The guest attached, and the console-log offset shown so far.
    attached: Option<(u16, u64)>,
    input: VecDeque<u8>,
}

impl Terminal {
    pub const fn new() -> Self {
        Terminal { attached: None, input: VecDeque::new() }
    }

    /// Attaches to `dom`'s console, whose log has been shown up to `shown`.
    pub fn attach(&mut self, dom: u16, shown: u64) {
        self.attached = Some((dom, shown));
        self.input = VecDeque::new();
    }

    /// The guest attached.
    pub fn attached(&self) -> Option<u16> {
        self.attached.map(|a| a.0)
    }

    /// Detaches; whether it was attached. Queued input is dropped.
    pub fn detach(&mut self) -> bool {
        self.input = VecDeque::new();
        self.attached.take().is_some()
    }

    /// The log offset shown for `dom`, if attached to it.
    pub fn shown(&self, dom: u16) -> Option<u64> {
        self.attached.filter(|a| a.0 == dom).map(|a| a.1)
    }

    /// Records that `dom`'s log is shown up to `to`.
    pub fn set_shown(&mut self, dom: u16, to: u64) {
        if let Some(a) = self.attached.as_mut().filter(|a| a.0 == dom) {
            a.1 = to;
        }
    }

    /// Bytes typed; returns what they asked for and how many of them
    /// were taken. Attached: queued for the guest up to and including
    /// Ctrl-] (which detaches: what follows is the shell's), as many as
    /// [`INPUT_LIMIT`] leaves room for; the rest stays with the caller
    /// until the guest has taken some (backpressure, never a drop).
    pub fn typed(&mut self, bytes: &[u8]) -> (Typed, usize) {
        if self.attached.is_none() {
            return (Typed::Shell, 0);
        }
        let room = INPUT_LIMIT - self.input.len();
        let fits = &bytes[..bytes.len().min(room)];
        match bytes.iter().position(|&b| b == DETACH) {
            // Flushing what came before Ctrl-] is the caller's, before
            // it detaches.
            Some(i) if i <= fits.len() => {
                self.input.extend(&bytes[..i]);
                (Typed::Detached, i + 1)
            }
            _ => {
                self.input.extend(fits);
                (Typed::Queued, fits.len())
            }
        }
    }

    /// Offers the queued input to `give` (the guest's ring), which returns
    /// how many bytes it took; repeats while it takes some. Returns the
    /// bytes taken.
    pub fn flush_input(&mut self, mut give: impl FnMut(&[u8]) -> usize) -> usize {
        let mut total = 0;
        while !self.input.is_empty() {
            let (a, _) = self.input.as_slices();
            let n = give(a).min(a.len());
            if n == 0 {
                break;
            }
            self.input.drain(..n);
            total += n;
        }
        if self.input.is_empty() {
            // Hold no buffer while nothing waits.
            self.input = VecDeque::new();
        }
        total
    }

    /// Input bytes waiting for the guest.
    pub fn queued(&self) -> usize {
        self.input.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Once the guest took everything, or on detach, no buffer is held.
    #[test]
    fn an_empty_queue_holds_no_buffer() {
        let mut t = Terminal::new();
        t.attach(3, 0);
        assert_eq!(t.typed(&[b'x'; 3000]), (Typed::Queued, 3000));
        assert_eq!(t.flush_input(|b| b.len()), 3000);
        assert_eq!(t.input.capacity(), 0);
        t.typed(&[b'y'; 100]);
        t.detach();
        assert_eq!(t.input.capacity(), 0);
    }

    #[test]
    fn input_waits_for_room_and_ctrl_bracket_detaches() {
        let mut t = Terminal::new();
        assert_eq!(t.typed(b"ls\n"), (Typed::Shell, 0));
        t.attach(3, 100);
        assert_eq!((t.attached(), t.shown(3), t.shown(4)), (Some(3), Some(100), None));
        let line: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(t.typed(&line), (Typed::Queued, 3000));
        // A ring with 1024 bytes of room, then none, then room again.
        let mut ring: Vec<u8> = Vec::new();
        let mut room = 1024;
        t.flush_input(|b| {
            let n = b.len().min(room);
            ring.extend_from_slice(&b[..n]);
            room -= n;
            n
        });
        assert_eq!((ring.len(), t.queued()), (1024, 3000 - 1024));
        t.flush_input(|b| {
            ring.extend_from_slice(b);
            b.len()
        });
        assert_eq!(ring, line, "every byte, in order");
        assert_eq!(t.typed(b"x\x1dy"), (Typed::Detached, 2), "y is the shell's");
        assert_eq!(t.queued(), 1, "what came before Ctrl-] is still to go");
        assert!(t.detach());
        assert!(!t.detach());
    }

    #[test]
    fn a_full_queue_pushes_back_instead_of_dropping() {
        let mut t = Terminal::new();
        t.attach(1, 0);
        assert_eq!(t.typed(&alloc::vec![b'z'; INPUT_LIMIT + 10]), (Typed::Queued, INPUT_LIMIT));
        assert_eq!(t.typed(b"more"), (Typed::Queued, 0));
        // Ctrl-] still gets through a full queue.
        assert_eq!(t.typed(b"\x1d"), (Typed::Detached, 1));
        assert_eq!(t.typed(b"ab\x1d"), (Typed::Queued, 0), "a and b must wait");
        let mut room = 2;
        t.flush_input(|b| {
            let n = b.len().min(room);
            room -= n;
            n
        });
        assert_eq!(t.typed(b"ab\x1d"), (Typed::Detached, 3));
        assert_eq!(t.queued(), INPUT_LIMIT);
        t.set_shown(1, 77);
        assert_eq!(t.shown(1), Some(77));
    }
}
