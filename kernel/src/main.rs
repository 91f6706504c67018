//! thindom: a thin Xen Domain-0 for aarch64, booted directly by Xen.
//!
//! This binary is glue: boot (relocation, MMU, heap, console), the
//! hypercall shim, and the shell loop. The logic lives in host-tested
//! library crates (`xen-abi`, `xen-hyp`, `platform`, `shell`).
//!
//! Boot order: `entry.S` (relocate, zero bss, vectors) -> `rust_start`:
//! early identity map -> boot heap arena -> clock and logger -> parse the DT
//! Xen passed in x0 -> full identity map -> heap over free RAM -> Xen
//! interface check -> shared info and `VIRQ_CONSOLE` -> shell.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod bootdisk;
#[cfg(target_os = "none")]
mod cmds;
#[cfg(target_os = "none")]
mod guestmem;
#[cfg(target_os = "none")]
#[macro_use]
mod console;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod evtchn;
#[cfg(target_os = "none")]
mod gnttab;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod input;
#[cfg(target_os = "none")]
mod irq;
#[cfg(target_os = "none")]
mod kmain;
#[cfg(target_os = "none")]
mod mm;
#[cfg(target_os = "none")]
mod selftest;
#[cfg(target_os = "none")]
mod terminal;
#[cfg(target_os = "none")]
mod ts;
#[cfg(target_os = "none")]
mod xen;
