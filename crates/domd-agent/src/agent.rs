//! The agent: which devices it serves, and what it does when their
//! directories change.
//!
//! Rules, for each device directory `backend/<kind>/<fe>/<devid>`
//! ([`decide`]):
//! - It is acted on once complete: it has `state` (Dom0 writes the whole
//!   directory in one transaction, as libxl does, or `state` last), or all
//!   of the kind's nodes ([`crate::block::NODES`]). Until then: wait.
//! - New (no record, no `hotplug-status`): set it up and write the result
//!   nodes, or `hotplug-error` and `hotplug-status=error`; at the limit of
//!   [`MAX_DEVICES`] records that is an error too.
//! - No record but `hotplug-status=connected` (the agent restarted):
//!   adopted without setting anything up again; its loop device is the
//!   `node` value when that is a `/dev/loopN`.
//! - No record and `hotplug-status` is anything else (`error`): left alone
//!   until Dom0 removes the directory.
//! - Recorded and gone: its loop device is freed and the record dropped.
//!   Recorded but without `hotplug-status` (removed and re-created before
//!   the agent looked): freed, then handled as new.
//!
//! Results are written in one transaction that first checks the directory
//! still exists, so the agent never re-creates what Dom0 removed. Its own
//! writes fire its watch again; they find the device recorded or with a
//! status, so nothing loops.

use crate::block;
use crate::hotplug::{error_nodes, HotplugError, CONNECTED, STATUS};
use crate::net;
use crate::scope::{canonical_number, DeviceId, Kind, Scope, Target, MAX_LISTED};
use crate::store::{Guarded, Store, StoreError};
use crate::system::{is_loop_device, DevNum, System};
use std::collections::{BTreeMap, BTreeSet};

/// The token of the agent's watches.
pub const WATCH_TOKEN: &str = "domd-agent";
/// Most devices the agent serves at once (records it holds).
pub const MAX_DEVICES: usize = 64;

/// The backend's state node (`enum xenbus_state`), written by Dom0 first.
const STATE: &str = "state";

/// What the agent holds for a connected device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `physical-device-path` as written (vbd); the interface (vif).
    pub path: String,
    /// The loop device the agent set up, freed when the device goes.
    pub loop_dev: Option<String>,
    /// The bridge a vif's interface joined.
    pub bridge: Option<String>,
}

/// What the agent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Connected {
        id: DeviceId,
        path: String,
        dev: DevNum,
        loop_dev: Option<String>,
    },
    /// A vif's interface joined its bridge.
    Plugged {
        id: DeviceId,
        ifname: String,
        bridge: String,
    },
    Failed {
        id: DeviceId,
        error: String,
    },
    Adopted {
        id: DeviceId,
        record: Record,
    },
    Released {
        id: DeviceId,
        record: Record,
    },
}

/// A device directory's nodes that matter, as read (absent ones left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    values: BTreeMap<&'static str, Vec<u8>>,
}

impl View {
    pub fn get(&self, node: &str) -> Option<&[u8]> {
        self.values.get(node).map(Vec::as_slice)
    }

    pub fn set(&mut self, node: &'static str, value: &[u8]) {
        self.values.insert(node, value.to_vec());
    }
}

/// The nodes a kind's agent reads besides the common ones.
fn kind_nodes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Vbd => block::NODES,
        Kind::Vif => net::NODES,
    }
}

/// The nodes read for every kind.
const COMMON_NODES: &[&str] = &[STATE, STATUS, block::NODE, block::PHYSICAL_DEVICE_PATH];

/// What to do with one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    Wait,
    Setup,
    Refuse(HotplugError),
    Adopt,
    /// Connected before, but no room to track it (its loop device would
    /// not be freed).
    CannotTrack,
    Release,
    Renew,
}

/// The rules of this module's documentation. `view` is `None` when the
/// directory is gone; `room` whether another record fits under `limit`.
pub fn decide(kind: Kind, tracked: bool, view: Option<&View>, room: bool, limit: usize) -> Decision {
    let Some(v) = view else { return if tracked { Decision::Release } else { Decision::Nothing } };
    let complete = v.get(STATE).is_some() || kind_nodes(kind).iter().all(|n| v.get(n).is_some());
    match (tracked, v.get(STATUS)) {
        (true, Some(_)) => Decision::Nothing,
        (true, None) if !complete => Decision::Release,
        (true, None) => Decision::Renew,
        (false, Some(s)) if s == CONNECTED.as_bytes() => {
            if room {
                Decision::Adopt
            } else {
                Decision::CannotTrack
            }
        }
        (false, Some(_)) => Decision::Nothing,
        (false, None) if !complete => Decision::Wait,
        (false, None) if !room => Decision::Refuse(HotplugError::TooManyDevices(limit)),
        (false, None) => Decision::Setup,
    }
}

