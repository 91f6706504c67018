//! Xen's console for Dom0: output through `console_io`, the `log` backend
//! with uptime timestamps, and input from `CONSOLEIO_read` woken by
//! `VIRQ_CONSOLE`.

use crate::{arch::cpu, xen::xen};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// Buffered output to Xen's console (`console_io`), one hypercall per
/// line or 256 bytes.
pub type RawWriter = shell::out::Buffered<fn(&[u8])>;

fn console_write(b: &[u8]) {
    let _ = xen().console_write(b);
}

/// A writer to Xen's console.
pub fn writer() -> RawWriter {
    shell::out::Buffered::new(console_write as fn(&[u8]))
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let mut w = $crate::console::writer();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
    }};
}

/// `println!` to Xen's console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        let mut w = $crate::console::writer();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
        let _ = core::fmt::Write::write_str(&mut w, "\n");
    }};
}

/// Counter value at boot and the counter frequency: written once by
/// [`init_clock`] during single-threaded boot, read-only after that.
static CLOCK: cpu::Clock = cpu::Clock::new();

/// Starts the uptime clock (`dt_freq`: the DT's timer frequency, if any).
pub fn init_clock(dt_freq: Option<u32>) {
    CLOCK.start(dt_freq);
}

/// Nanoseconds since boot.
pub fn uptime_ns() -> u64 {
    CLOCK.uptime_ns()
}

/// Nanoseconds since Xen started this domain.
pub fn domain_age_ns() -> u64 {
    CLOCK.age_ns()
}

/// The counter frequency in use.
pub fn counter_freq() -> u64 {
    CLOCK.freq()
}

/// What each step of the boot did and when (the counter's value): kept for the `boottime` command rather than printed.
/// Under emulation every byte on Xen's serial console costs about 10 µs,
/// as much as the boot step that would print it; the boot prints two
/// lines and the prompt. Warnings and errors are printed as they happen.
static BOOT_STEPS: spin::Mutex<Vec<(u64, String)>> = spin::Mutex::new(Vec::new());

/// `thindom.verbose` on the command line: boot steps are printed too.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// The boot argument that prints every boot step as it happens.
pub const VERBOSE_ARG: &str = "thindom.verbose";

/// Prints boot steps as they happen (as info log lines) from now on.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Records what a boot step did (see [`boot_steps`]).
pub fn boot_step(what: core::fmt::Arguments<'_>) {
    let at = cpu::counter();
    let text = what.to_string();
    if VERBOSE.load(Ordering::Relaxed) {
        console_write(shell::out::log_line(CLOCK.ns_at(at), &log::Level::Info, &format_args!("{text}")).as_bytes());
    }
    BOOT_STEPS.lock().push((at, text));
}

/// The boot's steps: (ns since the first instruction, what it did).
pub fn boot_steps() -> Vec<(u64, String)> {
    BOOT_STEPS.lock().iter().map(|(at, what)| (CLOCK.ns_at(*at), what.clone())).collect()
}

/// Records a boot step: `step!("heap: {} KiB", n)`.
#[macro_export]
macro_rules! step {
    ($($arg:tt)*) => { $crate::console::boot_step(format_args!($($arg)*)) };
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, r: &log::Record<'_>) {
        console_write(shell::out::log_line(uptime_ns(), &r.level(), r.args()).as_bytes());
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the `log` backend.
pub fn init_logger() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}
