//! Interrupt dispatch: the GIC, the event-channel upcall PPI and the
//! virtual timer.

use crate::arch::{cpu, gic::GicDriver, gic::SPURIOUS};
use crate::evtchn;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use platform::Platform;

static GIC: spin::Once<GicDriver> = spin::Once::new();
static EVTCHN_INTID: AtomicU32 = AtomicU32::new(u32::MAX);
static TIMER_INTID: AtomicU32 = AtomicU32::new(u32::MAX);
/// Interrupts taken, by kind.
pub static TIMER_IRQS: AtomicU64 = AtomicU64::new(0);
pub static OTHER_IRQS: AtomicU64 = AtomicU64::new(0);

/// Sets up the GIC and enables the event-channel and timer PPIs.
pub fn init(p: &Platform) -> Result<u8, &'static str> {
    let gic = p.gic.as_ref().ok_or("no GIC in the device tree")?;
    let hyp = p.hypervisor.as_ref().ok_or("no /hypervisor node in the device tree")?;
    let d = GIC.call_once(|| GicDriver::init(gic));
    EVTCHN_INTID.store(hyp.evtchn_intid, Ordering::SeqCst);
    d.enable_ppi(hyp.evtchn_intid);
    if let Some(t) = p.timer.virt_intid {
        TIMER_INTID.store(t, Ordering::SeqCst);
        cpu::vtimer_stop();
        d.enable_ppi(t);
    }
    Ok(d.version())
}

/// The IRQ exception: acknowledge and dispatch until nothing is pending.
pub fn handle() {
    let Some(g) = GIC.get() else { return };
    loop {
        let id = g.ack();
        if id >= SPURIOUS - 3 {
            return;
        }
        if id == EVTCHN_INTID.load(Ordering::Relaxed) {
            evtchn::upcall();
        } else if id == TIMER_INTID.load(Ordering::Relaxed) {
            cpu::vtimer_stop();
            TIMER_IRQS.fetch_add(1, Ordering::Relaxed);
        } else {
            OTHER_IRQS.fetch_add(1, Ordering::Relaxed);
        }
        g.eoi(id);
    }
}
