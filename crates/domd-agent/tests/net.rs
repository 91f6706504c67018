//! The agent's vif-bridge part against thindom's XenStore server and a
//! fake system: netback's interface onto the bridge, `hotplug-status`,
//! the errors, teardown and restart.

mod common;

use common::{settle, FakeSys, World, FE};
use domd_agent::{Agent, Change, DeviceId, Kind, Record, XsStore};

fn vif(fe: u16, devid: u32) -> DeviceId {
    DeviceId { kind: Kind::Vif, frontend: fe, devid }
}

#[test]
fn netbacks_interface_joins_the_bridge_and_is_reported() {
    let w = World::new();
    let sys = FakeSys::default();
    let (mut a, _) = w.agent(sys.clone());
    sys.add_net("vif7.0");
    w.add_vif(FE, 0, &[]);
    let c = settle(&mut a);
    assert_eq!(c, [Change::Plugged { id: vif(FE, 0), ifname: "vif7.0".into(), bridge: "xenbr0".into() }]);
    assert_eq!(sys.port("vif7.0"), Some(Some("xenbr0".into())));
    assert_eq!(sys.0.borrow().bridges, ["xenbr0"]);
    assert_eq!(w.vif_node(FE, 0, "hotplug-status").as_deref(), Some("connected"));
    // Netback's own writes (its state, features) set nothing up again.
    w.write(&format!("{}/state", w.vif_dir(FE, 0)), "2");
    w.write(&format!("{}/feature-sg", w.vif_dir(FE, 0)), "1");
    assert_eq!(settle(&mut a), []);
    // A second vif on another bridge: made too.
    sys.add_net("vif7.1");
    w.add_vif(FE, 1, &[("bridge", "br1")]);
    settle(&mut a);
    assert_eq!(sys.0.borrow().bridges, ["xenbr0", "br1"]);
    // Removed: off the bridge (netback then deletes the interface).
    w.rm(&w.vif_dir(FE, 0));
    let rec = Record { path: "vif7.0".into(), loop_dev: None, bridge: Some("xenbr0".into()) };
    assert_eq!(settle(&mut a), [Change::Released { id: vif(FE, 0), record: rec }]);
    assert_eq!(sys.port("vif7.0"), Some(None));
    sys.remove_net("vif7.1");
    w.rm(&format!("/local/domain/5/backend/vif/{FE}"));
    assert_eq!(settle(&mut a).len(), 1, "released even though netback removed the interface first");
    assert!(a.records().is_empty());
}

#[test]
fn a_late_interface_is_waited_for_a_missing_one_reported() {
    let w = World::new();
    let sys = FakeSys::default();
    sys.0.borrow_mut().late_nets.push((300, "vif7.0".into()));
    let (mut a, _) = w.agent(sys.clone());
    w.add_vif(FE, 0, &[]);
    settle(&mut a);
    assert_eq!(w.vif_node(FE, 0, "hotplug-status").as_deref(), Some("connected"));
    assert_eq!(sys.0.borrow().slept, 300);
    // No netback: a bounded wait, then an error Dom0 shows.
    w.add_vif(FE, 1, &[]);
    settle(&mut a);
    assert_eq!(w.vif_node(FE, 1, "hotplug-status").as_deref(), Some("error"));
    assert_eq!(
        w.vif_node(FE, 1, "hotplug-error").as_deref(),
        Some("vif7.1 did not appear within 10 s (is xen-netback loaded?)")
    );
    assert_eq!(sys.0.borrow().slept, 300 + domd_agent::net::NETDEV_WAIT_MS);
}

#[test]
fn other_scripts_bad_bridges_and_failures_are_errors() {
    let w = World::new();
    let sys = FakeSys::default();
    let (mut a, _) = w.agent(sys.clone());
    for n in 0..4 {
        sys.add_net(&format!("vif7.{n}"));
    }
    sys.add_net("eth0");
    w.add_vif(FE, 0, &[("script", "/etc/xen/scripts/vif-route")]);
    w.add_vif(FE, 1, &[("bridge", "eth0")]);
    w.add_vif(FE, 2, &[("bridge", "br/0")]);
    w.add_vif(FE, 3, &[("vifname", "eth0")]);
    settle(&mut a);
    let err = |d| w.vif_node(FE, d, "hotplug-error").unwrap_or_default();
    assert!(err(0).contains("serves vif-bridge only"), "{}", err(0));
    assert_eq!(err(1), "eth0 exists and is not a bridge");
    assert!(err(2).contains("not an interface name"), "{}", err(2));
    assert_eq!(err(3), "vifname eth0: an interface of that name exists already");
    assert!(a.records().is_empty());
    assert!((0..4).all(|n| sys.port(&format!("vif7.{n}")) == Some(None)), "nothing joined a bridge");
}

#[test]
fn vifname_renames_and_restart_adopts() {
    let w = World::new();
    let sys = FakeSys::default();
    let (mut a, _) = w.agent(sys.clone());
    sys.add_net("vif7.0");
    w.add_vif(FE, 0, &[("vifname", "web0")]);
    settle(&mut a);
    assert_eq!(sys.port("web0"), Some(Some("xenbr0".into())));
    assert_eq!(sys.port("vif7.0"), None);
    // A new agent (the old one died) adopts it and releases it later.
    drop(a);
    let mut b = Agent::new(common::OWN, XsStore::new(w.connect(common::OWN)), sys.clone());
    let c = b.start().unwrap();
    let rec = Record { path: "web0".into(), loop_dev: None, bridge: Some("xenbr0".into()) };
    assert_eq!(c, [Change::Adopted { id: vif(FE, 0), record: rec }]);
    w.rm(&w.vif_dir(FE, 0));
    settle(&mut b);
    assert_eq!(sys.port("web0"), Some(None));
}
