//! Network interfaces served by a (simulated) driver domain: the layout,
//! stable MACs, errors, hot-plug, and what goes when either end goes.

use super::disks::{play_driver_domain, with_domd};
use super::*;
use crate::xl::Outcome;
use std::string::ToString;

const VIF: &str = "vif=['backend=domd,bridge=xenbr0']";

fn xl(ts: &mut Ts<'_>, cmd: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    assert_eq!(ts.xl(&mut out, cmd, &args), Some(Outcome::Done));
    out
}

#[test]
fn a_vif_from_the_config_is_connected_and_listed() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let id = ts.create("guest", &[VIF.into()], false).unwrap();
    let be = format!("/local/domain/{domd}/backend/vif/{id}/0");
    let fe = format!("/local/domain/{id}/device/vif/0");
    assert_eq!(read(&mut ts, &format!("{be}/hotplug-status")).unwrap(), "connected");
    assert_eq!(read(&mut ts, &format!("{be}/bridge")).unwrap(), "xenbr0");
    assert_eq!(read(&mut ts, &format!("{be}/script")).unwrap(), "/etc/xen/scripts/vif-bridge");
    let mac = read(&mut ts, &format!("{fe}/mac")).unwrap();
    assert_eq!(mac, xlcfg::default_mac("guest", 0).to_string());
    assert_eq!(read(&mut ts, &format!("{be}/mac")).unwrap(), mac);
    let out = xl(&mut ts, "network-list", &["guest"]);
    assert_eq!(
        out,
        format!(
            "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n\
             0   {domd:<2} {mac}     0     1     -1    -1/-1          {be:<30}\n"
        )
    );
}

#[test]
fn default_macs_differ_per_domain_and_vif_and_survive_re_creation() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, _) = with_domd(&xen, &disk);
    let two = "vif=['backend=domd', 'backend=domd,bridge=xenbr1']";
    let a = ts.create("guest", &[two.into()], false).unwrap();
    let b = ts.create("phoenix", &[two.into()], false).unwrap();
    let macs = |ts: &mut Ts<'_>, id: DomId| -> Vec<String> { ts.nic_rows(id).into_iter().map(|r| r.mac).collect() };
    let (ma, mb) = (macs(&mut ts, a), macs(&mut ts, b));
    assert_eq!(ma.len(), 2);
    assert_ne!(ma[0], ma[1]);
    assert!(ma.iter().all(|m| !mb.contains(m)), "{ma:?} {mb:?}");
    ts.destroy(a).unwrap();
    let a2 = ts.create("guest", &[two.into()], false).unwrap();
    assert_eq!(macs(&mut ts, a2), ma);
    // Two vifs with one MAC: refused before anything is built.
    let domains = xen.raw().state.borrow().domains.len();
    let e = ts
        .create(
            "keep",
            &["vif=['backend=domd,mac=00:16:3e:00:00:01', 'backend=domd,mac=00:16:3e:00:00:01']".into()],
            false,
        )
        .unwrap_err();
    assert!(e.contains("MAC 00:16:3e:00:00:01 is vif 0's already"), "{e}");
    assert_eq!(xen.raw().state.borrow().domains.len(), domains);
}

#[test]
fn bad_vifs_are_clear_errors_and_cost_nothing() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let before = footprint(&ts, &xen);
    for (spec, want) in [
        ("vif=['bridge=xenbr0']", "vif 0: Domain-0 (thindom) runs no PV backends"),
        ("vif=['backend=domd']", "vif 0: backend domain \"domd\" does not exist"),
        ("vif=['backend=0']", "runs no PV backends"),
        ("vif=['backend=domd,type=ioemu']", "type=ioemu needs QEMU"),
        ("vif=['backend=domd,mac=01:00:5e:00:00:01']", "multicast"),
        ("vif=['backend=domd,bridge=a/b']", "bridge"),
    ] {
        let e = ts.create("guest", &[spec.into()], false).unwrap_err();
        assert!(e.contains(want), "{spec}: {e}");
        assert_eq!(footprint(&ts, &xen), before, "{spec}");
    }
    // The agent's error is the user's; nothing is left on either side.
    let (mut ts, domd) = with_domd(&xen, &disk);
    let before = footprint(&ts, &xen);
    let e = ts.create("guest", &["vif=['backend=domd,bridge=nobr']".into()], false).unwrap_err();
    assert!(e.contains("bridge nobr: no such bridge") && e.contains("destroyed"), "{e}");
    assert_eq!(footprint(&ts, &xen), before);
    assert!(read(&mut ts, &format!("/local/domain/{domd}/backend/vif")).map_or(true, |v| v.is_empty()));
}

