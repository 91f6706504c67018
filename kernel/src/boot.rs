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
