//! The shared-info page (`public/xen.h`: `struct shared_info`, whose first
//! member is vCPU 0's `struct vcpu_info`) and the 2-level event-channel
//! bitmaps in it.
//!
//! [`SharedInfo`] is page-aligned storage of 512 atomic words that a domain
//! owns (a `static`, so in `.bss`), whose frame it asks Xen to replace with
//! the real shared-info page (`XENMEM_add_to_physmap`,
//! `XENMAPSPACE_shared_info`, at [`SharedInfo::pfn`]). Xen then writes it
//! concurrently; because every word is an atomic, that is just another
//! writer, and no `unsafe` is needed on either side. Offsets are those of
//! [`xen_abi::shared_info`].

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::shared_info as si;

/// Ports the 2-level ABI addresses on a 64-bit guest.
pub const NR_PORTS: u32 = si::EVTCHN_2L_NR_CHANNELS;
const WORDS: usize = 4096 / 8;
/// `vcpu_info.evtchn_upcall_pending` is the low byte of word 0 (little endian).
const UPCALL_PENDING_MASK: u64 = 0xff << (si::VCPU_INFO_UPCALL_PENDING % 8 * 8);

/// Xen's wallclock (`shared_info.wc_*`): the time of day at system time 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wallclock {
    /// `wc_sec_hi << 32 | wc_sec`.
    pub sec: u64,
    /// `wc_nsec`.
    pub nsec: u32,
    /// `wc_version` (even, as read consistently; 0 if Xen never wrote it).
    pub version: u32,
}

/// The shared-info page, accessed only with atomics.
#[repr(C, align(4096))]
pub struct SharedInfo {
    words: [AtomicU64; WORDS],
}

const _: () = assert!(core::mem::size_of::<SharedInfo>() == 4096);
const _: () = assert!(si::VCPU_INFO_PENDING_SEL.is_multiple_of(8) && si::EVTCHN_PENDING.is_multiple_of(8));
const _: () =
    assert!(si::EVTCHN_MASK.is_multiple_of(8) && si::WC_VERSION.is_multiple_of(8) && si::WC_NSEC.is_multiple_of(8));
const _: () = assert!(si::WC_SEC == si::WC_VERSION + 4 && si::WC_SEC_HI == si::WC_NSEC + 4);
const _: () = assert!(si::EVTCHN_MASK + NR_PORTS as usize / 8 <= 4096);

/// Word index and bit mask of `port` in a 2-level bitmap.
fn bit(port: u32) -> Option<(usize, u64)> {
    (port < NR_PORTS).then(|| ((port / 64) as usize, 1u64 << (port % 64)))
}

impl SharedInfo {
    /// A zeroed page (what the domain's page holds before Xen's replaces it).
    pub const fn new() -> Self {
        SharedInfo { words: [const { AtomicU64::new(0) }; WORDS] }
    }

    /// The page's frame number (its address >> 12; the guest-physical frame
    /// where the domain maps memory 1:1).
    pub fn pfn(&self) -> u64 {
        (self as *const Self as usize as u64) >> 12
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        &self.words[offset / 8]
    }

    fn pending_word(&self, w: usize) -> &AtomicU64 {
        self.word(si::EVTCHN_PENDING + w * 8)
    }

    fn mask_word(&self, w: usize) -> &AtomicU64 {
        self.word(si::EVTCHN_MASK + w * 8)
    }

    /// `vcpu_info[0].evtchn_upcall_pending`.
    pub fn upcall_pending(&self) -> bool {
        self.word(0).load(Ordering::SeqCst) & UPCALL_PENDING_MASK != 0
    }

    /// Clears `evtchn_upcall_pending` (before scanning, so a later event
    /// raises it again).
    pub fn clear_upcall_pending(&self) {
        self.word(0).fetch_and(!UPCALL_PENDING_MASK, Ordering::SeqCst);
    }

    /// Xen's pending bit of `port` (false for ports out of range).
    pub fn is_pending(&self, port: u32) -> bool {
        bit(port).is_some_and(|(w, b)| self.pending_word(w).load(Ordering::SeqCst) & b != 0)
    }

    /// Clears `port`'s pending bit; true if it was set.
    pub fn take_pending(&self, port: u32) -> bool {
        bit(port).is_some_and(|(w, b)| self.pending_word(w).fetch_and(!b, Ordering::SeqCst) & b != 0)
    }

    /// `port`'s mask bit.
    pub fn is_masked(&self, port: u32) -> bool {
        bit(port).is_some_and(|(w, b)| self.mask_word(w).load(Ordering::Relaxed) & b != 0)
    }

    /// Sets or clears `port`'s mask bit. Clearing it here raises no upcall
    /// for an already pending port: use `EVTCHNOP_unmask` for that.
    pub fn set_masked(&self, port: u32, masked: bool) {
        if let Some((w, b)) = bit(port) {
            if masked {
                self.mask_word(w).fetch_or(b, Ordering::SeqCst);
            } else {
                self.mask_word(w).fetch_and(!b, Ordering::SeqCst);
            }
        }
    }

