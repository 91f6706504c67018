//! The agent against thindom's XenStore server (in-process, with real
//! permissions and watches) and a fake system.

mod common;

use common::{settle, FakeSys, World, FE, OWN, XVDA};
use domd_agent::store::{read_own_domid, Guarded, Store, StoreError};
use domd_agent::{Agent, Change, DevNum, DeviceId, FileKind, Kind, Record, Scope, XsStore, MAX_VALUE_LEN, WATCH_TOKEN};

/// A device directory's nodes: `(name, value)`.
type Nodes<'a> = &'a [(&'a str, &'a [u8])];

fn id(fe: u16, devid: u32) -> DeviceId {
    DeviceId { kind: Kind::Vbd, frontend: fe, devid }
}

fn img() -> FakeSys {
    FakeSys::with_files(&[("/img/a.img", FileKind::Regular), ("/img/b.img", FileKind::Regular)])
}

#[test]
fn own_domid_is_read_relative() {
    let w = World::new();
    assert_eq!(read_own_domid(&mut w.connect(OWN)), Ok(OWN));
    w.write(&format!("/local/domain/{OWN}/domid"), "5x");
    assert_eq!(read_own_domid(&mut w.connect(OWN)), Err("domid is \"5x\", not a domain id".into()));
    assert!(read_own_domid(&mut w.connect(9)).unwrap_err().starts_with("reading domid: "));
}

#[test]
fn image_file_gets_a_loop_device_and_the_nodes() {
    let w = World::new();
    let sys = img();
    let (mut a, changes) = w.agent(sys.clone());
    assert_eq!(changes, []);
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    let changes = settle(&mut a);
    let dev = DevNum { major: 7, minor: 0 };
    let loop0 = Some("/dev/loop0".to_string());
    assert_eq!(
        changes,
        [Change::Connected { id: id(FE, XVDA), path: "/dev/loop0".into(), dev, loop_dev: loop0.clone() }]
    );
    assert_eq!(sys.loops(), [("/dev/loop0".into(), "/img/a.img".into(), false)]);
    let n = |node| w.node(FE, XVDA, node);
    assert_eq!(n("physical-device").as_deref(), Some("7:0"));
    assert_eq!(n("physical-device-path").as_deref(), Some("/dev/loop0"));
    assert_eq!(n("node").as_deref(), Some("/dev/loop0"));
    assert_eq!(n("hotplug-status").as_deref(), Some("connected"));
    assert_eq!(n("hotplug-error"), None);
    assert_eq!(a.records()[&id(FE, XVDA)], Record { path: "/dev/loop0".into(), loop_dev: loop0, bridge: None });
    // Its own writes and later changes (blkback's state) set nothing up again.
    w.write(&format!("{}/state", w.dir(FE, XVDA)), "2");
    assert_eq!(settle(&mut a), []);
    assert_eq!(sys.0.borrow().attaches, 1);
    // mode=r: a read-only loop device, the next free one.
    w.add_vbd(FE, 51728, "/img/b.img", "r");
    settle(&mut a);
    assert_eq!(sys.loops()[1], ("/dev/loop1".into(), "/img/b.img".into(), true));
    assert_eq!(w.node(FE, 51728, "physical-device").as_deref(), Some("7:1"));
}

#[test]
fn block_device_is_used_directly() {
    let w = World::new();
    let sdb = DevNum { major: 8, minor: 16 };
    let nvme = DevNum { major: 259, minor: 300 };
    let sys = FakeSys::with_files(&[
        ("/dev/sdb", FileKind::Block { rdev: sdb.to_rdev() }),
        ("/dev/nvme0n1p9", FileKind::Block { rdev: nvme.to_rdev() }),
    ]);
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/dev/sdb", "w");
    w.add_vbd(FE, 51728, "nvme0n1p9", "r");
    settle(&mut a);
    assert_eq!(sys.loops(), []);
    assert_eq!(w.node(FE, XVDA, "physical-device").as_deref(), Some("8:10"));
    assert_eq!(w.node(FE, XVDA, "physical-device-path").as_deref(), Some("/dev/sdb"));
    assert_eq!(w.node(FE, XVDA, "node"), None);
    assert_eq!(w.node(FE, 51728, "physical-device").as_deref(), Some("103:12c"));
    assert_eq!(w.node(FE, 51728, "physical-device-path").as_deref(), Some("/dev/nvme0n1p9"));
    assert_eq!(w.node(FE, 51728, "hotplug-status").as_deref(), Some("connected"));
    // Removing it frees nothing.
    w.rm(&w.dir(FE, XVDA));
    let c = settle(&mut a);
    assert_eq!(
        c,
        [Change::Released {
            id: id(FE, XVDA),
            record: Record { path: "/dev/sdb".into(), loop_dev: None, bridge: None }
        }]
    );
}

