//! What boot established, handed to every command.

use crate::console;
use alloc::string::String;
use platform::Platform;

/// What boot established, handed to every command.
#[derive(Debug)]
pub struct Boot {
    pub platform: Platform,
    /// Set when Xen's sysctl/domctl interface is not the one we speak.
    pub interface_error: Option<String>,
}

impl Boot {
    /// For every command that issues sysctls or domctls: false (after
    /// printing `cmd: <why>`) when Xen refused our interface versions at
    /// boot, so no malformed management hypercall is ever sent.
    pub fn require_interface(&self, cmd: &str) -> bool {
        match &self.interface_error {
            Some(e) => {
                println!("{cmd}: {e}");
                false
            }
            None => true,
        }
    }
}

/// Prints what the DT told us.
pub fn describe_platform(p: &Platform) {
    print!("{}", p.describe(console::counter_freq()));
}

/// One line of what the DT told us, at boot: every byte written to the
/// serial console costs (under emulation about as much as the boot step
/// that prints it), and `dt` shows the whole description.
pub fn summarize_platform(p: &Platform) {
    let mib: u64 = p.memory.iter().map(|m| m.size >> 20).sum();
    let xen = p.hypervisor.as_ref().map_or_else(
        || String::from("no /hypervisor node"),
        |h| alloc::format!("xen {} (event channel IRQ {}, flags {:#x})", h.version, h.evtchn_intid, h.evtchn_flags),
    );
    let gic = p.gic.as_ref().map_or(0, |g| g.version());
    println!("platform: {}, {} cpu(s), {mib} MiB, {xen}, GICv{gic} ('dt' shows all)", p.model, p.cpus);
}