/// The agent over a store `S` and a system `Y`.
#[derive(Debug)]
pub struct Agent<S, Y> {
    store: Guarded<S>,
    sys: Y,
    records: BTreeMap<DeviceId, Record>,
    max_devices: usize,
}

impl<S: Store, Y: System> Agent<S, Y> {
    /// The agent of domain `own`; it reaches `store` only through the path
    /// check of [`Guarded`].
    pub fn new(own: u16, store: S, sys: Y) -> Self {
        Agent { store: Guarded::new(Scope::new(own), store), sys, records: BTreeMap::new(), max_devices: MAX_DEVICES }
    }

    /// Another limit than [`MAX_DEVICES`] (tests).
    pub fn with_max_devices(mut self, n: usize) -> Self {
        self.max_devices = n;
        self
    }

    pub fn scope(&self) -> &Scope {
        self.store.scope()
    }

    pub fn records(&self) -> &BTreeMap<DeviceId, Record> {
        &self.records
    }

    pub fn system(&self) -> &Y {
        &self.sys
    }

    pub fn store(&self) -> &S {
        self.store.inner()
    }

    pub fn store_mut(&mut self) -> &mut S {
        self.store.inner_mut()
    }

    /// Watches each kind's directory, then handles the devices already
    /// there. When this returns, the agent is ready ([`crate::ready_line`]).
    pub fn start(&mut self) -> Result<Vec<Change>, StoreError> {
        for &kind in Kind::ALL {
            let dir = self.scope().kind_dir(kind);
            self.store.watch(&dir, WATCH_TOKEN)?;
        }
        Ok(self.scan())
    }

    /// Waits for the next watch event and handles it. An error is the
    /// store's connection failing.
    pub fn step(&mut self) -> Result<Vec<Change>, StoreError> {
        let (path, token) = self.store.next_event()?;
        Ok(self.handle_event(&path, &token))
    }

    /// Handles one watch event: the part of the backend tree it names is
    /// looked at again. Other tokens and paths outside the tree are
    /// ignored.
    pub fn handle_event(&mut self, path: &str, token: &str) -> Vec<Change> {
        if token != WATCH_TOKEN {
            return Vec::new();
        }
        match self.scope().classify(path) {
            None => {
                log::debug!("ignoring event for {}", crate::bounded(path, 128));
                Vec::new()
            }
            Some(Target::All) => self.scan(),
            Some(Target::Kind(kind)) => self.scan_kind(kind),
            Some(Target::Frontend(kind, fe)) => self.scan_frontend(kind, fe),
            Some(Target::Device(id)) => {
                let mut changes = Vec::new();
                self.handle(id, &mut changes);
                changes
            }
        }
    }

    /// Looks at every device of every kind.
    pub fn scan(&mut self) -> Vec<Change> {
        Kind::ALL.iter().flat_map(|&k| self.scan_kind(k)).collect()
    }

    fn scan_kind(&mut self, kind: Kind) -> Vec<Change> {
        let dir = self.scope().kind_dir(kind);
        let mut changes = Vec::new();
        let mut seen = BTreeSet::new();
        for fe in self.list(&dir) {
            match canonical_number::<u16>(&fe) {
                Some(fe) => {
                    seen.insert(fe);
                    changes.extend(self.scan_frontend(kind, fe));
                }
                None => log::warn!("{dir}: ignoring {:?} (not a domain id)", crate::bounded(&fe, 32)),
            }
        }
        let gone: Vec<DeviceId> =
            self.records.keys().filter(|id| id.kind == kind && !seen.contains(&id.frontend)).copied().collect();
        for id in gone {
            self.handle(id, &mut changes);
        }
        changes
    }

    fn scan_frontend(&mut self, kind: Kind, fe: u16) -> Vec<Change> {
        let dir = self.scope().frontend_dir(kind, fe);
        let mut ids = BTreeSet::new();
        for d in self.list(&dir) {
            match canonical_number::<u32>(&d) {
                Some(devid) => {
                    ids.insert(DeviceId { kind, frontend: fe, devid });
                }
                None => log::warn!("{dir}: ignoring {:?} (not a device number)", crate::bounded(&d, 32)),
            }
        }
        ids.extend(self.records.keys().filter(|id| id.kind == kind && id.frontend == fe));
        let mut changes = Vec::new();
        for id in ids {
            self.handle(id, &mut changes);
        }
        changes
    }

