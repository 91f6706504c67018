//! Issue #3: every Xen interface exercised against real Xen by `selftest`
//! (event channels with interrupt-driven upcalls, grant tables, foreign
//! mapping, shared info), on GICv3 and GICv2; and Dom0's event loop
//! serving every guest fairly while one floods it.
#![forbid(unsafe_code)]

mod common;

use common::*;

const CHECKS: [&str; 9] = [
    "shared-info",
    "timer-wait",
    "evtchn-loopback",
    "evtchn-remote",
    "virq-bind",
    "virq-dom-exc-bound",
    "grant-map",
    "grant-copy",
    "foreign-map",
];

fn selftest_passes(name: &str, gic: u8) {
    let mut s = boot_with(name, |c| c.gic = gic);
    let log = s.output();
    // The upcall PPI is the one Xen allocated and wrote into Dom0's DT.
    let ppi = capture(&log, r"\(XEN\) Allocating PPI (\d+) for event channel interrupt");
    ensure(&s, log.contains(&format!("(event channel IRQ {ppi}, ")), || format!("the DT line lacks PPI {ppi}"));
    // The boot's steps are kept, not printed: `boottime` shows them.
    let steps = cmd(&mut s, "boottime");
    ensure(&s, steps.contains(&format!("upcalls: GICv{gic} interrupt {ppi}")), || {
        format!("upcalls not by GIC interrupt:\n{steps}")
    });
    ensure(&s, steps.contains("ready: the shell takes commands"), || steps.clone());
    ensure(&s, !log.contains("upcalls: GICv"), || "boot steps printed without thindom.verbose".into());
    let out = cmd(&mut s, "selftest");
    for c in CHECKS {
        ensure(&s, out.contains(&format!("selftest: {c}: PASS")), || format!("{c} did not pass:\n{out}"));
    }
    ensure(&s, out.contains("selftest: 9/9 checks passed"), || out.clone());
    ensure(&s, out.contains("delivered by") && !out.contains("delivered by 0 upcall"), || out.clone());
    ensure(&s, out.contains("pending bit set by Xen, delivered on EVTCHNOP_unmask"), || out.clone());
    // The remote checks ran against the domain selftest created.
    let d = capture(&out, r"evtchn-remote: PASS \(domain (\d+):");
    ensure(&s, out.contains(&format!("unbound for dom {d}; its port")), || out.clone());
    ensure(&s, out.contains("unbound for dom 0, bound to our port"), || out.clone());
    ensure(&s, out.contains("unbound again after we closed"), || out.clone());
    ensure(&s, out.contains("VIRQ_CON_RING on port") && out.contains("second bind refused (EEXIST)"), || out.clone());
    ensure(&s, out.contains("revoke refused while mapped"), || out.clone());
    ensure(&s, out.contains("bad gfn reported (page 1: EINVAL"), || out.clone());

    // The channels Dom0 keeps are listed with Xen's view of them; the
    // selftest's ports were closed again.
    let ev = cmd(&mut s, "evtchn");
    ensure(&s, ev.contains("virq:dom_exc        virq 3"), || ev.clone());
    ensure(&s, ev.contains("virq:console        virq 2"), || ev.clone());
    ensure(&s, !ev.contains("selftest-"), || format!("selftest leaked a port:\n{ev}"));
    let upcalls: u64 = capture(&ev, r"upcalls: (\d+) \(by interrupt\)").parse().unwrap();
    ensure(&s, upcalls >= 2, || ev.clone());

    // Grants and mapping space are back where they started.
    let g = cmd(&mut s, "gnttab");
    ensure(&s, g.contains("grant refs: 0 granted, 504 free"), || g.clone());
    // A second run passes too (nothing left half-done by the first).
    let again = cmd(&mut s, "selftest");
    ensure(&s, again.contains("selftest: 9/9 checks passed"), || again.clone());
    let list = cmd(&mut s, "list");
    ensure(&s, list.lines().count() == 2, || format!("the selftest domains were not destroyed:\n{list}"));
}

#[test]
fn selftest_passes_on_gicv3() {
    selftest_passes("selftest-gicv3", 3);
}

#[test]
fn selftest_passes_on_gicv2() {
    selftest_passes("selftest-gicv2", 2);
}

/// A guest writing its console without pause keeps its console channel
/// pending all the time, the more so while its output is copied to the
/// terminal (attached). Dom0 serves every pending port once per round, so
/// a second guest booting meanwhile still gets its XenStore requests
/// answered (it reads and writes its home, and gives up after 5 s without
/// an answer) and its console served both ways.
fn fair_under_flood(name: &str, dom0_args: &str) {
    let mut s = boot_with(name, |c| c.dom0_args = dom0_args.into());
    let out = cmd(&mut s, "create testguest name=flood extra=action=flood");
    ensure(&s, out.contains("Started domain flood (id=1)"), || out.clone());
    // Type both lines at once: the shell attaches to the flood right
    // after starting the second guest, before that guest's first request.
    check(&mut s, |s| {
        s.send_line("create testguest name=echo extra=action=echo")?;
        s.send_line("console flood")?;
        s.expect("Started domain echo (id=2)", CMD_TIMEOUT)?;
        s.expect("testguest: flood line", CMD_TIMEOUT).map(drop)
    });
    // Longer than the guest's 5 s XenStore timeout.
    std::thread::sleep(std::time::Duration::from_secs(7));
    console_detach(&mut s);
    console_attach(&mut s, "echo");
    let boot_log = wait_for(&mut s, "testguest: echo mode, type quit to power off", GUEST_TIMEOUT);
    ensure(&s, boot_log.contains("testguest: xenstore name = echo"), || boot_log.clone());
    ensure(&s, !boot_log.contains("failed"), || boot_log.clone());
    check(&mut s, |s| s.send_line("still here"));
    wait_for(&mut s, "testguest: echo: still here", GUEST_TIMEOUT);
    console_detach(&mut s);
    let list = cmd(&mut s, "list");
    ensure(&s, list.contains("flood") && list.contains("echo"), || list.clone());
    for d in ["flood", "echo"] {
        let out = cmd(&mut s, &format!("destroy {d}"));
        ensure(&s, out.contains(&format!("({d}) destroyed")), || out.clone());
    }
}

#[test]
fn fair_events_under_a_flooding_guest() {
    fair_under_flood("fair-events", "console=hvc0");
}

/// Polled upcalls (no GIC): every wait moves all of Xen's pending bits to
/// ours, so the flood's port is pending again at each turn; serving only
/// the first pending port would never reach the second guest.
#[test]
fn fair_events_under_a_flooding_guest_polled() {
    fair_under_flood("fair-events-polled", "console=hvc0 thindom.upcalls=poll");
}
