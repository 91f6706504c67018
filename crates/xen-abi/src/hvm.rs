//! `public/hvm/hvm_op.h` and `public/hvm/params.h`: HVM parameters, which
//! tell an Arm guest where its console and XenStore rings are.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const HVMOP_SET_PARAM: u64 = 0;
pub const HVMOP_GET_PARAM: u64 = 1;

pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
pub const HVM_PARAM_STORE_PFN: u32 = 1;
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;

/// `public/hvm/hvm_op.h: struct xen_hvm_param`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvmParam {
    pub domid: u16,
    pub pad: u16,
    pub index: u32,
    pub value: u64,
}
crate::assert_size!(HvmParam, 16);