#[test]
fn hot_plug_attach_list_detach_by_devid_and_mac() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let id = ts.create("guest", &[VIF.into()], false).unwrap();
    // xl's form: the spec's pairs as separate words.
    assert_eq!(xl(&mut ts, "network-attach", &["guest", "backend=domd", "bridge=xenbr0", "ip=10.0.0.9"]), "");
    let be1 = format!("/local/domain/{domd}/backend/vif/{id}/1");
    assert_eq!(read(&mut ts, &format!("{be1}/ip")).unwrap(), "10.0.0.9");
    assert_eq!(read(&mut ts, &format!("{be1}/handle")).unwrap(), "1");
    let out = xl(&mut ts, "network-attach", &["guest", "backend=domd,devid=1"]);
    assert!(out.contains("has a network interface with device id 1 already"), "{out}");
    let mac0 = xlcfg::default_mac("guest", 0).to_string();
    let out = xl(&mut ts, "network-attach", &["guest", &format!("backend=domd,mac={mac0}")]);
    assert!(out.contains(&format!("has an interface with MAC {mac0} already")), "{out}");
    assert_eq!(xl(&mut ts, "network-list", &["guest"]).lines().count(), 3);
    // Detach by device id, then by MAC.
    assert_eq!(xl(&mut ts, "network-detach", &["guest", "1"]), "");
    assert!(read(&mut ts, &be1).is_err());
    assert!(read(&mut ts, &format!("/local/domain/{id}/device/vif/1")).is_err());
    assert_eq!(xl(&mut ts, "network-detach", &["guest", "1"]), "Unknown device 1.\n");
    assert_eq!(xl(&mut ts, "network-detach", &["guest", &mac0]), "");
    assert!(read(&mut ts, &format!("/libxl/{id}/device/vif")).is_err());
    assert_eq!(xl(&mut ts, "network-list", &["guest"]).lines().count(), 1);
    assert_eq!(xl(&mut ts, "network-detach", &["guest", "00:16:3e:00:00:09"]), "Unknown device 00:16:3e:00:00:09.\n");
    assert_eq!(xl(&mut ts, "network-detach", &["guest"]), "usage: network-detach <dom> <devid|mac>\n");
    assert_eq!(xl(&mut ts, "network-attach", &["nobody", "backend=domd"]), "network-attach: no domain \"nobody\"\n");
    let out = xl(&mut ts, "network-attach", &["guest", "backend=domd,rate=fast"]);
    assert!(out.starts_with("network-attach: "), "{out}");
    // Re-attached: the same MAC as before.
    assert_eq!(xl(&mut ts, "network-attach", &["guest", "backend=domd"]), "");
    assert_eq!(ts.nic_rows(id)[0].mac, mac0);
}

#[test]
fn destroy_and_the_driver_domain_going_take_vifs_down() {
    let (xen, disk) = (sim(), ramdisk());
    let (mut ts, domd) = with_domd(&xen, &disk);
    let before = footprint(&ts, &xen);
    let id = ts.create("guest", &[VIF.into()], false).unwrap();
    ts.destroy(id).unwrap();
    assert!(read(&mut ts, &format!("/local/domain/{domd}/backend/vif/{id}")).is_err());
    assert_eq!(footprint(&ts, &xen), before);
    let id = ts.create("guest", &[VIF.into()], false).unwrap();
    // Dom-D crashes: the frontend loses its vif, a new Dom-D serves new ones.
    xen.raw().state.borrow_mut().domains.remove(&domd);
    ts.on_dom_exc();
    assert!(read(&mut ts, &format!("/local/domain/{id}/device/vif/0")).is_err());
    assert!(ts.nic_rows(id).is_empty());
    let domd2 = ts.create("domd", &[], false).unwrap();
    ts.machine.others = Some(play_driver_domain(domd2));
    assert_eq!(xl(&mut ts, "network-attach", &["guest", "backend=domd"]), "");
    assert_eq!(
        read(&mut ts, &format!("/local/domain/{domd2}/backend/vif/{id}/0/hotplug-status")).unwrap(),
        "connected"
    );
}