    /// The children of `dir`, at most [`MAX_LISTED`]; errors are logged.
    fn list(&mut self, dir: &str) -> Vec<String> {
        match self.store.list(dir) {
            Ok(mut v) => {
                if v.len() > MAX_LISTED {
                    log::warn!("{dir}: {} entries, looking at the first {MAX_LISTED}", v.len());
                    v.truncate(MAX_LISTED);
                }
                v
            }
            Err(e) => {
                log::warn!("{dir}: {e}");
                Vec::new()
            }
        }
    }

    /// Looks at one device and acts, adding what it did to `changes`;
    /// store errors are logged.
    fn handle(&mut self, id: DeviceId, changes: &mut Vec<Change>) {
        match self.try_handle(id, changes) {
            Ok(Some(c)) => changes.push(c),
            Ok(None) => {}
            Err(e) => log::warn!("{id}: {e}"),
        }
    }

    fn try_handle(&mut self, id: DeviceId, changes: &mut Vec<Change>) -> Result<Option<Change>, StoreError> {
        let view = self.read_view(id)?;
        let room = self.records.len() < self.max_devices;
        match decide(id.kind, self.records.contains_key(&id), view.as_ref(), room, self.max_devices) {
            Decision::Nothing | Decision::Wait => Ok(None),
            Decision::Release => Ok(self.release(id)),
            Decision::Renew => {
                changes.extend(self.release(id));
                self.setup(id, view.unwrap_or_default())
            }
            Decision::Setup => self.setup(id, view.unwrap_or_default()),
            Decision::Refuse(e) => self.report(id, e),
            Decision::Adopt => Ok(Some(self.adopt(id, &view.unwrap_or_default()))),
            Decision::CannotTrack => {
                log::warn!(
                    "{id}: connected, but {} devices are tracked already; it will not be freed",
                    self.records.len()
                );
                Ok(None)
            }
        }
    }

    /// The device's nodes, or `None` when its directory is gone.
    fn read_view(&mut self, id: DeviceId) -> Result<Option<View>, StoreError> {
        let dir = self.scope().device_dir(id);
        if self.store.read(&dir)?.is_none() {
            return Ok(None);
        }
        let mut v = View::default();
        for &node in COMMON_NODES.iter().chain(kind_nodes(id.kind)) {
            if let Some(value) = self.store.read(&format!("{dir}/{node}"))? {
                // libxl writes a vif's status empty: not reported yet.
                if node == STATUS && value.is_empty() {
                    continue;
                }
                v.set(node, &value);
            }
        }
        Ok(Some(v))
    }

    fn setup(&mut self, id: DeviceId, v: View) -> Result<Option<Change>, StoreError> {
        match id.kind {
            Kind::Vbd => self.setup_vbd(id, &v),
            Kind::Vif => self.setup_vif(id, &v),
        }
    }

    fn setup_vbd(&mut self, id: DeviceId, v: &View) -> Result<Option<Change>, StoreError> {
        let attached = block::parse(v.get(block::PARAMS), v.get(block::TYPE), v.get(block::MODE))
            .and_then(|req| block::attach(&mut self.sys, &req));
        let a = match attached {
            Ok(a) => a,
            Err(e) => return self.report(id, e),
        };
        if !self.write_result(id, &a.nodes())? {
            self.free_loop(id, a.loop_dev.as_deref());
            return Ok(None);
        }
        log::info!("{id}: connected {} ({})", a.path, a.dev);
        self.records.insert(id, Record { path: a.path.clone(), loop_dev: a.loop_dev.clone(), bridge: None });
        Ok(Some(Change::Connected { id, path: a.path, dev: a.dev, loop_dev: a.loop_dev }))
    }

    fn setup_vif(&mut self, id: DeviceId, v: &View) -> Result<Option<Change>, StoreError> {
        let plugged = net::parse(v.get(net::SCRIPT), v.get(net::BRIDGE), v.get(net::VIFNAME))
            .and_then(|req| net::attach(&mut self.sys, id, &req));
        let p = match plugged {
            Ok(p) => p,
            Err(e) => return self.report(id, e),
        };
        if !self.write_result(id, &p.nodes())? {
            net::release(&mut self.sys, &p);
            return Ok(None);
        }
        log::info!("{id}: {} joined {}", p.ifname, p.bridge);
        self.records.insert(id, Record { path: p.ifname.clone(), loop_dev: None, bridge: Some(p.bridge.clone()) });
        Ok(Some(Change::Plugged { id, ifname: p.ifname, bridge: p.bridge }))
    }

