//! `create`: the happy path, and a failure at every step leaves nothing.

use super::*;
use crate::uuid::uuid_text;

#[test]
fn creates_a_running_guest_with_libxl_layout_console_and_store() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("guest", &[], false).unwrap();
    assert_eq!(id, xen_hyp::sim::SIM_FIRST_DOMID);
    let state = xen.raw().state.borrow().domains[&id].clone();
    assert!(!state.paused, "unpaused");
    assert_eq!(state.pages, 16 * 256 + 4, "RAM and the magic pages");
    assert_eq!((ts.find("guest"), ts.find(&id.to_string()), ts.name(id)), (Some(id), Some(id), "guest".into()));
    assert_eq!(read(&mut ts, &format!("/local/domain/{id}/name")).unwrap(), "guest");
    assert_eq!(read(&mut ts, &format!("/local/domain/{id}/memory/target")).unwrap(), "16384");
    let uuid = uuid_text(&ts.domains().next().unwrap().uuid);
    assert_eq!(read(&mut ts, &format!("/local/domain/{id}/vm")).unwrap(), format!("/vm/{uuid}"));
    assert_eq!(read(&mut ts, &format!("/vm/{uuid}/name")).unwrap(), "guest");
    let (s, m) = ts.store();
    assert_eq!(s.get_perms(m, &format!("/local/domain/{id}/name")).unwrap(), format!("n0 r{id}"));
    assert_eq!(s.get_perms(m, &format!("/local/domain/{id}/control/shutdown")).unwrap(), format!("n{id}"));
    // Console and store rings: the guest's magic pages, its ports.
    let magic = xen_abi::arch_arm::GUEST_MAGIC_BASE >> 12;
    let host = &ts.machine.host;
    assert_eq!(host.mappings_of(id), 2);
    assert!(host.mapped.contains_key(&(id, magic + xen_abi::arch_arm::CONSOLE_PFN_OFFSET)));
    assert!(host.mapped.contains_key(&(id, magic + xen_abi::arch_arm::XENSTORE_PFN_OFFSET)));
    assert_eq!(ts.console_ports().len(), 1);
    assert_eq!(ts.store_ports().len(), 1);
    // The kernel is in guest memory where the layout put it.
    assert!(ts.machine.mem.values().any(|&b| b == 0x64));
}

#[test]
fn paused_create_and_console_output() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("guest", &[], true).unwrap();
    assert!(xen.raw().state.borrow().domains[&id].paused);
    let magic = xen_abi::arch_arm::GUEST_MAGIC_BASE >> 12;
    let page = ts.machine.host.page(id, magic + xen_abi::arch_arm::CONSOLE_PFN_OFFSET);
    xencons::write_output(&page, b"hello from the guest\n").unwrap();
    let port = ts.console_ports()[0];
    assert_eq!(ts.console_event(port), Some(id));
    assert_eq!(ts.console_since(id, 0).unwrap().1, b"hello from the guest\n");
    assert_eq!(ts.console_input(id, b"ls\n"), 3);
    assert_eq!(ts.console_event(9999), None);
}

#[test]
fn overrides_and_name_clashes() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let a = ts.create("guest", &[], false).unwrap();
    let before = footprint(&ts, &xen);
    let e = ts.create("guest.cfg", &[], false).unwrap_err();
    assert_eq!(e, format!("domain \"guest\" already exists (id {a})"));
    assert_eq!(footprint(&ts, &xen), before, "a clash creates nothing");
    let b = ts.create("guest", &["name=other".into(), "memory=32".into()], false).unwrap();
    assert_eq!(ts.name(b), "other");
    assert_eq!(read(&mut ts, &format!("/local/domain/{b}/memory/target")).unwrap(), "32768");
    assert_eq!(crate::create::quote_overrides(&["cmdline=a \"b\"".into()]), ["cmdline=\"a \\\"b\\\"\""]);
}

#[test]
fn bad_configurations_create_nothing() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = footprint(&ts, &xen);
    let calls = xen.raw().call_count();
    for (cfg, want) in [
        ("nosuch", "no configuration \"nosuch\" (see config-list)"),
        ("lost", "kernel \"nowhere\" not found in the boot ramdisk"),
        ("bad", "bad.cfg: "),
    ] {
        let e = ts.create(cfg, &[], false).unwrap_err();
        assert!(e.starts_with(want), "{cfg}: {e}");
    }
    assert_eq!(ts.create("guest", &["memory=0".into()], false).map_err(|e| e.contains("memory")), Err(true));
    assert_eq!(xen.raw().call_count(), calls, "no hypercall for a configuration that cannot work");
    assert_eq!(footprint(&ts, &xen), before);
}

