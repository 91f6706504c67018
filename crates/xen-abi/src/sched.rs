//! `public/sched.h`: `sched_op` commands and arguments.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const SCHEDOP_YIELD: u64 = 0;
pub const SCHEDOP_BLOCK: u64 = 1;
pub const SCHEDOP_SHUTDOWN: u64 = 2;
pub const SCHEDOP_POLL: u64 = 3;
pub const SCHEDOP_REMOTE_SHUTDOWN: u64 = 4;

/// `enum sched_shutdown_reason`.
pub const SHUTDOWN_POWEROFF: u32 = 0;
pub const SHUTDOWN_REBOOT: u32 = 1;
pub const SHUTDOWN_SUSPEND: u32 = 2;
pub const SHUTDOWN_CRASH: u32 = 3;
pub const SHUTDOWN_WATCHDOG: u32 = 4;
pub const SHUTDOWN_SOFT_RESET: u32 = 5;

/// `public/sched.h: struct sched_shutdown`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SchedShutdown {
    pub reason: u32,
}
crate::assert_size!(SchedShutdown, 4);

/// `public/sched.h: struct sched_poll`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SchedPoll {
    /// Guest handle to an array of `evtchn_port_t`.
    pub ports: u64,
    pub nr_ports: u32,
    pub _pad: u32,
    /// Absolute Xen system time (ns) or 0 for none.
    pub timeout: u64,
}
crate::assert_size!(SchedPoll, 24);
crate::assert_offset!(SchedPoll, timeout, 16);

/// `public/sched.h: struct sched_remote_shutdown`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SchedRemoteShutdown {
    pub domain_id: u16,
    pub _pad: u16,
    pub reason: u32,
}
crate::assert_size!(SchedRemoteShutdown, 8);