#[test]
fn missing_or_wrong_targets_are_reported() {
    let w = World::new();
    let sys = FakeSys::with_files(&[("/img", FileKind::Other)]);
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/img/none.img", "w");
    w.add_vbd(FE, 51728, "/img", "w");
    let c = settle(&mut a);
    assert_eq!(c.len(), 2);
    let e = |devid| (w.node(FE, devid, "hotplug-status"), w.node(FE, devid, "hotplug-error"));
    let err = |s: &str| (Some("error".to_string()), Some(s.to_string()));
    assert_eq!(e(XVDA), err("/img/none.img does not exist in the driver domain"));
    assert_eq!(e(51728), err("/img is neither a block device nor a regular file"));
    assert_eq!(w.node(FE, XVDA, "physical-device"), None);
    assert!(a.records().is_empty() && sys.loops().is_empty());
    // Reported once: later events leave the device alone.
    w.write(&format!("{}/state", w.dir(FE, XVDA)), "6");
    assert_eq!(settle(&mut a), []);
}

#[test]
fn losetup_failure_is_reported() {
    let w = World::new();
    let sys = img();
    sys.0.borrow_mut().fail_attach = Some("losetup: no free loop devices".into());
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    settle(&mut a);
    assert_eq!(w.node(FE, XVDA, "hotplug-status").as_deref(), Some("error"));
    assert_eq!(
        w.node(FE, XVDA, "hotplug-error").as_deref(),
        Some("losetup for /img/a.img failed: losetup: no free loop devices")
    );
    assert!(a.records().is_empty());
}

#[test]
fn removed_device_frees_its_loop() {
    let w = World::new();
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    w.add_vbd(FE, 51728, "/img/b.img", "w");
    w.add_vbd(8, XVDA, "/img/b.img", "r");
    settle(&mut a);
    assert_eq!(sys.loops().len(), 3);
    w.rm(&w.dir(FE, XVDA));
    let c = settle(&mut a);
    let rec = Record { path: "/dev/loop0".into(), loop_dev: Some("/dev/loop0".into()), bridge: None };
    assert_eq!(c, [Change::Released { id: id(FE, XVDA), record: rec }]);
    assert_eq!(sys.loops().iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["/dev/loop1", "/dev/loop2"]);
    // A whole frontend's directory at once.
    w.rm(&format!("/local/domain/{OWN}/backend/vbd/{FE}"));
    assert_eq!(settle(&mut a).len(), 1);
    // The whole kind.
    w.rm(&format!("/local/domain/{OWN}/backend/vbd"));
    assert_eq!(settle(&mut a).len(), 1);
    assert!(sys.loops().is_empty() && a.records().is_empty());
    // A device added again gets set up again.
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    settle(&mut a);
    assert_eq!(sys.loops().len(), 1);
}

#[test]
fn directory_recreated_behind_the_agents_back_is_set_up_anew() {
    let w = World::new();
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    settle(&mut a);
    w.rm(&w.dir(FE, XVDA));
    w.add_vbd(FE, XVDA, "/img/b.img", "w");
    let c = settle(&mut a);
    assert!(matches!(c.as_slice(), [Change::Released { .. }, Change::Connected { .. }]), "{c:?}");
    assert_eq!(sys.loops(), [("/dev/loop0".into(), "/img/b.img".into(), false)]);
    assert_eq!(w.node(FE, XVDA, "hotplug-status").as_deref(), Some("connected"));
}

