//! Disks served by a (simulated) driver domain: libxl's layout and
//! permissions, waiting for the agent, its errors, detach, and what goes
//! when either end goes.

use super::*;
use crate::xl::Outcome;
use std::string::ToString;
use xenstore::{MsgType, Server};

pub(super) fn req(s: &mut Server, c: xenstore::ConnId, ty: MsgType, parts: &[&str]) -> Option<String> {
    let mut p = Vec::new();
    for x in parts {
        p.extend_from_slice(x.as_bytes());
        p.push(0);
    }
    if ty == MsgType::Write {
        p.pop();
    }
    s.request(c, ty, 0, p).ok().map(|v| String::from_utf8_lossy(&v).trim_end_matches('\0').to_string())
}

/// What the driver domain's agent and its backends (blkback, netback) do,
/// played through domain `domd`'s own connection (so its permissions
/// apply): a disk whose target exists and a vif on a bridge other than
/// `nobr` get `hotplug-status=connected` and InitWait, the others an error;
/// a device told to close goes to Closed.
pub(super) fn play_driver_domain(domd: DomId) -> Others {
    Box::new(move |store: &mut Daemon<Rc<MemPage>>| {
        let s = store.server_mut();
        let Some(c) = s.domain_conn(domd) else { return };
        req(s, c, MsgType::Write, &[crate::disks::AGENT_READY, "ready"]);
        for kind in ["vbd", "vif"] {
            let root = format!("/local/domain/{domd}/backend/{kind}");
            let Some(fes) = req(s, c, MsgType::Directory, &[&root]) else { continue };
            for fe in fes.split('\0').filter(|x| !x.is_empty()) {
                let Some(devs) = req(s, c, MsgType::Directory, &[&format!("{root}/{fe}")]) else { continue };
                for dev in devs.split('\0').filter(|x| !x.is_empty()) {
                    play_device(s, c, &format!("{root}/{fe}/{dev}"));
                }
            }
        }
    })
}

fn play_device(s: &mut Server, c: xenstore::ConnId, be: &str) {
    let get = |s: &mut Server, n: &str| req(s, c, MsgType::Read, &[&format!("{be}/{n}")]);
    let put = |s: &mut Server, n: &str, v: &str| req(s, c, MsgType::Write, &[&format!("{be}/{n}"), v]);
    let state = get(s, "state").unwrap_or_default();
    // libxl writes a vif's hotplug-status empty.
    if get(s, "hotplug-status").unwrap_or_default().is_empty() && state == "1" {
        if get(s, "params").is_some_and(|p| p.contains("missing")) {
            put(s, "hotplug-error", "/images/missing.img does not exist");
            put(s, "hotplug-status", "error");
        } else if get(s, "bridge").as_deref() == Some("nobr") {
            put(s, "hotplug-error", "bridge nobr: no such bridge");
            put(s, "hotplug-status", "error");
        } else {
            if get(s, "params").is_some() {
                put(s, "physical-device", "7:0");
            }
            put(s, "hotplug-status", "connected");
            put(s, "state", "2");
        }
    }
    // The backend: not online, and the frontend closing or gone.
    if get(s, "online").as_deref() == Some("0") && state == "5" {
        put(s, "state", "6");
    }
}

/// A toolstack with a driver domain `domd` running (and its agent played).
pub(super) fn with_domd<'a>(xen: &'a Xen<SimXen>, disk: &'a [u8]) -> (Ts<'a>, DomId) {
    let mut ts = toolstack(xen, disk);
    let domd = ts.create("domd", &[], false).unwrap();
    ts.machine.others = Some(play_driver_domain(domd));
    let (s, m) = ts.store();
    s.write(m, &format!("/local/domain/{domd}/{}", crate::disks::AGENT_READY), "ready").unwrap();
    (ts, domd)
}

fn perms(ts: &mut Ts<'_>, p: &str) -> String {
    let (s, m) = ts.store();
    s.get_perms(m, p).unwrap_or_else(|e| format!("{e}"))
}

#[test]
fn a_disk_from_the_config_gets_libxl_layout_and_permissions() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let id = ts.create("user", &[], true).unwrap();
    let fe = format!("/local/domain/{id}/device/vbd/51712");
    let be = format!("/local/domain/{domd}/backend/vbd/{id}/51712");
    for (k, v) in [
        ("backend", be.as_str()),
        ("backend-id", &domd.to_string()),
        ("virtual-device", "51712"),
        ("device-type", "disk"),
        ("state", "1"),
    ] {
        assert_eq!(read(&mut ts, &format!("{fe}/{k}")).unwrap(), v, "{fe}/{k}");
    }
    for (k, v) in [
        ("frontend", fe.as_str()),
        ("params", "/images/disk0.img"),
        ("script", "/etc/xen/scripts/block"),
        ("frontend-id", &id.to_string()),
        ("online", "1"),
        ("removable", "0"),
        ("bootable", "1"),
        ("dev", "xvda"),
        ("type", "phy"),
        ("mode", "w"),
        ("device-type", "disk"),
        ("discard-enable", "1"),
        ("hotplug-status", "connected"),
        ("state", "2"),
    ] {
        assert_eq!(read(&mut ts, &format!("{be}/{k}")).unwrap(), v, "{be}/{k}");
    }
    assert_eq!(perms(&mut ts, &fe), format!("n{id} r{domd}"));
    assert_eq!(perms(&mut ts, &format!("{fe}/virtual-device")), format!("n{id} r{domd}"));
    assert_eq!(perms(&mut ts, &be), format!("n{domd} r{id}"));
    assert_eq!(perms(&mut ts, &format!("{be}/params")), format!("n{domd} r{id}"));
    assert_eq!(read(&mut ts, &format!("/libxl/{id}/device/vbd/51712/backend")).unwrap(), be);
    let mut out = String::new();
    ts.xl(&mut out, "block-list", &["user".into()]);
    assert_eq!(
        out,
        format!("Vdev  BE  handle state evt-ch ring-ref BE-path                       \n51712 {domd:<3} {id:<6} 1     -1     -1       {be:<30}\n")
    );
}

