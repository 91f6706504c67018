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
    println!("platform: {} ({} cpu(s) visible to Dom0)", p.model, p.cpus);
    for m in &p.memory {
        println!("  memory   {:#012x}-{:#012x} ({} MiB)", m.base, m.end(), m.size >> 20);
    }
    match &p.hypervisor {
        Some(h) => {
            println!("  xen      {} (event channel IRQ {}, flags {:#x})", h.version, h.evtchn_intid, h.evtchn_flags);
            println!("  grant    {:#012x}-{:#012x}", h.grant_table.base, h.grant_table.end());
            for r in &h.extended_regions {
                println!("  extended {:#012x}-{:#012x} ({} MiB)", r.base, r.end(), r.size >> 20);
            }
        }
        None => println!("  xen      no /hypervisor node"),
    }
    if let Some(g) = &p.gic {
        let [a, b] = g.regions();
        println!("  gic      v{} at {:#x}, {:#x}", g.version(), a.base, b.base);
    }
    println!(
        "  timer    {} Hz{}",
        console::counter_freq(),
        if p.timer.clock_frequency.is_some() { " (from DT)" } else { "" }
    );
    println!("  bootargs \"{}\"", p.bootargs);
    if let Some(r) = p.initrd {
        println!("  initrd   {:#012x}-{:#012x} ({} KiB)", r.base, r.end(), r.size >> 10);
    }
    println!("  seed     {} bytes of boot entropy (/chosen rng-seed, kaslr-seed)", p.seed.len());
}