    /// Writes a set-up device's result nodes if its directory still
    /// exists; `Ok(false)` when Dom0 removed it meanwhile.
    fn write_result(&mut self, id: DeviceId, nodes: &[(&'static str, String)]) -> Result<bool, StoreError> {
        let refs: Vec<(&str, &str)> = nodes.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let written = self.store.write_if_present(&self.scope().device_dir(id), &refs)?;
        if !written {
            log::info!("{id}: removed while being set up");
        }
        Ok(written)
    }

    /// Writes the error nodes for `e`.
    fn report(&mut self, id: DeviceId, e: HotplugError) -> Result<Option<Change>, StoreError> {
        let nodes = error_nodes(&e);
        let refs: Vec<(&str, &str)> = nodes.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let error = nodes[0].1.clone();
        if !self.store.write_if_present(&self.scope().device_dir(id), &refs)? {
            return Ok(None);
        }
        log::warn!("{id}: {error}");
        Ok(Some(Change::Failed { id, error }))
    }

    fn adopt(&mut self, id: DeviceId, v: &View) -> Change {
        let text = |node| v.get(node).and_then(|b| crate::hotplug::text(node, b).ok()).unwrap_or_default();
        let node = text(block::NODE);
        let record = match id.kind {
            Kind::Vbd => Record {
                path: text(block::PHYSICAL_DEVICE_PATH).to_string(),
                loop_dev: is_loop_device(node).then(|| node.to_string()),
                bridge: None,
            },
            Kind::Vif => {
                let vifname = text(net::VIFNAME);
                Record {
                    path: if net::is_ifname(vifname) { vifname.to_string() } else { net::netback_ifname(id) },
                    loop_dev: None,
                    bridge: Some(text(net::BRIDGE).to_string()).filter(|b| net::is_ifname(b)),
                }
            }
        };
        log::info!("{id}: already connected ({}), adopted", record.path);
        self.records.insert(id, record.clone());
        Change::Adopted { id, record }
    }

    fn release(&mut self, id: DeviceId) -> Option<Change> {
        let record = self.records.remove(&id)?;
        self.free_loop(id, record.loop_dev.as_deref());
        if let Some(bridge) = &record.bridge {
            net::release(&mut self.sys, &net::Plugged { ifname: record.path.clone(), bridge: bridge.clone() });
        }
        log::info!("{id}: released {}", record.path);
        Some(Change::Released { id, record })
    }

    fn free_loop(&mut self, id: DeviceId, dev: Option<&str>) {
        if let Some(dev) = dev {
            if let Err(e) = self.sys.loop_detach(dev) {
                log::warn!("{id}: freeing {dev}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(nodes: &[(&'static str, &str)]) -> View {
        let mut v = View::default();
        for (n, val) in nodes {
            v.set(n, val.as_bytes());
        }
        v
    }

    #[test]
    fn decisions() {
        use Decision::*;
        let d = |tracked, v: Option<&View>, room| decide(Kind::Vbd, tracked, v, room, 3);
        let full = view(&[("params", "/a"), ("type", "phy"), ("mode", "w")]);
        let partial = view(&[("params", "/a")]);
        let with_state = view(&[("state", "1")]);
        let connected = view(&[("state", "2"), ("hotplug-status", "connected")]);
        let failed = view(&[("state", "2"), ("hotplug-status", "error")]);
        assert_eq!(d(false, None, true), Nothing);
        assert_eq!(d(true, None, true), Release);
        assert_eq!(d(false, Some(&partial), true), Wait);
        assert_eq!(d(false, Some(&View::default()), true), Wait);
        assert_eq!(d(false, Some(&full), true), Setup);
        assert_eq!(d(false, Some(&with_state), true), Setup, "complete: parse reports what is missing");
        assert_eq!(d(false, Some(&full), false), Refuse(HotplugError::TooManyDevices(3)));
        assert_eq!(d(false, Some(&connected), true), Adopt);
        assert_eq!(d(false, Some(&connected), false), CannotTrack);
        assert_eq!(d(false, Some(&failed), true), Nothing);
        assert_eq!(d(true, Some(&connected), true), Nothing);
        assert_eq!(d(true, Some(&failed), false), Nothing);
        assert_eq!(d(true, Some(&full), false), Renew);
        assert_eq!(d(true, Some(&partial), true), Release, "re-created, still being written");
    }
}