#[test]
fn destroy_closes_the_backend_and_removes_both_sides() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let before = footprint(&ts, &xen);
    let id = ts.create("user", &[], false).unwrap();
    ts.destroy(id).unwrap();
    assert!(read(&mut ts, &format!("/local/domain/{domd}/backend/vbd/{id}/51712")).is_err());
    assert!(read(&mut ts, &format!("/libxl/{id}")).is_err());
    assert_eq!(footprint(&ts, &xen), before);
    // Bounded: the driver domain answered, so nothing waited the timeout.
    assert!(ts.machine.clock_ms.get() < crate::devices::DESTROY_TIMEOUT_MS);
}

#[test]
fn the_agents_error_is_the_users_and_nothing_is_left() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let before = footprint(&ts, &xen);
    let e =
        ts.create("user", &["disk=['backend=domd,vdev=xvda,target=/images/missing.img']".into()], false).unwrap_err();
    assert!(e.contains("/images/missing.img does not exist"), "{e}");
    assert!(e.contains("destroyed"), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
    assert!(read(&mut ts, &format!("/local/domain/{domd}/backend/vbd")).map_or(true, |v| v.is_empty()));
}

#[test]
fn no_driver_domain_no_agent_and_bad_specs_are_clear_errors() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = footprint(&ts, &xen);
    let e = ts.create("user", &[], false).unwrap_err();
    assert!(e.contains("backend domain \"domd\" does not exist"), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
    let e = ts.create("user", &["disk=['vdev=xvda,target=/x']".into()], false).unwrap_err();
    assert!(e.contains("runs no PV backends"), "{e}");
    let e = ts.create("user", &["disk=['backend=domd,vdev=xvda,format=qcow2,target=/x']".into()], false).unwrap_err();
    assert!(e.contains("qcow2"), "{e}");
    // A driver domain whose agent never comes up: a bounded wait.
    let domd = ts.create("domd", &[], false).unwrap();
    let before = footprint(&ts, &xen);
    let e = ts.create("user", &[], false).unwrap_err();
    assert!(e.contains(&format!("agent of driver domain {domd} is not ready after 120 s")), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
    // An agent that is up but never answers for the device: bounded too.
    let (s, m) = ts.store();
    s.write(m, &format!("/local/domain/{domd}/{}", crate::disks::AGENT_READY), "ready").unwrap();
    let before = footprint(&ts, &xen);
    let e = ts.create("user", &[], false).unwrap_err();
    assert!(e.contains("not ready after 10 s"), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
    assert!(read(&mut ts, &format!("/local/domain/{domd}/backend/vbd")).map_or(true, |v| v.is_empty()));
}

#[test]
fn hot_plug_attach_list_detach() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let id = ts.create("guest", &[], false).unwrap();
    let mut out = String::new();
    let r = ts.xl(
        &mut out,
        "block-attach",
        &["guest".into(), "backend=domd,vdev=xvdb,access=ro,target=/images/disk1.img".into()],
    );
    assert_eq!((r, out.as_str()), (Some(Outcome::Done), ""));
    let be = format!("/local/domain/{domd}/backend/vbd/{id}/51728");
    assert_eq!(read(&mut ts, &format!("{be}/mode")).unwrap(), "r");
    out.clear();
    ts.xl(&mut out, "block-attach", &["guest".into(), "backend=domd,vdev=xvdb,target=/images/disk1.img".into()]);
    assert!(out.contains("has a disk with device id 51728 already"), "{out}");
    out.clear();
    ts.xl(&mut out, "block-detach", &["guest".into(), "xvdb".into()]);
    assert_eq!(out, "");
    assert!(read(&mut ts, &be).is_err());
    assert!(read(&mut ts, &format!("/local/domain/{id}/device/vbd/51728")).is_err());
    out.clear();
    ts.xl(&mut out, "block-detach", &["guest".into(), "xvdb".into()]);
    assert_eq!(out, "Error: Device xvdb not connected.\n");
}

#[test]
fn the_driver_domain_going_away_takes_its_disks_from_the_frontends() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let id = ts.create("user", &[], false).unwrap();
    // Dom-D crashes (destroyed behind our back, say).
    xen.raw().state.borrow_mut().domains.remove(&domd);
    ts.on_dom_exc();
    assert!(read(&mut ts, &format!("/local/domain/{id}/device/vbd/51712")).is_err());
    assert_eq!(ts.domains().find(|d| d.id == id).unwrap().devices.len(), 0);
    // A new driver domain serves a new disk.
    let domd2 = ts.create("domd", &[], false).unwrap();
    ts.machine.others = Some(play_driver_domain(domd2));
    let mut out = String::new();
    ts.xl(&mut out, "block-attach", &["user".into(), "backend=domd,vdev=xvdc,target=/images/disk0.img".into()]);
    assert_eq!(out, "");
    assert_eq!(
        read(&mut ts, &format!("/local/domain/{domd2}/backend/vbd/{id}/51744/hotplug-status")).unwrap(),
        "connected"
    );
}
