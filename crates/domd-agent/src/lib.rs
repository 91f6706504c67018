//! `domd-agent`: the driver domain's hotplug agent. Dom-D is a Linux DomU
//! that runs PV backends (xen-blkback, xen-netback); thindom (Dom0)
//! writes their backend directories into XenStore as libxl does, and this
//! program does inside Dom-D what `xl devd` and Xen's hotplug scripts
//! (tools/hotplug/Linux/block and vif-bridge, docs/misc/block-scripts.txt)
//! do there.
//!
//! For every `vbd` directory `/local/domain/<own>/backend/vbd/<fe>/<devid>/`
//! it reads `params`, `type` and `mode`; a regular file gets a loop device
//! (`losetup`, read-only for `mode=r`), a block device is used as it is;
//! then it writes `physical-device` (`major:minor` in lowercase hex, what
//! blkback waits for), `physical-device-path`, `node` (loop devices only,
//! as the block script) and `hotplug-status=connected`, or `hotplug-error`
//! and `hotplug-status=error`. When the directory goes, the loop device is
//! freed. For every `vif` directory it puts netback's interface on the
//! bridge the directory names ([`net`]). See [`agent`] for the exact rules.
//!
//! Layers, lowest first; each uses only those before it:
//! - [`scope`]: which paths are the agent's (its own backend tree only) and
//!   what a watch event names;
//! - [`system`] and [`store`]: the two small traits the decisions act
//!   through (loop devices and `stat`; XenStore reads, atomic writes,
//!   watches), with the path check ([`store::Guarded`]) and the XenStore
//!   implementation over any [`xenstore::client::Transport`];
//! - [`xenbus`]: that transport over a byte stream such as
//!   `/dev/xen/xenbus`;
//! - [`hotplug`]: the status nodes, the errors they report, and the checks
//!   on every node value;
//! - [`block`]: what a `vbd` directory asks for and how it is attached;
//! - [`net`]: the same for a `vif` directory (bridge, interface name);
//! - [`agent`]: the device records and the decisions;
//! - [`linux`] and [`cli`]: the edge (files, `losetup`, `brctl`, `ip`,
//!   options and the kernel command line), used by
//!   `main.rs`.
//!
//! Design rules: no `unsafe`; every node value is untrusted text (bounded
//! length, checked characters, never a panic); the agent reads and writes
//! only below `/local/domain/<own>/backend/` (the one exception is reading
//! its own `domid` at start, [`store::read_own_domid`]); every resource it
//! holds for others has a named limit ([`agent::MAX_DEVICES`],
//! [`MAX_VALUE_LEN`], [`scope::MAX_LISTED`]).
//!
//! Threat model: node contents come from Dom0 (the authority over which
//! files Dom-D serves) but are parsed as if hostile: a bad value is
//! answered with `hotplug-status=error` and a bounded `hotplug-error`
//! text. Watch events may name any path; those outside the backend tree
//! are ignored. `params` must be an absolute path, so it cannot be taken
//! for a `losetup` option.
#![forbid(unsafe_code)]

pub mod agent;
pub mod block;
pub mod cli;
pub mod hotplug;
pub mod linux;
pub mod net;
pub mod scope;
pub mod store;
pub mod system;
pub mod xenbus;

pub use agent::{Agent, Change, Record, MAX_DEVICES, WATCH_TOKEN};
pub use scope::{DeviceId, Kind, Scope};
pub use store::{Guarded, Store, StoreError, XsStore};
pub use system::{DevNum, FileKind, System};

/// Longest node value the agent accepts (bytes); longer ones are an error.
pub const MAX_VALUE_LEN: usize = 1024;
/// Longest `hotplug-error` text it writes (bytes; longer ones are cut).
pub const MAX_ERROR_LEN: usize = 512;

/// The node (relative to the agent's domain) it writes `ready` to before it
/// starts watching; Dom0 waits for it before it gives the domain devices
/// to serve. The domain's `data` directory is its own (libxl's layout).
pub const READY_NODE: &str = "data/domd-agent";

/// The line printed on stderr once the watch is set and the devices that
/// already existed are handled; tests and Dom0's console readers wait for
/// it.
pub fn ready_line(own: u16) -> String {
    format!("domd-agent: ready (domain {own})")
}

/// `s` cut to at most `max` bytes at a character boundary, with `...`
/// when cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_at_char_boundaries() {
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abcdef", 5), "ab...");
        assert_eq!(bounded("ééé", 6), "ééé");
        assert_eq!(bounded("éééé", 6), "é...");
        assert_eq!(bounded("abc", 0), "...");
        assert_eq!(ready_line(3), "domd-agent: ready (domain 3)");
    }
}
