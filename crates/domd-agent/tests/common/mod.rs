//! Test fixtures: thindom's XenStore server in-process (true permissions
//! and watch semantics), Dom0's side of it, and a fake system.

#![allow(dead_code)]

use domd_agent::{Agent, Change, DevNum, FileKind, System, XsStore};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use xenstore::client::{Client, Transport};
use xenstore::wire::{Msg, MsgType, XsError};
use xenstore::{ConnId, Server};

/// The agent's domain in the tests.
pub const OWN: u16 = 5;
/// The frontend domain.
pub const FE: u16 = 7;
/// xvda.
pub const XVDA: u32 = 51712;

/// A guest's connection to the shared server. `recv` with nothing queued
/// is `EIO`: the tests' "no more events".
pub struct InProc {
    s: Rc<RefCell<Server>>,
    c: ConnId,
    inbox: VecDeque<Msg>,
}

impl Transport for InProc {
    fn send(&mut self, m: &Msg) -> Result<(), XsError> {
        let mut s = self.s.borrow_mut();
        s.handle(self.c, m);
        while let Some(r) = s.pop_output(self.c) {
            self.inbox.push_back(r);
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, XsError> {
        if let Some(m) = self.inbox.pop_front() {
            return Ok(m);
        }
        self.s.borrow_mut().pop_output(self.c).ok_or(XsError::EIO)
    }
}

/// What the fake system holds; shared so a test sees it after handing the
/// system to an agent, and a second agent (a restart) finds it unchanged.
#[derive(Default)]
pub struct SysState {
    pub files: BTreeMap<String, FileKind>,
    /// Bound loop devices: path → (file, read-only).
    pub loops: BTreeMap<String, (String, bool)>,
    pub attaches: usize,
    pub fail_attach: Option<String>,
    /// Run after each successful attach (Dom0 acting meanwhile).
    pub on_attach: Option<Box<dyn FnMut()>>,
    /// Network interfaces: name → the bridge it is on.
    pub nets: BTreeMap<String, Option<String>>,
    /// Bridges.
    pub bridges: Vec<String>,
    /// Milliseconds slept.
    pub slept: u64,
    /// Interfaces that appear after this many ms of sleep (netback late).
    pub late_nets: Vec<(u64, String)>,
    pub fail_bridge: Option<String>,
}

#[derive(Clone, Default)]
pub struct FakeSys(pub Rc<RefCell<SysState>>);

impl FakeSys {
    pub fn with_files(files: &[(&str, FileKind)]) -> FakeSys {
        let s = FakeSys::default();
        for (p, k) in files {
            s.0.borrow_mut().files.insert(p.to_string(), *k);
        }
        s
    }

    pub fn loops(&self) -> Vec<(String, String, bool)> {
        self.0.borrow().loops.iter().map(|(d, (f, ro))| (d.clone(), f.clone(), *ro)).collect()
    }
}

impl System for FakeSys {
    fn stat(&mut self, path: &str) -> Result<FileKind, String> {
        let s = self.0.borrow();
        if let Some(n) = path.strip_prefix("/dev/loop").and_then(|n| n.parse::<u32>().ok()) {
            if s.loops.contains_key(path) {
                return Ok(FileKind::Block { rdev: DevNum { major: 7, minor: n }.to_rdev() });
            }
        }
        Ok(s.files.get(path).copied().unwrap_or(FileKind::Missing))
    }

    fn loop_attach(&mut self, file: &str, read_only: bool) -> Result<String, String> {
        let mut s = self.0.borrow_mut();
        if let Some(e) = &s.fail_attach {
            return Err(e.clone());
        }
        s.attaches += 1;
        let n = (0..).find(|n| !s.loops.contains_key(&format!("/dev/loop{n}"))).unwrap_or(0);
        let dev = format!("/dev/loop{n}");
        s.loops.insert(dev.clone(), (file.to_string(), read_only));
        let hook = s.on_attach.take();
        drop(s);
        if let Some(mut f) = hook {
            f();
            self.0.borrow_mut().on_attach = Some(f);
        }
        Ok(dev)
    }

    fn loop_detach(&mut self, dev: &str) -> Result<(), String> {
        self.0.borrow_mut().loops.remove(dev).map(drop).ok_or_else(|| format!("{dev}: not a bound loop device"))
    }

    fn net_exists(&mut self, ifname: &str) -> bool {
        let s = self.0.borrow();
        s.nets.contains_key(ifname) || s.bridges.iter().any(|b| b == ifname)
    }

    fn net_rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        let v = s.nets.remove(from).ok_or_else(|| format!("{from}: no such interface"))?;
        s.nets.insert(to.to_string(), v);
        Ok(())
    }

    fn bridge_ensure(&mut self, bridge: &str) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        if let Some(e) = &s.fail_bridge {
            return Err(e.clone());
        }
        if s.nets.contains_key(bridge) {
            return Err(format!("{bridge} exists and is not a bridge"));
        }
        if !s.bridges.iter().any(|b| b == bridge) {
            s.bridges.push(bridge.to_string());
        }
        Ok(())
    }

