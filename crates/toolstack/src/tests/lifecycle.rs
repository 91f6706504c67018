//! Destroy, shutdown, pause, and the `on_*` policy.

use super::*;
use crate::uuid::uuid_text;
use xen_abi::sched;

#[test]
fn destroy_gives_everything_back_and_waits_for_xen() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = warmed_footprint(&mut ts, &xen);
    for _ in 0..3 {
        let id = ts.create("guest", &[], false).unwrap();
        assert_ne!(footprint(&ts, &xen), before);
        let waits = ts.machine.waits;
        ts.destroy(id).unwrap();
        assert!(ts.machine.waits > waits, "waited for the teardown");
        assert_eq!(footprint(&ts, &xen), before);
        assert_eq!(ts.find("guest"), None);
    }
    assert_eq!(ts.destroy(0), Err("refusing to destroy Domain-0".into()));
    assert!(ts.destroy(99).unwrap_err().contains("ESRCH"));
}

#[test]
fn destroy_of_a_paused_half_started_domain() {
    // `create -p`: built, in the store, not yet running.
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = warmed_footprint(&mut ts, &xen);
    let id = ts.create("guest", &[], true).unwrap();
    ts.destroy(id).unwrap();
    assert_eq!(footprint(&ts, &xen), before);
}

#[test]
fn a_domain_destroyed_behind_our_back_is_forgotten() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = warmed_footprint(&mut ts, &xen);
    let id = ts.create("guest", &[], false).unwrap();
    xen.raw().state.borrow_mut().domains.remove(&id);
    ts.on_dom_exc();
    assert_eq!(footprint(&ts, &xen), before);
}

#[test]
fn on_crash_restart_keeps_uuid_and_name() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("phoenix", &["memory=20".into()], false).unwrap();
    let uuid = ts.domains().next().unwrap().uuid;
    xen.raw().guest_shutdown(id, sched::SHUTDOWN_CRASH);
    ts.on_dom_exc();
    let new = ts.find("phoenix").unwrap();
    assert_ne!(new, id);
    let d = ts.domains().find(|d| d.id == new).unwrap();
    assert_eq!(d.uuid, uuid, "the same UUID");
    assert_eq!(d.cfg.memory_mib, 20, "the same overrides");
    assert_eq!(xen.raw().live_domains(), [new]);
    assert_eq!(read(&mut ts, &format!("/vm/{}/name", uuid_text(&uuid))).unwrap(), "phoenix");
    assert!(read(&mut ts, &format!("/local/domain/{id}/name")).is_err(), "the old home is gone");
    assert_eq!(ts.machine.host.mappings_of(id), 0);
    // Handled once: another VIRQ for the same state does nothing.
    ts.on_dom_exc();
    assert_eq!(ts.find("phoenix"), Some(new));
    // A reboot restarts it too.
    xen.raw().guest_shutdown(new, sched::SHUTDOWN_REBOOT);
    ts.on_dom_exc();
    assert_eq!(ts.domains().count(), 1);
    assert_ne!(ts.find("phoenix"), Some(new));
}

#[test]
fn on_poweroff_destroys_and_suspend_is_left_alone() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = warmed_footprint(&mut ts, &xen);
    let id = ts.create("guest", &[], false).unwrap();
    xen.raw().guest_shutdown(id, sched::SHUTDOWN_SUSPEND);
    ts.on_dom_exc();
    assert_eq!(ts.find("guest"), Some(id));
    xen.raw().guest_shutdown(id, sched::SHUTDOWN_POWEROFF);
    ts.on_dom_exc();
    assert_eq!(footprint(&ts, &xen), before);
}

#[test]
fn rename_restart_preserves_the_old_domain() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("keep", &[], false).unwrap();
    xen.raw().guest_shutdown(id, sched::SHUTDOWN_CRASH);
    ts.on_dom_exc();
    let old = format!("keep-{id}");
    assert_eq!(ts.find(&old), Some(id));
    assert_eq!(read(&mut ts, &format!("/local/domain/{id}/name")).unwrap(), old);
    let new = ts.find("keep").unwrap();
    assert_ne!(new, id);
    assert_eq!(xen.raw().live_domains().len(), 2);
}

#[test]
fn shutdown_goes_through_pv_control_or_is_forced() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("guest", &[], false).unwrap();
    let e = ts.shutdown(id, sched::SHUTDOWN_POWEROFF, false).unwrap_err();
    assert!(e.contains("PV control interface not available"), "{e}");
    // The guest advertises PV control (it owns the node).
    let (s, m) = ts.store();
    s.write(m, &format!("/local/domain/{id}/control/feature-reboot"), "1").unwrap();
    assert_eq!(ts.shutdown(id, sched::SHUTDOWN_REBOOT, false), Ok("asked through its PV control interface"));
    assert_eq!(read(&mut ts, &format!("/local/domain/{id}/control/shutdown")).unwrap(), "reboot");
    assert_eq!(ts.shutdown(id, sched::SHUTDOWN_POWEROFF, true), Ok("forced by Xen (no PV control interface)"));
    assert_eq!(xen.raw().state.borrow().domains[&id].shutdown, Some(sched::SHUTDOWN_POWEROFF));
    assert!(ts.shutdown(0, sched::SHUTDOWN_POWEROFF, true).is_err());
}

#[test]
fn pause_and_unpause() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let id = ts.create("guest", &[], false).unwrap();
    ts.pause(id).unwrap();
    assert!(xen.raw().state.borrow().domains[&id].paused);
    ts.unpause(id).unwrap();
    assert!(!xen.raw().state.borrow().domains[&id].paused);
    assert!(ts.pause(200).unwrap_err().contains("ESRCH"));
}