#[test]
fn other_domains_trees_are_never_touched() {
    let w = World::new();
    let other = "/local/domain/9/backend/vbd/7/51712";
    w.write(&format!("{other}/params"), "/img/a.img");
    w.write(&format!("{other}/type"), "phy");
    w.write(&format!("{other}/mode"), "w");
    w.write(&format!("{other}/state"), "1");
    // Readable and writable by the agent's domain: only its own rule stops it.
    w.perms("/local/domain/9/backend", &["n9", &format!("b{OWN}")]);
    for p in ["/local/domain/9/backend/vbd/7", "/local/domain/9/backend/vbd/7/51712"] {
        w.perms(p, &["n9", &format!("b{OWN}")]);
    }
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    for p in [other, "/local/domain/9/backend/vbd", "/local/domain/9/backend", "/local/domain/5/device/vbd/1", "/"] {
        assert_eq!(a.handle_event(p, WATCH_TOKEN), [], "{p}");
    }
    // A path of the agent's tree with another token is not its event.
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    assert_eq!(a.handle_event(&w.dir(FE, XVDA), "other"), []);
    assert_eq!(w.read(&format!("{other}/hotplug-status")), None);
    assert_eq!(w.read(&format!("{other}/physical-device")), None);
    assert_eq!(sys.0.borrow().attaches, 0);
    // The guard refuses before sending anything.
    let mut g = Guarded::new(Scope::new(OWN), XsStore::new(w.connect(OWN)));
    let refused = |p: &str| StoreError::OutOfScope(p.to_string());
    assert_eq!(g.read(&format!("{other}/params")).unwrap_err(), refused(&format!("{other}/params")));
    assert_eq!(g.list("/local/domain/9/backend").unwrap_err(), refused("/local/domain/9/backend"));
    assert_eq!(g.write_if_present(other, &[("x", "1")]).unwrap_err(), refused(other));
    assert_eq!(g.watch("/local/domain/9/backend", "t").unwrap_err(), refused("/local/domain/9/backend"));
    let own = w.dir(FE, XVDA);
    assert_eq!(g.write_if_present(&own, &[("../x", "1")]).unwrap_err(), refused(&format!("{own}/../x")));
    let domid = format!("/local/domain/{OWN}/domid");
    assert_eq!(g.read(&domid).unwrap_err(), refused(&domid));
    assert_eq!(g.read(&format!("{own}/params")), Ok(Some(b"/img/a.img".to_vec())));
}

#[test]
fn restart_adopts_connected_devices() {
    let w = World::new();
    let sys = FakeSys::with_files(&[
        ("/img/a.img", FileKind::Regular),
        ("/dev/sdb", FileKind::Block { rdev: DevNum { major: 8, minor: 16 }.to_rdev() }),
    ]);
    let (mut a, _) = w.agent(sys.clone());
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    w.add_vbd(FE, 51728, "/dev/sdb", "w");
    w.add_vbd(FE, 51744, "/img/none.img", "w");
    settle(&mut a);
    drop(a);
    // A second agent finds the same store and system.
    let (mut b, changes) = w.agent(sys.clone());
    let loop0 = Record { path: "/dev/loop0".into(), loop_dev: Some("/dev/loop0".into()), bridge: None };
    let sdb = Record { path: "/dev/sdb".into(), loop_dev: None, bridge: None };
    assert_eq!(
        changes,
        [
            Change::Adopted { id: id(FE, XVDA), record: loop0.clone() },
            Change::Adopted { id: id(FE, 51728), record: sdb }
        ]
    );
    assert_eq!(sys.0.borrow().attaches, 1, "no second loop device");
    assert_eq!(w.node(FE, 51744, "hotplug-status").as_deref(), Some("error"), "the failed one stays failed");
    w.rm(&w.dir(FE, XVDA));
    assert_eq!(settle(&mut b), [Change::Released { id: id(FE, XVDA), record: loop0 }]);
    assert!(sys.loops().is_empty());
}

#[test]
fn devices_beyond_the_limit_are_refused() {
    let w = World::new();
    let sys = img();
    let mut a = Agent::new(OWN, XsStore::new(w.connect(OWN)), sys.clone()).with_max_devices(2);
    a.start().unwrap();
    for devid in [1, 2, 3] {
        w.add_vbd(FE, devid, "/img/a.img", "r");
    }
    settle(&mut a);
    assert_eq!(a.records().len(), 2);
    assert_eq!(sys.loops().len(), 2);
    assert_eq!(w.node(FE, 3, "hotplug-status").as_deref(), Some("error"));
    assert_eq!(
        w.node(FE, 3, "hotplug-error").as_deref(),
        Some("the driver domain's agent serves 2 devices already (its limit)")
    );
    w.rm(&w.dir(FE, 1));
    w.add_vbd(FE, 4, "/img/a.img", "r");
    settle(&mut a);
    assert_eq!(w.node(FE, 4, "hotplug-status").as_deref(), Some("connected"));
    assert_eq!(a.records().len(), 2);
    assert_eq!(domd_agent::MAX_DEVICES, 64);
}

