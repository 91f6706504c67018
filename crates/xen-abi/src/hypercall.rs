//! `public/xen.h`: hypercall numbers (`__HYPERVISOR_*`) used on Arm.

pub const MEMORY_OP: u64 = 12;
pub const XEN_VERSION: u64 = 17;
pub const CONSOLE_IO: u64 = 18;
pub const GRANT_TABLE_OP: u64 = 20;
pub const VCPU_OP: u64 = 24;
pub const SCHED_OP: u64 = 29;
pub const EVENT_CHANNEL_OP: u64 = 32;
pub const PHYSDEV_OP: u64 = 33;
pub const HVM_OP: u64 = 34;
pub const SYSCTL: u64 = 35;
pub const DOMCTL: u64 = 36;

/// `public/arch-arm.h`: the immediate of the `hvc` that makes a hypercall.
pub const XEN_HYPERCALL_TAG: u16 = 0xEA1;
