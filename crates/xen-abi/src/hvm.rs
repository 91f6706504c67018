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

/// `HVM_PARAM_CALLBACK_IRQ` value bits: the type in the top byte.
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT: u32 = 56;
/// Callback type "PPI" (Arm).
pub const HVM_PARAM_CALLBACK_TYPE_PPI: u64 = 2;
/// PPI flags (bits 8..16): active-low level-sensitive.
pub const HVM_PARAM_CALLBACK_TYPE_PPI_FLAG_LOW_LEVEL: u64 = 2;

/// The `HVM_PARAM_CALLBACK_IRQ` value for event-channel upcalls on `ppi`,
/// active-low level-sensitive (what libxl sets for every Arm guest).
pub const fn callback_via_ppi(ppi: u32) -> u64 {
    (HVM_PARAM_CALLBACK_TYPE_PPI << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT)
        | (HVM_PARAM_CALLBACK_TYPE_PPI_FLAG_LOW_LEVEL << 8)
        | ppi as u64
}

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
