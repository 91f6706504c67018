//! Xen's console for Dom0: output through `console_io`, the `log` backend
//! with uptime timestamps, and input from `CONSOLEIO_read` woken by
//! `VIRQ_CONSOLE`.

use crate::{arch::cpu, xen::xen};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

/// A non-allocating writer that batches into a stack buffer and writes
/// through `console_io`. Usable from exception handlers and panics.
#[derive(Debug)]
pub struct RawWriter {
    buf: [u8; 256],
    len: usize,
}

impl RawWriter {
    pub const fn new() -> Self {
        RawWriter { buf: [0; 256], len: 0 }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = xen().console_write(&self.buf[..self.len]);
            self.len = 0;
        }
    }

    fn push(&mut self, b: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
    }
}

impl Default for RawWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for RawWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Xen's serial driver turns "\n" into "\r\n" itself.
        for &b in s.as_bytes() {
            self.push(b);
        }
        Ok(())
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `print!` to Xen's console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let mut w = $crate::console::RawWriter::new();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
    }};
}

/// `println!` to Xen's console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        let mut w = $crate::console::RawWriter::new();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
        let _ = core::fmt::Write::write_str(&mut w, "\n");
    }};
}

/// Counter value at boot and the counter frequency: written once by
/// [`init_clock`] during single-threaded boot, read-only after that.
static BOOT_COUNTER: AtomicU64 = AtomicU64::new(0);
static COUNTER_FREQ: AtomicU64 = AtomicU64::new(0);

/// Records boot time and the counter frequency (DT value wins over CNTFRQ).
pub fn init_clock(dt_freq: Option<u32>) {
    BOOT_COUNTER.store(cpu::counter(), Ordering::Relaxed);
    let freq = dt_freq.map(u64::from).filter(|&f| f != 0).unwrap_or_else(cpu::counter_freq);
    COUNTER_FREQ.store(freq, Ordering::Relaxed);
}

/// Nanoseconds since thindom started.
pub fn uptime_ns() -> u64 {
    let boot = BOOT_COUNTER.load(Ordering::Relaxed);
    cpu::ticks_to_ns(cpu::counter().wrapping_sub(boot), counter_freq())
}

/// Nanoseconds since this domain was created (the virtual counter is
/// offset by Xen to start at domain creation).
pub fn domain_age_ns() -> u64 {
    cpu::ticks_to_ns(cpu::counter(), counter_freq())
}

/// Counter frequency in Hz.
pub fn counter_freq() -> u64 {
    COUNTER_FREQ.load(Ordering::Relaxed)
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, r: &log::Record<'_>) {
        let ns = uptime_ns();
        let mut w = RawWriter::new();
        let _ = writeln!(w, "[{:>5}.{:06}] {:<5} {}", ns / 1_000_000_000, ns / 1000 % 1_000_000, r.level(), r.args());
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the `log` backend.
pub fn init_logger() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}
