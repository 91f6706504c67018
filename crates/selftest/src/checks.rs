//! The checks, each `Ok(what was seen)` or `Err(why not)` (see the crate
//! documentation for what each checks).

use crate::{Dom0, Mem};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::arch_arm::GUEST_RAM0_BASE;
use xen_abi::event_channel::{VIRQ_CON_RING, VIRQ_DOM_EXC};
use xen_abi::{DomId, DOMID_SELF};
use xen_hyp::{DomainConfig, Domctls, Errno, EventChannels, EvtchnState, Physmap};
use xen_mm::{ForeignError, GrantError, PAGE_SIZE};

const SECOND: u64 = 1_000_000_000;

/// One check: what it saw, or why it failed.
pub(crate) type Check<D> = fn(&D) -> Result<String, String>;

/// The checks by name, in the order they run.
pub(crate) fn all<D: Dom0>() -> [(&'static str, Check<D>); 9] {
    [
        ("shared-info", shared_info),
        ("timer-wait", timer_wait),
        ("evtchn-loopback", evtchn_loopback),
        ("evtchn-remote", evtchn_remote),
        ("virq-bind", virq_bind),
        ("virq-dom-exc-bound", dom_exc_bound),
        ("grant-map", grant_map),
        ("grant-copy", grant_copy),
        ("foreign-map", foreign_map),
    ]
}

/// The page mapped at `addr` (a foreign or grant mapping of ours).
fn mapped<D: Dom0>(dom0: &D, addr: u64) -> Result<D::Mem, String> {
    dom0.shared_mem(addr, PAGE_SIZE).ok_or(format!("{addr:#x} is not in the mapping space"))
}

/// Fails unless Xen reports `dom`'s `port` in state `want`.
fn expect_state<D: Dom0>(dom0: &D, dom: DomId, port: u32, want: EvtchnState) -> Result<(), String> {
    match dom0.xen().status(dom, port) {
        Ok((st, _)) if st == want => Ok(()),
        other => Err(format!("dom {dom:#x} port {port}: Xen says {other:?}, expected {want:?}")),
    }
}

/// Two connected ports of our own: `(a, b)`, `a` allocated unbound for
/// Dom0 and `b` bound to it.
fn loopback<D: Dom0>(dom0: &D, name: &str) -> Result<(u32, u32), String> {
    let a = dom0.alloc_unbound(0, name).map_err(|e| format!("alloc_unbound: {e}"))?;
    match dom0.bind_interdomain(0, a, name) {
        Ok(b) => Ok((a, b)),
        Err(e) => {
            let _ = dom0.close(a);
            Err(format!("bind_interdomain: {e}"))
        }
    }
}

/// The shared-info page is Xen's: the wallclock has been written (version
/// even and non-zero; our .bss page was all zero), and a send to a port
/// we masked sets its bit in `evtchn_pending` there, which an explicit
/// `EVTCHNOP_unmask` then turns into an upcall.
fn shared_info<D: Dom0>(dom0: &D) -> Result<String, String> {
    let (sec, nsec, ver) = dom0.wallclock();
    if ver == 0 || !ver.is_multiple_of(2) || nsec >= 1_000_000_000 {
        return Err(format!("wallclock version {ver}, {sec}.{nsec} s: not written by Xen"));
    }
    let (a, b) = loopback(dom0, "selftest-si")?;
    let r = (|| {
        dom0.mask(a);
        dom0.send(b).map_err(|e| format!("send: {e}"))?;
        if !dom0.xen_pending(a) {
            return Err(format!("sent to masked port {a}, but its evtchn_pending bit is clear"));
        }
        let before = dom0.upcalls();
        dom0.unmask(a).map_err(|e| format!("EVTCHNOP_unmask: {e}"))?;
        dom0.wait(&[a], Some(SECOND)).ok_or(format!("no upcall within 1 s of unmasking pending port {a}"))?;
        if dom0.upcalls() == before {
            return Err("event seen without an upcall interrupt".into());
        }
        if dom0.xen_pending(a) {
            return Err(format!("port {a} still pending after the upcall"));
        }
        Ok(format!(
            "wallclock {sec}.{nsec:09} s, version {ver}; masked port {a}: pending bit set by Xen, delivered on EVTCHNOP_unmask"
        ))
    })();
    let _ = dom0.close(b);
    let _ = dom0.close(a);
    r
}

fn timer_wait<D: Dom0>(dom0: &D) -> Result<String, String> {
    let port = dom0.alloc_unbound(0, "selftest-idle").map_err(|e| format!("alloc_unbound: {e}"))?;
    let t0 = dom0.uptime_ns();
    let irqs0 = dom0.timer_irqs();
    let got = dom0.wait(&[port], Some(50_000_000));
    let dt = dom0.uptime_ns() - t0;
    let irqs = dom0.timer_irqs() - irqs0;
    let _ = dom0.close(port);
    match got {
        None if dt >= 50_000_000 && irqs > 0 => {
            Ok(format!("50 ms wait ended by the virtual timer after {} us", dt / 1000))
        }
        other => Err(format!("wait returned {other:?} after {} us with {irqs} timer interrupt(s)", dt / 1000)),
    }
}

fn evtchn_loopback<D: Dom0>(dom0: &D) -> Result<String, String> {
    if !dom0.irq_mode() {
        return Err("upcalls are not interrupt-driven".into());
    }
    let (a, b) = loopback(dom0, "selftest-a")?;
    let r = (|| {
        expect_state(dom0, DOMID_SELF, a, EvtchnState::Interdomain { remote: 0, remote_port: b })?;
        let before = dom0.upcalls();
        dom0.send(b).map_err(|e| format!("send: {e}"))?;
        dom0.wait(&[a], Some(SECOND)).ok_or(format!("no upcall on port {a} within 1 s"))?;
        let irqs = dom0.upcalls() - before;
        if irqs == 0 {
            return Err("event seen without an upcall interrupt".into());
        }
        dom0.send(a).map_err(|e| format!("send back: {e}"))?;
        dom0.wait(&[b], Some(SECOND)).ok_or(format!("no upcall on port {b} within 1 s"))?;
        Ok(format!("ports {a}<->{b}, delivered by {irqs} upcall interrupt(s)"))
    })();
    let _ = dom0.close(b);
    let _ = dom0.close(a);
    let closed = dom0.xen().status(DOMID_SELF, a).map(|s| s.0);
    match (r, closed) {
        (Ok(s), Ok(EvtchnState::Closed)) => Ok(s),
        (Ok(_), c) => Err(format!("port {a} after close: {c:?}")),
        (Err(e), _) => Err(e),
    }
}

/// Runs `f` on a fresh domain (created, never unpaused), then destroys it
/// and checks that Xen raised `VIRQ_DOM_EXC` for that.
fn with_scratch_domain<D: Dom0>(dom0: &D, f: impl FnOnce(DomId) -> Result<String, String>) -> Result<String, String> {
    let d = dom0.xen().create_domain(&DomainConfig::default()).map_err(|e| format!("createdomain: {e}"))?;
    let r = f(d);
    let exc_port = dom0.dom_exc_port();
    // A notification left from before must not count for this destroy.
    if let Some(p) = exc_port {
        dom0.take(p);
    }
    let destroyed = dom0.xen().destroy_domain(d);
    let exc = exc_port.and_then(|p| dom0.wait(&[p], Some(2 * SECOND)));
    let s = r?;
    destroyed.map_err(|e| format!("destroydomain {d}: {e}"))?;
    if exc.is_none() {
        return Err(format!("{s}; but no VIRQ_DOM_EXC after destroying domain {d}"));
    }
    Ok(format!("{s}; VIRQ_DOM_EXC on destroy"))
}

/// Event channels with another domain, both ways: a port of ours
/// allocated for it, and a port in its table allocated for us (as the
/// builder does for a guest's console and store), bound, then closed on
/// our side, which leaves its end unbound for us again.
fn evtchn_remote<D: Dom0>(dom0: &D) -> Result<String, String> {
    with_scratch_domain(dom0, |d| {
        let ours = dom0.alloc_unbound(d, "selftest-remote").map_err(|e| format!("alloc_unbound for {d}: {e}"))?;
        let r = remote_ports(dom0, d, ours);
        let _ = dom0.close(ours);
        r
    })
}

fn remote_ports<D: Dom0>(dom0: &D, d: DomId, ours: u32) -> Result<String, String> {
    expect_state(dom0, DOMID_SELF, ours, EvtchnState::Unbound { remote: d })?;
    let theirs = EventChannels::alloc_unbound(dom0.xen(), d, 0).map_err(|e| format!("alloc_unbound in {d}: {e}"))?;
    expect_state(dom0, d, theirs, EvtchnState::Unbound { remote: 0 })?;
    let b = dom0.bind_interdomain(d, theirs, "selftest-remote-b").map_err(|e| format!("bind_interdomain: {e}"))?;
    let bound = expect_state(dom0, d, theirs, EvtchnState::Interdomain { remote: 0, remote_port: b });
    let closed = dom0.close(b);
    bound?;
    closed.map_err(|e| format!("close: {e}"))?;
    expect_state(dom0, d, theirs, EvtchnState::Unbound { remote: 0 })?;
    Ok(format!(
        "domain {d}: our port {ours} unbound for dom {d}; its port {theirs} unbound for dom 0, \
         bound to our port {b}, unbound again after we closed"
    ))
}

/// `EVTCHNOP_bind_virq` end to end: `VIRQ_CON_RING` (raised whenever Xen
/// writes to its console ring) bound on vCPU 0, a second bind refused,
/// and the virq delivered when Xen prints (debug key `t`: its clock
/// information, via `XEN_SYSCTL_debug_keys`).
fn virq_bind<D: Dom0>(dom0: &D) -> Result<String, String> {
    let port = dom0.bind_virq(VIRQ_CON_RING, "selftest-con-ring").map_err(|e| format!("bind_virq: {e}"))?;
    let r = (|| {
        expect_state(dom0, DOMID_SELF, port, EvtchnState::Virq(VIRQ_CON_RING))?;
        match EventChannels::bind_virq(dom0.xen(), VIRQ_CON_RING, 0) {
            Err(Errno::EEXIST) => {}
            other => {
                if let Ok(p) = other {
                    let _ = EventChannels::close(dom0.xen(), p);
                }
                return Err(format!("second bind of VIRQ_CON_RING: {other:?}, expected EEXIST"));
            }
        }
        dom0.take(port);
        dom0.debug_keys(b"t").map_err(|e| format!("XEN_SYSCTL_debug_keys: {e}"))?;
        dom0.wait(&[port], Some(SECOND)).ok_or("no VIRQ_CON_RING within 1 s of Xen printing")?;
        Ok(format!("VIRQ_CON_RING on port {port}, delivered when Xen printed; a second bind refused (EEXIST)"))
    })();
    let _ = dom0.close(port);
    let s = r?;
    match dom0.xen().status(DOMID_SELF, port) {
        Ok((EvtchnState::Closed, _)) => Ok(s),
        other => Err(format!("port {port} after close: {other:?}")),
    }
}

fn dom_exc_bound<D: Dom0>(dom0: &D) -> Result<String, String> {
    let port = dom0.dom_exc_port().ok_or("VIRQ_DOM_EXC not bound")?;
    match dom0.xen().status(DOMID_SELF, port) {
        Ok((EvtchnState::Virq(VIRQ_DOM_EXC), vcpu)) => Ok(format!("port {port}, vcpu {vcpu}")),
        other => Err(format!("port {port}: {other:?}")),
    }
}

fn grant_map<D: Dom0>(dom0: &D) -> Result<String, String> {
    let page = dom0.new_page();
    page.fill_with(|i| 0x5a_u8.wrapping_add(i as u8));
    let r = dom0.grant(0, page.pfn(), false).map_err(|e| format!("grant: {e}"))?;
    let m = match dom0.map_grant(0, r, false) {
        Ok(m) => m,
        Err(e) => {
            let _ = dom0.revoke(r);
            return Err(format!("map_grant_ref of ref {r}: {e}"));
        }
    };
    let (same, wrote) = match dom0.grant_page(&m) {
        Some(mem) => {
            let same = (0..PAGE_SIZE).all(|i| mem.read_u8(i) == page.get(i));
            mem.write_u8(7, 0xee);
            (same, page.get(7) == 0xee)
        }
        None => (false, false),
    };
    let refused = dom0.revoke(r);
    let unmapped = dom0.unmap_grant(m);
    let revoked = dom0.revoke(r);
    match (same, wrote, refused, unmapped, revoked) {
        (true, true, Err(GrantError::InUse(_)), Ok(()), Ok(())) => {
            Ok(format!("ref {r} mapped back and read, write seen, revoke refused while mapped"))
        }
        other => Err(format!(
            "read {} write {} revoke-while-mapped {:?} unmap {:?} revoke {:?}",
            other.0, other.1, other.2, other.3, other.4
        )),
    }
}

fn grant_copy<D: Dom0>(dom0: &D) -> Result<String, String> {
    let src = dom0.new_page();
    let dst = dom0.new_page();
    src.fill_with(|i| 0x33_u8.wrapping_add(i as u8));
    let r = dom0.grant(0, src.pfn(), true).map_err(|e| format!("grant: {e}"))?;
    let res = dom0.copy_from(0, r, 100, dst.pfn(), 200, 64);
    let revoked = dom0.revoke(r);
    res.map_err(|e| format!("GNTTABOP_copy: {e}"))?;
    revoked.map_err(|e| format!("revoke: {e}"))?;
    if (0..64).all(|i| dst.get(200 + i) == src.get(100 + i)) && dst.get(199) == 0 && dst.get(264) == 0 {
        Ok(format!("64 bytes copied from ref {r}"))
    } else {
        Err("copied bytes differ".into())
    }
}

fn foreign_map<D: Dom0>(dom0: &D) -> Result<String, String> {
    with_scratch_domain(dom0, |d| foreign_map_in(dom0, d))
}

fn foreign_map_in<D: Dom0>(dom0: &D, d: DomId) -> Result<String, String> {
    let gfn = GUEST_RAM0_BASE >> 12;
    dom0.xen().set_max_mem(d, 1024).map_err(|e| format!("max_mem: {e}"))?;
    let mut gfns = [gfn, gfn + 1];
    let n = dom0.xen().populate_physmap(d, &mut gfns, 0).map_err(|e| format!("populate_physmap: {e}"))?;
    if n != 2 {
        return Err(format!("populate_physmap populated {n} of 2"));
    }
    let free0 = dom0.free_pages();
    let pattern: Vec<u8> = (0..PAGE_SIZE).map(|i| (i as u8) ^ 0xa5).collect();
    let m = dom0.map_foreign(d, &[gfn]).map_err(|e| format!("map: {e}"))?;
    let wrote = mapped(dom0, m.addr()).map(|mem| mem.write(0, &pattern));
    dom0.unmap_foreign(m).map_err(|e| format!("unmap: {e}"))?;
    wrote?;
    let m = dom0.map_foreign(d, &[gfn, gfn + 1]).map_err(|e| format!("second map: {e}"))?;
    let read = mapped(dom0, m.addr()).map(|mem| {
        let mut back = alloc::vec![0; PAGE_SIZE];
        mem.read(0, &mut back);
        back
    });
    dom0.unmap_foreign(m).map_err(|e| format!("unmap: {e}"))?;
    let kept = read? == pattern;
    if !kept {
        return Err("pattern written through the first mapping not read back".into());
    }
    let bad = dom0.map_foreign(d, &[gfn, 0x0dea_d000]);
    let errs = match bad {
        Err(ForeignError::Pages(p)) if p.len() == 1 && p[0].0 == 1 => format!("page 1: {}", p[0].1),
        other => return Err(format!("mapping a missing gfn: {other:?}")),
    };
    if dom0.free_pages() != free0 {
        return Err("mapping space not restored".into());
    }
    Ok(format!("domain {d}: page written, unmapped, mapped again and read back; bad gfn reported ({errs})"))
}
