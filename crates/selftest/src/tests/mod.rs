//! The checks against a fake Dom0: all pass when Xen and Dom0 behave, each
//! fails for its own reason when one part misbehaves, and nothing is left
//! behind either way.

mod fake;

use crate::Dom0;
use fake::{FakeDom0, Knobs};
use xen_hyp::sim::SIM_FIRST_DOMID;

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

fn run(d: &FakeDom0) -> (String, (usize, usize)) {
    let mut out = String::new();
    let r = crate::run(d, &mut out);
    (out, r)
}

/// The result line of `check`.
fn line<'a>(out: &'a str, check: &str) -> &'a str {
    let prefix = format!("selftest: {check}: ");
    out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {check} line in:\n{out}"))
}

/// Asserts that exactly `failing` fail (with these reasons) and all the
/// other checks pass.
fn expect_failures(out: &str, failing: &[(&str, &str)]) {
    for c in CHECKS {
        let l = line(out, c);
        match failing.iter().find(|f| f.0 == c) {
            Some((_, why)) => assert!(l.starts_with(&format!("selftest: {c}: FAIL ({why}")), "{l}"),
            None => assert!(l.starts_with(&format!("selftest: {c}: PASS (")), "{l}"),
        }
    }
    let passed = CHECKS.len() - failing.len();
    assert!(out.ends_with(&format!("selftest: {passed}/9 checks passed\n")), "{out}");
}

/// Only what boot set up is left: no ports, grants, mappings or domains
/// of the self-test.
fn assert_clean(d: &FakeDom0, space0: u64) {
    let dom_exc: Vec<u32> = d.dom_exc_port().into_iter().collect();
    assert_eq!(d.xen.dom0_ports(), dom_exc, "ports left open");
    assert_eq!(d.names.borrow().keys().copied().collect::<Vec<_>>(), dom_exc, "ports left registered");
    assert_eq!(d.grants(), 0, "grants left");
    assert_eq!(d.xen.mapped_pages(), 0, "mappings left");
    assert_eq!(d.free_pages(), space0, "mapping space leaked");
    assert!(d.xen.sim.raw().live_domains().is_empty(), "scratch domains left");
}

#[test]
fn every_check_passes_when_xen_and_dom0_behave() {
    let d = FakeDom0::new(Knobs::default());
    let space0 = d.free_pages();
    let (out, r) = run(&d);
    assert_eq!(r, (9, 0), "{out}");
    let names: Vec<&str> = out.lines().map(|l| l.split(':').nth(1).unwrap().trim()).collect();
    assert_eq!(names[..9], CHECKS, "{out}");
    expect_failures(&out, &[]);
    // What the QEMU tests look for, and the details of each line.
    let dom = SIM_FIRST_DOMID;
    assert_eq!(
        line(&out, "shared-info"),
        "selftest: shared-info: PASS (wallclock 1700000000.000123456 s, version 2; masked port 2: \
         pending bit set by Xen, delivered on EVTCHNOP_unmask)"
    );
    assert_eq!(
        line(&out, "timer-wait"),
        "selftest: timer-wait: PASS (50 ms wait ended by the virtual timer after 50000 us)"
    );
    assert_eq!(
        line(&out, "evtchn-loopback"),
        "selftest: evtchn-loopback: PASS (ports 2<->3, delivered by 1 upcall interrupt(s))"
    );
    assert_eq!(
        line(&out, "evtchn-remote"),
        format!(
            "selftest: evtchn-remote: PASS (domain {dom}: our port 2 unbound for dom {dom}; its port 1 unbound for dom 0, \
             bound to our port 3, unbound again after we closed; VIRQ_DOM_EXC on destroy)"
        )
    );
    assert_eq!(
        line(&out, "virq-bind"),
        "selftest: virq-bind: PASS (VIRQ_CON_RING on port 2, delivered when Xen printed; a second bind refused (EEXIST))"
    );
    assert_eq!(line(&out, "virq-dom-exc-bound"), "selftest: virq-dom-exc-bound: PASS (port 1, vcpu 0)");
    assert_eq!(
        line(&out, "grant-map"),
        "selftest: grant-map: PASS (ref 0 mapped back and read, write seen, revoke refused while mapped)"
    );
    assert_eq!(line(&out, "grant-copy"), "selftest: grant-copy: PASS (64 bytes copied from ref 0)");
    assert_eq!(
        line(&out, "foreign-map"),
        format!(
            "selftest: foreign-map: PASS (domain {}: page written, unmapped, mapped again and read back; \
             bad gfn reported (page 1: EINVAL (Invalid argument)); VIRQ_DOM_EXC on destroy)",
            dom + 1
        )
    );
    assert_eq!(d.xen.sim.raw().keys.borrow().as_slice(), b"t", "debug key t asked of Xen");
    assert_clean(&d, space0);
}

#[test]
fn a_second_run_starts_clean_and_passes_too() {
    let d = FakeDom0::new(Knobs::default());
    let space0 = d.free_pages();
    assert_eq!(run(&d).1, (9, 0));
    let (out, r) = run(&d);
    assert_eq!(r, (9, 0), "{out}");
    assert_clean(&d, space0);
}

