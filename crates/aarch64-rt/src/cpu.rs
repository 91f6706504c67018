//! CPU registers: the generic timer counter, IRQ masking, idle.

use core::arch::asm;

/// The virtual counter (CNTVCT_EL0).
pub fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; isb orders it.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Counter frequency in Hz (CNTFRQ_EL0).
pub fn counter_freq() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Uptime from the generic timer: the counter at boot and its frequency
/// (the DT's `clock-frequency` when given, else CNTFRQ_EL0).
#[derive(Debug)]
pub struct Clock {
    boot: core::sync::atomic::AtomicU64,
    freq: core::sync::atomic::AtomicU64,
}

impl Clock {
    pub const fn new() -> Self {
        Clock { boot: core::sync::atomic::AtomicU64::new(0), freq: core::sync::atomic::AtomicU64::new(0) }
    }

    /// Starts counting from the image's first instruction
    /// ([`crate::entry::entry_counter`]; from now if that is unknown), at
    /// `dt_freq` Hz if the DT says so.
    pub fn start(&self, dt_freq: Option<u32>) {
        use core::sync::atomic::Ordering::Relaxed;
        let now = counter();
        let entry = crate::entry::entry_counter();
        self.boot.store(if entry != 0 && entry <= now { entry } else { now }, Relaxed);
        self.freq.store(dt_freq.map(u64::from).filter(|&f| f != 0).unwrap_or_else(counter_freq), Relaxed);
    }

    /// The counter frequency in use.
    pub fn freq(&self) -> u64 {
        self.freq.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Nanoseconds since [`Clock::start`].
    pub fn uptime_ns(&self) -> u64 {
        let boot = self.boot.load(core::sync::atomic::Ordering::Relaxed);
        ticks_to_ns(counter().wrapping_sub(boot), self.freq())
    }

    /// Nanoseconds from the image's first instruction to the moment the
    /// counter read `at` (a stamp taken before [`Clock::start`] counts
    /// too, once the clock has started).
    pub fn ns_at(&self, at: u64) -> u64 {
        let boot = self.boot.load(core::sync::atomic::Ordering::Relaxed);
        ticks_to_ns(at.saturating_sub(boot), self.freq())
    }

    /// Nanoseconds since the counter started (the domain's age).
    pub fn age_ns(&self) -> u64 {
        ticks_to_ns(counter(), self.freq())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Converts counter ticks to nanoseconds.
pub fn ticks_to_ns(ticks: u64, freq: u64) -> u64 {
    if freq == 0 {
        return 0;
    }
    ((u128::from(ticks) * 1_000_000_000) / u128::from(freq)) as u64
}

/// Reads a 64-bit system register by name.
macro_rules! read_sysreg {
    ($name:literal) => {{
        let v: u64;
        // SAFETY: reading an ID/control register has no side effects.
        unsafe { core::arch::asm!(concat!("mrs {}, ", $name), out(reg) v, options(nomem, nostack)) };
        v
    }};
}
pub(crate) use read_sysreg;

/// Waits for an interrupt with IRQs masked, then opens a window in which a
/// pending IRQ is taken, and masks again. Under Xen, `wfi` traps and blocks
/// the vCPU until an interrupt is pending, so waiting costs no CPU.
pub fn wait_for_interrupt() {
    // SAFETY: the IRQ handler preserves all registers (entry.S); the
    // window is between `daifclr` and `daifset`.
    unsafe { asm!("dsb sy", "wfi", "msr daifclr, #2", "isb", "msr daifset, #2", options(nostack)) };
}

/// Programs the EL1 virtual timer to fire at counter value `cval`.
pub fn vtimer_arm(cval: u64) {
    // SAFETY: CNTV_CVAL_EL0 / CNTV_CTL_EL0 are ours to program.
    unsafe {
        asm!("msr cntv_cval_el0, {}", "msr cntv_ctl_el0, {}", "isb", in(reg) cval, in(reg) 1u64, options(nostack))
    };
}

/// Stops the virtual timer (and deasserts its interrupt).
pub fn vtimer_stop() {
    // SAFETY: as above.
    unsafe { asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 2u64, options(nostack)) };
}

/// Cleans the data cache lines over `[start, start+len)` to the point of
/// coherency (a guest started with caches off must see what Dom0 wrote).
pub fn dcache_clean(start: usize, len: usize) {
    let line = 4usize << ((read_sysreg!("ctr_el0") >> 16) & 0xf);
    let mut a = start & !(line - 1);
    while a < start.saturating_add(len) {
        // SAFETY: cleaning lines of mapped memory has no other effect.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack)) };
        a += line;
    }
    // SAFETY: barrier only.
    unsafe { asm!("dsb sy", options(nostack)) };
}
