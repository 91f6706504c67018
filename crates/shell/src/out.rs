//! Console output in pieces: [`Buffered`] collects text into a small
//! buffer and hands full buffers to a sink (the kernel's is Xen's
//! `console_io`), so one line is one hypercall rather than one per byte.

use core::fmt;

/// Bytes gathered before the sink is called.
pub const BUFFER: usize = 256;

/// A `fmt::Write` that sends text to `sink` in chunks of at most
/// [`BUFFER`] bytes, and what is left when dropped or flushed.
pub struct Buffered<F: FnMut(&[u8])> {
    buf: [u8; BUFFER],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8])> fmt::Debug for Buffered<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffered").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<F: FnMut(&[u8])> Buffered<F> {
    pub const fn new(sink: F) -> Self {
        Buffered { buf: [0; BUFFER], len: 0, sink }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl<F: FnMut(&[u8])> fmt::Write for Buffered<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == BUFFER {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

impl<F: FnMut(&[u8])> Drop for Buffered<F> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A log line as the kernel prints it: uptime stamp, level, message.
pub fn log_line(uptime_ns: u64, level: &dyn fmt::Display, args: &fmt::Arguments<'_>) -> alloc::string::String {
    alloc::format!("[{:>5}.{:06}] {:<5} {}\n", uptime_ns / 1_000_000_000, uptime_ns / 1000 % 1_000_000, level, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::fmt::Write;

    #[test]
    fn chunks_and_flushes_on_drop() {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        {
            let mut w = Buffered::new(|b: &[u8]| chunks.push(b.to_vec()));
            let long = "x".repeat(BUFFER + 10);
            w.write_str(&long).unwrap();
            w.write_str("y").unwrap();
        }
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), BUFFER);
        assert_eq!(chunks[1].len(), 11);
        assert_eq!(*chunks[1].last().unwrap(), b'y');
    }

    #[test]
    fn log_lines_carry_seconds_and_micros() {
        let l = log_line(3_000_123_456, &"INFO", &format_args!("hi {}", 1));
        assert_eq!(l, "[    3.000123] INFO  hi 1\n");
    }
}