    fn bridge_add(&mut self, bridge: &str, ifname: &str) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        let port = s.nets.get_mut(ifname).ok_or_else(|| format!("{ifname}: no such interface"))?;
        *port = Some(bridge.to_string());
        Ok(())
    }

    fn bridge_remove(&mut self, _bridge: &str, ifname: &str) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        let port = s.nets.get_mut(ifname).ok_or_else(|| format!("{ifname}: no such interface"))?;
        *port = None;
        Ok(())
    }

    fn sleep_ms(&mut self, ms: u64) {
        let mut s = self.0.borrow_mut();
        s.slept += ms;
        let now = s.slept;
        let (due, late): (Vec<_>, Vec<_>) = core::mem::take(&mut s.late_nets).into_iter().partition(|(t, _)| *t <= now);
        s.late_nets = late;
        for (_, n) in due {
            s.nets.insert(n, None);
        }
    }
}

impl FakeSys {
    /// Netback's interface for a device appears.
    pub fn add_net(&self, name: &str) {
        self.0.borrow_mut().nets.insert(name.to_string(), None);
    }

    /// Netback removed an interface (its device went).
    pub fn remove_net(&self, name: &str) {
        self.0.borrow_mut().nets.remove(name);
    }

    /// The bridge `name` is on (`Some(None)`: on none).
    pub fn port(&self, name: &str) -> Option<Option<String>> {
        self.0.borrow().nets.get(name).cloned()
    }
}

pub type TestAgent = Agent<XsStore<InProc>, FakeSys>;

/// The store with Dom0 and the driver domain's home, as thindom's
/// toolstack writes it.
#[derive(Clone)]
pub struct World {
    pub s: Rc<RefCell<Server>>,
    pub dom0: ConnId,
}

impl World {
    pub fn new() -> World {
        let s = Rc::new(RefCell::new(Server::default()));
        let dom0 = s.borrow_mut().connect(0, true);
        let w = World { s, dom0 };
        for d in [OWN, FE] {
            let home = format!("/local/domain/{d}");
            w.write(&home, "");
            w.perms(&home, &["n0", &format!("r{d}")]);
            w.write(&format!("{home}/domid"), &d.to_string());
        }
        let be = format!("/local/domain/{OWN}/backend");
        w.write(&be, "");
        w.perms(&be, &[&format!("n{OWN}")]);
        w
    }

    pub fn write(&self, path: &str, value: &str) {
        self.s.borrow_mut().write_as(self.dom0, path, value.as_bytes()).unwrap();
    }

    pub fn write_bytes(&self, path: &str, value: &[u8]) {
        self.s.borrow_mut().write_as(self.dom0, path, value).unwrap();
    }

    pub fn perms(&self, path: &str, perms: &[&str]) {
        let mut p = path.as_bytes().to_vec();
        for x in perms {
            p.push(0);
            p.extend_from_slice(x.as_bytes());
        }
        p.push(0);
        self.s.borrow_mut().request(self.dom0, MsgType::SetPerms, 0, p).unwrap();
    }

    pub fn read(&self, path: &str) -> Option<String> {
        let mut p = path.as_bytes().to_vec();
        p.push(0);
        let v = self.s.borrow_mut().request(self.dom0, MsgType::Read, 0, p).ok()?;
        Some(String::from_utf8_lossy(&v).into_owned())
    }

    pub fn rm(&self, path: &str) {
        let mut p = path.as_bytes().to_vec();
        p.push(0);
        self.s.borrow_mut().request(self.dom0, MsgType::Rm, 0, p).unwrap();
    }

    /// Writes nodes in one transaction, as libxl writes a backend.
    pub fn write_tx(&self, nodes: &[(String, Vec<u8>)]) {
        let mut s = self.s.borrow_mut();
        let id = s.request(self.dom0, MsgType::TransactionStart, 0, b"\0".to_vec()).unwrap();
        let tx: u32 = String::from_utf8_lossy(id.strip_suffix(&[0]).unwrap_or(&id)).parse().unwrap();
        for (p, v) in nodes {
            let mut payload = p.as_bytes().to_vec();
            payload.push(0);
            payload.extend_from_slice(v);
            s.request(self.dom0, MsgType::Write, tx, payload).unwrap();
        }
        s.request(self.dom0, MsgType::TransactionEnd, tx, b"T\0".to_vec()).unwrap();
    }

