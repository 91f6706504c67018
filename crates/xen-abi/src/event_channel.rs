//! `public/event_channel.h`: event-channel operations (`EVTCHNOP_*`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const EVTCHNOP_BIND_INTERDOMAIN: u64 = 0;
pub const EVTCHNOP_BIND_VIRQ: u64 = 1;
pub const EVTCHNOP_CLOSE: u64 = 3;
pub const EVTCHNOP_SEND: u64 = 4;
pub const EVTCHNOP_STATUS: u64 = 5;
pub const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
pub const EVTCHNOP_UNMASK: u64 = 9;

/// `public/xen.h: VIRQ_*`.
pub const VIRQ_TIMER: u32 = 0;
pub const VIRQ_DEBUG: u32 = 1;
pub const VIRQ_CONSOLE: u32 = 2;
pub const VIRQ_DOM_EXC: u32 = 3;
/// Global: raised whenever Xen appends to its console ring.
pub const VIRQ_CON_RING: u32 = 8;

/// `public/event_channel.h: struct evtchn_bind_virq`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EvtchnBindVirq {
    pub virq: u32,
    pub vcpu: u32,
    /// OUT.
    pub port: u32,
}
crate::assert_size!(EvtchnBindVirq, 12);

/// `public/event_channel.h: struct evtchn_close` (also `evtchn_send`, `evtchn_unmask`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EvtchnPortOnly {
    pub port: u32,
}
crate::assert_size!(EvtchnPortOnly, 4);

/// `public/event_channel.h: EVTCHNSTAT_*`.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
pub const EVTCHNSTAT_PIRQ: u32 = 3;
pub const EVTCHNSTAT_VIRQ: u32 = 4;
pub const EVTCHNSTAT_IPI: u32 = 5;

/// `public/event_channel.h: struct evtchn_alloc_unbound`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EvtchnAllocUnbound {
    pub dom: u16,
    pub remote_dom: u16,
    /// OUT.
    pub port: u32,
}
crate::assert_size!(EvtchnAllocUnbound, 8);

/// `public/event_channel.h: struct evtchn_bind_interdomain`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EvtchnBindInterdomain {
    pub remote_dom: u16,
    pub _pad: u16,
    pub remote_port: u32,
    /// OUT.
    pub local_port: u32,
}
crate::assert_size!(EvtchnBindInterdomain, 12);

/// `public/event_channel.h: struct evtchn_status`; the union `u` is kept
/// as two words: `u0` (unbound.dom / interdomain.dom / pirq / virq) and
/// `u1` (interdomain.port).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EvtchnStatus {
    pub dom: u16,
    pub _pad: u16,
    pub port: u32,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT.
    pub vcpu: u32,
    pub u0: u32,
    pub u1: u32,
}
crate::assert_size!(EvtchnStatus, 24);
crate::assert_offset!(EvtchnStatus, u0, 16);