#[test]
fn output_goes_out_a_line_per_write() {
    struct Lines(Vec<String>);
    impl core::fmt::Write for Lines {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0.push(s.into());
            Ok(())
        }
    }
    let mut w = Lines(Vec::new());
    crate::run(&FakeDom0::new(Knobs::default()), &mut w);
    assert_eq!(w.0.len(), 10);
    assert!(w.0.iter().all(|l| l.ends_with('\n') && l.matches('\n').count() == 1), "{:?}", w.0);
}

#[test]
fn a_wallclock_xen_never_wrote_fails_shared_info() {
    for (wallclock, why) in [
        ((0, 0, 0), "wallclock version 0, 0.0 s: not written by Xen"),
        ((1_700_000_000, 5, 3), "wallclock version 3, 1700000000.5 s: not written by Xen"),
        ((1, 1_000_000_000, 2), "wallclock version 2, 1.1000000000 s: not written by Xen"),
    ] {
        let d = FakeDom0::new(Knobs { wallclock, ..Knobs::default() });
        let space0 = d.free_pages();
        let (out, r) = run(&d);
        assert_eq!(r, (8, 1), "{out}");
        expect_failures(&out, &[("shared-info", why)]);
        assert_clean(&d, space0);
    }
}

#[test]
fn polled_upcalls_fail_the_checks_that_need_interrupts() {
    let d = FakeDom0::new(Knobs { irq_mode: false, ..Knobs::default() });
    let space0 = d.free_pages();
    let (out, r) = run(&d);
    assert_eq!(r, (6, 3), "{out}");
    expect_failures(
        &out,
        &[
            ("shared-info", "event seen without an upcall interrupt"),
            ("timer-wait", "wait returned None after 50000 us with 0 timer interrupt(s)"),
            ("evtchn-loopback", "upcalls are not interrupt-driven"),
        ],
    );
    assert_clean(&d, space0);
}

#[test]
fn a_revoke_that_succeeds_while_mapped_fails_grant_map() {
    let d = FakeDom0::new(Knobs { revoke_while_mapped: true, ..Knobs::default() });
    let (out, r) = run(&d);
    assert_eq!(r, (8, 1), "{out}");
    expect_failures(
        &out,
        &[("grant-map", "read true write true revoke-while-mapped Ok(()) unmap Ok(()) revoke Err(NotGranted(0)))")],
    );
}

#[test]
fn without_dom_exc_bound_the_domain_checks_fail() {
    let d = FakeDom0::new(Knobs { dom_exc_bound: false, ..Knobs::default() });
    let space0 = d.free_pages();
    let (out, r) = run(&d);
    assert_eq!(r, (6, 3), "{out}");
    let dom = SIM_FIRST_DOMID;
    expect_failures(
        &out,
        &[
            ("evtchn-remote", &format!("domain {dom}: our port 1 unbound for dom {dom}")),
            ("virq-dom-exc-bound", "VIRQ_DOM_EXC not bound)"),
            ("foreign-map", &format!("domain {}: page written", dom + 1)),
        ],
    );
    assert!(line(&out, "evtchn-remote").ends_with(&format!("; but no VIRQ_DOM_EXC after destroying domain {dom})")));
    assert!(line(&out, "foreign-map").ends_with(&format!("; but no VIRQ_DOM_EXC after destroying domain {})", dom + 1)));
    assert_clean(&d, space0);
}

#[test]
fn a_virq_bound_twice_fails_virq_bind_and_the_second_port_is_closed() {
    let d = FakeDom0::new(Knobs { virq_rebind: true, ..Knobs::default() });
    let space0 = d.free_pages();
    let (out, r) = run(&d);
    assert_eq!(r, (8, 1), "{out}");
    expect_failures(&out, &[("virq-bind", "second bind of VIRQ_CON_RING: Ok(3), expected EEXIST)")]);
    assert_clean(&d, space0);
}

#[test]
fn no_virq_when_xen_prints_fails_virq_bind() {
    let d = FakeDom0::new(Knobs { con_ring: false, ..Knobs::default() });
    let space0 = d.free_pages();
    let (out, _) = run(&d);
    expect_failures(&out, &[("virq-bind", "no VIRQ_CON_RING within 1 s of Xen printing)")]);
    assert_clean(&d, space0);
}

#[test]
fn a_copy_from_the_wrong_place_fails_grant_copy() {
    let d = FakeDom0::new(Knobs { copy_skew: 1, ..Knobs::default() });
    let (out, _) = run(&d);
    expect_failures(&out, &[("grant-copy", "copied bytes differ)")]);
    assert_eq!(d.grants(), 0, "the grant is revoked anyway");
}

#[test]
fn leaked_mapping_space_fails_foreign_map() {
    let d = FakeDom0::new(Knobs { leak_space: true, ..Knobs::default() });
    let (out, _) = run(&d);
    expect_failures(&out, &[("foreign-map", "mapping space not restored)")]);
    assert!(d.xen.sim.raw().live_domains().is_empty(), "the scratch domain is destroyed anyway");
}