#[test]
fn malformed_values_are_errors_not_panics() {
    let w = World::new();
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    let long = vec![b'/'; MAX_VALUE_LEN + 1];
    let cases: &[(u32, Nodes, &str)] = &[
        (
            1,
            &[("params", b"/img/a.img"), ("type", b"tap"), ("mode", b"w")],
            "backend node type is \"tap\"; phy or file are served",
        ),
        (
            2,
            &[("params", b"/img/a.img"), ("type", b"phy"), ("mode", b"x")],
            "backend node mode is \"x\", neither r nor w",
        ),
        (3, &[("params", b""), ("type", b"phy"), ("mode", b"w")], "backend node params is empty"),
        (
            4,
            &[("params", b"a.img"), ("type", b"file"), ("mode", b"w")],
            "backend node params is \"a.img\", not an absolute path",
        ),
        (
            5,
            &[("params", b"/img/a.img\n"), ("type", b"phy"), ("mode", b"w")],
            "backend node params contains control characters",
        ),
        (6, &[("params", b"/img/\xff"), ("type", b"phy"), ("mode", b"w")], "backend node params is not UTF-8 text"),
        (
            7,
            &[("params", &long), ("type", b"phy"), ("mode", b"w")],
            "backend node params is 1025 bytes long (the limit is 1024)",
        ),
        (8, &[("type", b"phy"), ("mode", b"w")], "backend node params is missing"),
        (9, &[("params", b"/img/a.img"), ("mode", b"w")], "backend node type is missing"),
    ];
    for (devid, nodes, _) in cases {
        w.add_vbd_raw(FE, *devid, nodes);
    }
    // Names that are no device: ignored.
    for bad in ["abc", "007", "-1", "99999999999"] {
        w.write(&format!("/local/domain/{OWN}/backend/vbd/{FE}/{bad}/params"), "/img/a.img");
        w.write(&format!("/local/domain/{OWN}/backend/vbd/{FE}/{bad}/state"), "1");
    }
    w.write(&format!("/local/domain/{OWN}/backend/vbd/x7/1/state"), "1");
    settle(&mut a);
    for (devid, _, error) in cases {
        assert_eq!(w.node(FE, *devid, "hotplug-status").as_deref(), Some("error"), "{devid}");
        assert_eq!(w.node(FE, *devid, "hotplug-error").as_deref(), Some(*error), "{devid}");
    }
    assert!(sys.loops().is_empty() && a.records().is_empty());
    for bad in ["abc", "007"] {
        assert_eq!(w.read(&format!("/local/domain/{OWN}/backend/vbd/{FE}/{bad}/hotplug-status")), None);
    }
    // A hotplug-status of garbage from elsewhere is left alone too.
    w.add_vbd_raw(FE, 10, &[("params", b"/img/a.img"), ("type", b"phy"), ("mode", b"w"), ("hotplug-status", b"\xff")]);
    assert_eq!(settle(&mut a), []);
}

#[test]
fn incomplete_directories_wait() {
    let w = World::new();
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    // Written node by node without a transaction, `state` last.
    let dir = w.dir(FE, XVDA);
    w.write(&format!("{dir}/frontend-id"), "7");
    w.write(&format!("{dir}/params"), "/img/a.img");
    w.write(&format!("{dir}/mode"), "w");
    assert_eq!(settle(&mut a), []);
    assert_eq!(w.node(FE, XVDA, "hotplug-status"), None);
    w.write(&format!("{dir}/type"), "phy");
    w.write(&format!("{dir}/state"), "1");
    assert_eq!(settle(&mut a).len(), 1);
    assert_eq!(w.node(FE, XVDA, "hotplug-status").as_deref(), Some("connected"));
}

#[test]
fn devices_present_at_start_are_handled() {
    let w = World::new();
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    let sys = img();
    let (a, changes) = w.agent(sys.clone());
    assert!(matches!(changes.as_slice(), [Change::Connected { .. }]), "{changes:?}");
    assert_eq!(a.records().len(), 1);
    assert_eq!(w.node(FE, XVDA, "hotplug-status").as_deref(), Some("connected"));
}

#[test]
fn directory_removed_during_setup_is_not_recreated() {
    let w = World::new();
    let sys = img();
    let (mut a, _) = w.agent(sys.clone());
    let w2 = w.clone();
    let dir = w.dir(FE, XVDA);
    let dir2 = dir.clone();
    sys.0.borrow_mut().on_attach = Some(Box::new(move || w2.rm(&dir2)));
    w.add_vbd(FE, XVDA, "/img/a.img", "w");
    assert_eq!(settle(&mut a), []);
    assert_eq!(sys.0.borrow().attaches, 1);
    assert!(sys.loops().is_empty(), "the loop device made meanwhile is freed");
    assert!(a.records().is_empty());
    assert_eq!(w.read(&dir), None, "not re-created by the agent's writes");
}