/// The sweep the design promises: run a create once to count its
/// hypercalls, then fail each of them in turn (with ENOMEM, as Xen out of
/// memory would); every failed create must leave Xen, Dom0 and the store
/// exactly as before.
#[test]
fn a_failure_at_every_hypercall_of_create_leaves_nothing_behind() {
    let disk = ramdisk();
    let count = {
        let xen = sim();
        let mut ts = toolstack(&xen, &disk);
        let before = xen.raw().call_count();
        ts.create("guest", &[], false).unwrap();
        xen.raw().call_count() - before
    };
    assert!(count > 10, "a create makes {count} hypercalls");
    eprintln!("failing each of the {count} hypercalls of a create in turn");
    for k in 1..=count {
        let xen = sim();
        let mut ts = toolstack(&xen, &disk);
        let before = warmed_footprint(&mut ts, &xen);
        xen.raw().fail_call(k, -12);
        let e = ts.create("guest", &[], false).unwrap_err();
        assert!(e.contains("ENOMEM"), "call {k}: {e}");
        assert_eq!(footprint(&ts, &xen), before, "call {k} of {count} failed: {e}");
        // And the toolstack still works.
        let id = ts.create("guest", &[], false).unwrap();
        ts.destroy(id).unwrap();
        assert_eq!(footprint(&ts, &xen), before, "after call {k}");
    }
}

/// Failures below Xen: guest memory, the console's and the store's
/// mapping and binding.
#[test]
fn machine_failures_leave_nothing_behind() {
    type Inject = fn(&mut SimMachine);
    let cases: [(&str, Inject, &str); 4] = [
        ("guest memory", |m| m.fail_mem = Some(Errno::EFAULT), "EFAULT"),
        ("console map", |m| m.host.fail_map = true, "mapping the console page"),
        ("console bind", |m| m.host.fail_bind = true, "binding the console event channel"),
        // The store channel is the domain's second port.
        (
            "store bind",
            |m| {
                m.host.refuse.insert((xen_hyp::sim::SIM_FIRST_DOMID + 1, 2));
            },
            "store event channel",
        ),
    ];
    for (what, inject, want) in cases {
        let (xen, disk) = (sim(), ramdisk());
        let mut ts = toolstack(&xen, &disk);
        let before = warmed_footprint(&mut ts, &xen);
        inject(&mut ts.machine);
        let e = ts.create("guest", &[], false).unwrap_err();
        assert!(e.contains(want), "{what}: {e}");
        assert!(e.contains("destroyed"), "{what}: {e}");
        assert_eq!(footprint(&ts, &xen), before, "{what}");
    }
    // The store page failing to map: the console mapped first.
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = warmed_footprint(&mut ts, &xen);
    ts.machine.host.fail_map_after = Some(1);
    let e = ts.create("guest", &[], false).unwrap_err();
    assert!(e.contains("xenstore: mapping gfn"), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
}

#[test]
fn autostart_creates_what_is_marked() {
    let xen = sim();
    let k = image();
    let disk = bootfs::write(&[
        ("a.cfg", b"name = 'a'\nkernel = 'Image'\nmemory = 16\nautostart = 1\n"),
        ("b.cfg", b"name = 'b'\nkernel = 'Image'\nmemory = 16\n"),
        ("c.cfg", b"name = 'c'\nkernel = 'missing'\nmemory = 16\nautostart = 1\n"),
        ("Image", &k),
    ]);
    let mut ts = toolstack(&xen, &disk);
    let r = ts.autostart();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0], ("a.cfg".into(), Ok(7)));
    assert_eq!(r[1].0, "c.cfg");
    assert!(r[1].1.as_ref().unwrap_err().contains("not found"));
    assert_eq!(ts.domains().count(), 1);
}

/// A passed-through IRQ still held for a domain destroyed just before
/// (Xen frees it an RCU grace period later): the build waits and retries.
#[test]
fn a_busy_irq_is_retried_after_waiting_for_xen() {
    let (xen, disk) = (sim(), ramdisk());
    let irq = ["irqs=[34]".to_string()];
    // Where bind_pt_irq falls in a create (the domctl with its command).
    let k = {
        let x = sim();
        let mut ts = toolstack(&x, &disk);
        let before = x.raw().call_count();
        ts.create("guest", &irq, false).unwrap();
        let log = x.raw().log.borrow();
        log[before..]
            .iter()
            .position(|c| c.op == xen_abi::hypercall::DOMCTL && c.u32_at(0) == xen_abi::domctl::XEN_DOMCTL_BIND_PT_IRQ)
            .unwrap()
            + 1
    };
    let mut ts = toolstack(&xen, &disk);
    let before = footprint(&ts, &xen);
    xen.raw().fail_call(k, -16);
    let waits = ts.machine.waits;
    let id = ts.create("guest", &irq, false).unwrap();
    assert!(ts.machine.waits > waits, "waited for Xen's teardown before trying again");
    ts.destroy(id).unwrap();
    assert_eq!(footprint(&ts, &xen).xen_domains, before.xen_domains);
}