    /// The 2-level upcall scan: clears `evtchn_upcall_pending`, then
    /// consumes the selector and the pending bits of unmasked ports,
    /// calling `f` with each such port (in port order within a word), until
    /// the selector stays empty. Masked pending ports stay pending.
    pub fn scan(&self, mut f: impl FnMut(u32)) {
        loop {
            self.clear_upcall_pending();
            let sel = self.word(si::VCPU_INFO_PENDING_SEL).swap(0, Ordering::SeqCst);
            if sel == 0 {
                return;
            }
            let mut s = sel;
            while s != 0 {
                let w = s.trailing_zeros() as usize;
                s &= s - 1;
                let mut p = self.pending_word(w).load(Ordering::Acquire) & !self.mask_word(w).load(Ordering::Acquire);
                while p != 0 {
                    let b = p.trailing_zeros();
                    p &= p - 1;
                    self.pending_word(w).fetch_and(!(1 << b), Ordering::SeqCst);
                    f(w as u32 * 64 + b);
                }
            }
        }
    }

    /// Xen's wallclock, read consistently (retried while Xen updates it).
    pub fn wallclock(&self) -> Wallclock {
        loop {
            let v1 = self.word(si::WC_VERSION).load(Ordering::Acquire);
            let hi = self.word(si::WC_NSEC).load(Ordering::Acquire);
            let v2 = self.word(si::WC_VERSION).load(Ordering::Acquire);
            let version = v1 as u32;
            if version.is_multiple_of(2) && v1 == v2 {
                return Wallclock { sec: ((hi >> 32) << 32) | (v1 >> 32), nsec: hi as u32, version };
            }
            core::hint::spin_loop();
        }
    }

    /// What Xen does to send to `port` (`evtchn_2l_set_pending`): sets its
    /// pending bit and, if it was clear and the port is unmasked, its
    /// selector bit and `evtchn_upcall_pending`. For simulations and tests.
    pub fn raise(&self, port: u32) {
        let Some((w, b)) = bit(port) else { return };
        if self.pending_word(w).fetch_or(b, Ordering::SeqCst) & b != 0 || self.is_masked(port) {
            return;
        }
        self.word(si::VCPU_INFO_PENDING_SEL).fetch_or(1 << w, Ordering::SeqCst);
        self.word(0).fetch_or(1 << (si::VCPU_INFO_UPCALL_PENDING % 8 * 8), Ordering::SeqCst);
    }
}

impl Default for SharedInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SharedInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedInfo")
            .field("pfn", &self.pfn())
            .field("upcall_pending", &self.upcall_pending())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn page() -> Box<SharedInfo> {
        let p = Box::new(SharedInfo::new());
        assert_eq!(&*p as *const SharedInfo as usize % 4096, 0);
        p
    }

    fn scanned(s: &SharedInfo) -> Vec<u32> {
        let mut v = Vec::new();
        s.scan(|p| v.push(p));
        v
    }

    #[test]
    fn scan_delivers_unmasked_ports_in_order_and_clears_them() {
        let s = page();
        for p in [4095, 3, 64, 65, 0, 700] {
            s.raise(p);
        }
        assert!(s.upcall_pending());
        assert_eq!(scanned(&s), [0, 3, 64, 65, 700, 4095]);
        assert!(!s.upcall_pending());
        assert!((0..NR_PORTS).all(|p| !s.is_pending(p)));
        assert!(scanned(&s).is_empty(), "nothing left");
    }

    #[test]
    fn masked_ports_stay_pending_without_an_upcall() {
        let s = page();
        s.set_masked(130, true);
        assert!(s.is_masked(130) && !s.is_masked(131));
        s.raise(130);
        assert!(s.is_pending(130));
        assert!(!s.upcall_pending(), "no upcall for a masked port");
        s.raise(131);
        assert_eq!(scanned(&s), [131], "the masked port in the same word is left");
        assert!(s.is_pending(130));
        assert!(s.take_pending(130));
        assert!(!s.take_pending(130));
        s.set_masked(130, false);
        assert!(!s.is_masked(130));
    }

    #[test]
    fn ports_out_of_range_are_ignored() {
        let s = page();
        s.raise(NR_PORTS);
        s.set_masked(NR_PORTS, true);
        assert!(!s.is_pending(NR_PORTS) && !s.is_masked(NR_PORTS) && !s.take_pending(NR_PORTS));
        assert!(!s.upcall_pending());
        assert!(scanned(&s).is_empty());
    }

    #[test]
    fn bitmaps_sit_at_the_abi_offsets() {
        let s = page();
        s.raise(64 + 5);
        s.set_masked(2 * 64 + 7, true);
        assert_eq!(s.words[si::EVTCHN_PENDING / 8 + 1].load(Ordering::Relaxed), 1 << 5);
        assert_eq!(s.words[si::VCPU_INFO_PENDING_SEL / 8].load(Ordering::Relaxed), 1 << 1);
        assert_eq!(s.words[0].load(Ordering::Relaxed), 1, "evtchn_upcall_pending is byte 0");
        assert_eq!(s.words[si::EVTCHN_MASK / 8 + 2].load(Ordering::Relaxed), 1 << 7);
    }

    #[test]
    fn wallclock_decodes_the_split_seconds() {
        let s = page();
        assert_eq!(s.wallclock(), Wallclock { sec: 0, nsec: 0, version: 0 });
        // wc_version 4, wc_sec 0x6000_0001, wc_nsec 999, wc_sec_hi 2.
        s.words[si::WC_VERSION / 8].store(0x6000_0001 << 32 | 4, Ordering::Relaxed);
        s.words[si::WC_NSEC / 8].store(2 << 32 | 999, Ordering::Relaxed);
        assert_eq!(s.wallclock(), Wallclock { sec: 0x2_6000_0001, nsec: 999, version: 4 });
    }
}
