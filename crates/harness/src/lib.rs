//! `harness`: boots Debian's Xen 4.17 for arm64 in `qemu-system-aarch64`
//! with thindom as Domain-0 (loaded by QEMU's `guest-loader`), and drives the
//! serial console: send a line, wait for a pattern, keep the whole log.
//!
//! Used by `cargo xtask run` (command line only), by `cargo xtask bench`
//! (timestamps of console lines) and by the `itest` integration tests.
//! Host-only (`std`); nothing here runs inside Xen.
#![forbid(unsafe_code)]

mod config;
pub mod reference;
mod session;
pub mod soak;

pub use config::QemuConfig;
pub use session::{echo_re, time_scale, without_xen_lines, Session, FATAL_PATTERNS};
