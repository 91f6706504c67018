//! Issue #3: every Xen interface exercised against real Xen by `selftest`
//! (event channels with interrupt-driven upcalls, grant tables, foreign
//! mapping, shared info), on GICv3 and GICv2.

mod common;

use common::*;

const CHECKS: [&str; 7] =
    ["shared-info", "timer-wait", "evtchn-loopback", "virq-dom-exc-bound", "grant-map", "grant-copy", "foreign-map"];

fn selftest_passes(name: &str, gic: u8) {
    let mut s = boot_with(name, |c| c.gic = gic);
    assert!(s.output().contains(&format!("upcalls: GICv{gic} interrupt 16")), "upcalls not by GIC interrupt");
    let out = cmd(&mut s, "selftest");
    for c in CHECKS {
        assert!(out.contains(&format!("selftest: {c}: PASS")), "{c} did not pass:\n{out}");
    }
    assert!(out.contains("selftest: 7/7 checks passed"), "{out}");
    assert!(out.contains("delivered by") && !out.contains("delivered by 0 upcall"), "{out}");
    assert!(out.contains("revoke refused while mapped"), "{out}");
    assert!(out.contains("bad gfn reported (page 1: EINVAL"), "{out}");

    // The channels Dom0 keeps are listed with Xen's view of them; the
    // loopback ports were closed again.
    let ev = cmd(&mut s, "evtchn");
    assert!(ev.contains("virq:dom_exc        virq 3"), "{ev}");
    assert!(ev.contains("virq:console        virq 2"), "{ev}");
    assert!(!ev.contains("selftest-"), "selftest leaked a port:\n{ev}");
    let upcalls: u64 = capture(&ev, r"upcalls: (\d+) \(by interrupt\)").parse().unwrap();
    assert!(upcalls >= 2, "{ev}");

    // Grants and mapping space are back where they started.
    let g = cmd(&mut s, "gnttab");
    assert!(g.contains("grant refs: 0 granted, 2040 free"), "{g}");
    // A second run passes too (nothing left half-done by the first).
    let again = cmd(&mut s, "selftest");
    assert!(again.contains("selftest: 7/7 checks passed"), "{again}");
    assert!(cmd(&mut s, "list").lines().count() == 2, "the selftest domain was not destroyed");
}

#[test]
fn selftest_passes_on_gicv3() {
    selftest_passes("selftest-gicv3", 3);
}

#[test]
fn selftest_passes_on_gicv2() {
    selftest_passes("selftest-gicv2", 2);
}
