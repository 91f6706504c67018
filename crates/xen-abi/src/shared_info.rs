//! `public/xen.h`: `struct shared_info` and `struct vcpu_info` as laid out on
//! Arm (`XEN_LEGACY_MAX_VCPUS` = 1, no upcall mask, empty arch parts).
//!
//! Only offsets are exported: the page is written by Xen concurrently, so the
//! kernel accesses it with atomics at these offsets, never through a Rust
//! reference to a struct.

/// `sizeof(struct vcpu_info)` on Arm: pending(1) pad(1) pad(6)
/// pending_sel(8) time(32).
pub const VCPU_INFO_SIZE: usize = 48;
/// `vcpu_info.evtchn_upcall_pending`.
pub const VCPU_INFO_UPCALL_PENDING: usize = 0;
/// `vcpu_info.evtchn_pending_sel`.
pub const VCPU_INFO_PENDING_SEL: usize = 8;
/// `shared_info.evtchn_pending[64]` (64-bit words).
pub const EVTCHN_PENDING: usize = VCPU_INFO_SIZE;
/// `shared_info.evtchn_mask[64]`.
pub const EVTCHN_MASK: usize = EVTCHN_PENDING + 64 * 8;
/// `shared_info.wc_version`: odd while Xen updates the wallclock.
pub const WC_VERSION: usize = EVTCHN_MASK + 64 * 8;
/// `shared_info.wc_sec`.
pub const WC_SEC: usize = WC_VERSION + 4;
/// `shared_info.wc_nsec`.
pub const WC_NSEC: usize = WC_SEC + 4;
/// `shared_info.wc_sec_hi` (not i386).
pub const WC_SEC_HI: usize = WC_NSEC + 4;
/// Number of ports the 2-level ABI addresses on a 64-bit guest.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;
