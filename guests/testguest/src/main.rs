//! `testguest`: a minimal Rust DomU that proves thindom's domain builder,
//! console daemon and XenStore work, fast.
//!
//! It boots from the arm64 Image header like Linux (same runtime as Dom0,
//! `aarch64-rt`), reads the device tree the builder generated, finds its
//! console and XenStore rings through HVM params, prints what it learned
//! on its PV console, reads and writes its XenStore keys, and then acts on
//! its command line: `action=poweroff` (default), `reboot`, `crash`,
//! `echo` (echo console input back until it reads "quit", then power off),
//! `flood` (console output without end), `hostile` (misbehaves against
//! Dom0's XenStore and console on purpose, see `hostile/mod.rs`) or
//! `xsbench` (times a fixed mix of XenStore operations over its ring, see
//! `xsbench.rs`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
extern crate alloc;

/// Prints a line on the PV console.
#[cfg(target_os = "none")]
macro_rules! say {
    ($($a:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!(crate::console::Console, $($a)*);
    }};
}

#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod guest;
#[cfg(target_os = "none")]
mod hostile;
#[cfg(target_os = "none")]
mod store;
#[cfg(target_os = "none")]
mod xen;
#[cfg(target_os = "none")]
mod xsbench;
