//! `public/xen.h`: `console_io` commands, and `public/io/console.h` ring.

/// `CONSOLEIO_write`: write bytes to Xen's console (Dom0 only in release builds).
pub const CONSOLEIO_WRITE: u64 = 0;
/// `CONSOLEIO_read`: read bytes typed on Xen's serial console.
pub const CONSOLEIO_READ: u64 = 1;