    pub fn dir(&self, fe: u16, devid: u32) -> String {
        format!("/local/domain/{OWN}/backend/vbd/{fe}/{devid}")
    }

    pub fn vif_dir(&self, fe: u16, devid: u32) -> String {
        format!("/local/domain/{OWN}/backend/vif/{fe}/{devid}")
    }

    /// A vif backend directory as libxl writes it (one transaction), with
    /// `extra` nodes (or replacements) on top.
    pub fn add_vif(&self, fe: u16, devid: u32, extra: &[(&str, &str)]) {
        let dir = self.vif_dir(fe, devid);
        let mut nodes: Vec<(&str, String)> = vec![
            ("frontend", format!("/local/domain/{fe}/device/vif/{devid}")),
            ("frontend-id", fe.to_string()),
            ("online", "1".into()),
            ("script", "/etc/xen/scripts/vif-bridge".into()),
            ("mac", "00:16:3e:12:34:56".into()),
            ("bridge", "xenbr0".into()),
            ("handle", devid.to_string()),
            ("type", "vif".into()),
            ("hotplug-status", String::new()),
        ];
        for (n, v) in extra {
            nodes.retain(|(m, _)| m != n);
            nodes.push((n, v.to_string()));
        }
        nodes.push(("state", "1".into()));
        let nodes: Vec<(String, Vec<u8>)> =
            nodes.into_iter().map(|(n, v)| (format!("{dir}/{n}"), v.into_bytes())).collect();
        self.write_tx(&nodes);
    }

    /// A node of a vif directory.
    pub fn vif_node(&self, fe: u16, devid: u32, node: &str) -> Option<String> {
        self.read(&format!("{}/{node}", self.vif_dir(fe, devid)))
    }

    /// A vbd backend directory as libxl writes it (one transaction).
    pub fn add_vbd(&self, fe: u16, devid: u32, params: &str, mode: &str) {
        self.add_vbd_raw(fe, devid, &[("params", params.as_bytes()), ("type", b"phy"), ("mode", mode.as_bytes())]);
    }

    /// A vbd directory with the common nodes, `state` and `extra`.
    pub fn add_vbd_raw(&self, fe: u16, devid: u32, extra: &[(&str, &[u8])]) {
        let dir = self.dir(fe, devid);
        let mut nodes: Vec<(String, Vec<u8>)> = vec![
            (format!("{dir}/frontend"), format!("/local/domain/{fe}/device/vbd/{devid}").into_bytes()),
            (format!("{dir}/frontend-id"), fe.to_string().into_bytes()),
            (format!("{dir}/online"), b"1".to_vec()),
            (format!("{dir}/dev"), b"xvda".to_vec()),
            (format!("{dir}/device-type"), b"disk".to_vec()),
        ];
        nodes.extend(extra.iter().map(|(n, v)| (format!("{dir}/{n}"), v.to_vec())));
        nodes.push((format!("{dir}/state"), b"1".to_vec()));
        self.write_tx(&nodes);
    }

    /// The driver domain's connection.
    pub fn connect(&self, domid: u16) -> Client<InProc> {
        let c = self.s.borrow_mut().connect(domid, false);
        Client::new(InProc { s: self.s.clone(), c, inbox: VecDeque::new() })
    }

    /// An agent of domain [`OWN`], started (watch set, devices handled).
    pub fn agent(&self, sys: FakeSys) -> (TestAgent, Vec<Change>) {
        let mut a = Agent::new(OWN, XsStore::new(self.connect(OWN)), sys);
        let mut changes = a.start().unwrap();
        changes.extend(settle(&mut a));
        (a, changes)
    }

    /// A node of a device directory.
    pub fn node(&self, fe: u16, devid: u32, node: &str) -> Option<String> {
        self.read(&format!("{}/{node}", self.dir(fe, devid)))
    }
}

/// Handles watch events until none is queued.
pub fn settle(a: &mut TestAgent) -> Vec<Change> {
    let mut all = Vec::new();
    for _ in 0..10_000 {
        match a.step() {
            Ok(c) => all.extend(c),
            Err(_) => return all,
        }
    }
    panic!("the agent's watch events never stop");
}
