//! The crash report: vector, exception class, ESR decoded, ELR relative to
//! the image, FAR, SPSR and all registers. The binary's
//! `exception_handler` prints it and shuts the domain down.

use core::fmt::Write;

/// Registers saved by `exception_common` in `entry.S` (288 bytes).
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub sp: u64,
    pub elr: u64,
    pub spsr: u64,
    pub esr: u64,
    pub far: u64,
}
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 288);

/// Which vector was taken (the `kind` constant in `entry.S`).
fn vector_name(kind: u64) -> &'static str {
    let origin = match kind >> 4 {
        0 => "current EL with SP0",
        1 => "current EL with SPx",
        2 => "lower EL (AArch64)",
        _ => "lower EL (AArch32)",
    };
    let _ = origin;
    match kind & 0xf {
        0 => "Synchronous exception",
        1 => "IRQ",
        2 => "FIQ",
        _ => "SError",
    }
}

/// Name of an ESR_EL1 exception class.
pub fn exception_class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "Unknown reason",
        0x01 => "Trapped WFI/WFE",
        0x07 => "Access to SIMD/FP trapped",
        0x0e => "Illegal execution state",
        0x15 => "SVC (AArch64)",
        0x16 => "HVC (AArch64)",
        0x18 => "Trapped MSR/MRS/system instruction",
        0x20 => "Instruction Abort from a lower EL",
        0x21 => "Instruction Abort (same EL)",
        0x22 => "PC alignment fault",
        0x24 => "Data Abort from a lower EL",
        0x25 => "Data Abort (same EL)",
        0x26 => "SP alignment fault",
        0x2f => "SError interrupt",
        0x30 | 0x31 => "Breakpoint",
        0x32 | 0x33 => "Software step",
        0x34 | 0x35 => "Watchpoint",
        0x3c => "BRK instruction",
        _ => "Other",
    }
}

/// Data/instruction abort fault status (ISS[5:0]) as text.
fn fault_status(iss: u64) -> &'static str {
    match iss & 0x3f {
        0x00..=0x03 => "address size fault",
        0x04..=0x07 => "translation fault",
        0x09..=0x0b => "access flag fault",
        0x0d..=0x0f => "permission fault",
        0x10 => "synchronous external abort",
        0x21 => "alignment fault",
        _ => "other fault",
    }
}

/// Prints the crash report for `f`.
pub fn report(w: &mut dyn Write, f: &TrapFrame, kind: u64) {
    let (base, _) = crate::entry::image_range();
    let ec = (f.esr >> 26) & 0x3f;
    let iss = f.esr & 0x1ff_ffff;
    let _ = writeln!(
        w,
        "\r\n*** thindom crash: {} taken at {}",
        vector_name(kind),
        match kind >> 4 {
            0 => "current EL with SP0",
            1 => "current EL with SPx",
            2 => "lower EL (AArch64)",
            _ => "lower EL (AArch32)",
        }
    );
    let _ = writeln!(w, "    EC   {ec:#04x} ({})", exception_class_name(ec));
    let _ = write!(w, "    ESR  {:#018x}  ISS {iss:#09x}", f.esr);
    if matches!(ec, 0x20 | 0x21 | 0x24 | 0x25) {
        let wnr = if ec >= 0x24 && iss & (1 << 6) != 0 { ", write" } else { ", read" };
        let _ = write!(w, " ({}{})", fault_status(iss), if ec >= 0x24 { wnr } else { "" });
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "    ELR  {:#018x}  (image + {:#x})", f.elr, f.elr.wrapping_sub(base as u64));
    let _ = writeln!(w, "    FAR  {:#018x}", f.far);
    let _ = writeln!(w, "    SPSR {:#018x}  SP {:#018x}", f.spsr, f.sp);
    for row in 0..8 {
        let _ = write!(w, "   ");
        for col in 0..4 {
            let i = row * 4 + col;
            if i < 31 {
                let _ = write!(w, " x{i:<2} {:#018x}", f.x[i]);
            }
        }
        let _ = writeln!(w);
    }
}

/// An address no map of this runtime covers (beyond the identity map's
/// 512 GiB), so reading it is a translation fault.
pub const UNMAPPED: u64 = 0xdead_0000_0000;

/// Faults on purpose by reading [`UNMAPPED`] (a test of the crash path):
/// the binary's `exception_handler` reports the synchronous abort and
/// does not return to this code.
pub fn fault_on_purpose() -> ! {
    // SAFETY: the read cannot touch memory: no mapping covers `UNMAPPED`,
    // so it traps before any access, and the handler never resumes here.
    let v = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
    panic!("read {v:#x} from unmapped {UNMAPPED:#x}");
}
