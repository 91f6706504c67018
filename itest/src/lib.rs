//! Shared helpers for the QEMU integration tests live in `tests/common`.
#![forbid(unsafe_code)]
