//! Disks: the `disk = [...]` of a configuration attached at create time,
//! `block-attach`/`block-detach`/`block-list` on a running domain, and
//! taking a domain's devices down (those it uses and those it serves)
//! when it goes. The XenStore side is [`crate::devices`].

use crate::devices::{Device, Kind, Vbd};
use crate::{Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;

/// Most devices one domain may have (a bound on what a configuration or
/// `block-attach` can make Dom0 and the driver domain hold).
pub const MAX_DEVICES: usize = 64;

/// How long a device waits for its driver domain's agent to say it is
/// ready (a driver domain created just before boots Linux first).
pub const AGENT_TIMEOUT_MS: u64 = 120_000;

/// What the agent writes in its domain once it serves devices
/// (`domd_agent::READY_NODE`).
pub const AGENT_READY: &str = "data/domd-agent";

/// One `block-list` row: `(devid, backend, frontend, state, event channel,
/// ring-ref, backend path)`, `-1` where the frontend has not said.
pub type BlockRow = (u32, DomId, DomId, i64, i64, i64, String);

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// The driver domain a device names (`backend=`): a domain of ours by
    /// name, or any domain by id. Dom0 serves no devices itself.
    pub(crate) fn backend_domid(&self, what: &str, name: Option<&str>) -> Result<DomId, String> {
        let Some(name) = name else {
            return Err(format!(
                "{what}: Domain-0 (thindom) runs no PV backends; name a driver domain with backend=<name>"
            ));
        };
        match self.find(name) {
            Some(0) => Err(format!("{what}: Domain-0 (thindom) runs no PV backends")),
            Some(id) => Ok(id),
            None => Err(format!("{what}: backend domain {name:?} does not exist (create the driver domain first)")),
        }
    }

    /// Attaches the disk `spec` to domain `id`: nodes written, then a
    /// bounded wait for the driver domain's agent and backend. On failure
    /// the device's nodes are taken down again.
    pub fn attach_disk(&mut self, id: DomId, spec: &xlcfg::DiskSpec) -> Result<Device, String> {
        let vbd = Vbd::from_spec(spec)?;
        let what = format!("disk {}", vbd.vdev);
        let backend = self.backend_domid(&what, spec.backend.as_deref())?;
        let Some(dom) = self.doms.get(&id) else { return Err(format!("{what}: no domain {id} of thindom's")) };
        if dom.devices.len() >= MAX_DEVICES {
            return Err(format!("{what}: domain {id} has {MAX_DEVICES} devices already (the limit)"));
        }
        if dom.devices.iter().any(|d| d.kind == Kind::Vbd && d.devid == vbd.devid) {
            return Err(format!("{what}: domain {id} has a disk with device id {} already", vbd.devid));
        }
        self.wait_agent(&what, backend)?;
        let dev = Device { kind: Kind::Vbd, frontend: id, backend, devid: vbd.devid };
        self.write_device(&dev, &vbd.backend_keys(id), &vbd.frontend_keys(backend))?;
        if let Err(e) = self.wait_backend(&dev) {
            self.remove_device(&dev, true);
            return Err(format!("{what}: {e}"));
        }
        if let Some(d) = self.doms.get_mut(&id) {
            d.devices.push(dev.clone());
        }
        Ok(dev)
    }

    /// Waits (bounded) for the agent of driver domain `backend` to be
    /// ready; at once if it is.
    pub(crate) fn wait_agent(&mut self, what: &str, backend: DomId) -> Result<(), String> {
        let node = format!("/local/domain/{backend}/{AGENT_READY}");
        let ready = |ts: &mut Self| (ts.read_text(&node).as_deref() == Some("ready")).then_some(());
        self.wait_until(AGENT_TIMEOUT_MS, ready).ok_or_else(|| {
            format!(
                "{what}: the agent of driver domain {backend} is not ready after {} s ({node} not \"ready\")",
                AGENT_TIMEOUT_MS / 1000
            )
        })
    }

    /// Detaches the disk `vdev` (a name or a device id) from `id`.
    pub fn detach_disk(&mut self, id: DomId, vdev: &str) -> Result<(), String> {
        let devid = xlcfg::vdev_to_devid(vdev).ok_or_else(|| format!("Device {vdev} not connected."))?;
        let dom = self.doms.get_mut(&id).ok_or_else(|| format!("Device {vdev} not connected."))?;
        let i = dom
            .devices
            .iter()
            .position(|d| d.kind == Kind::Vbd && d.devid == devid)
            .ok_or_else(|| format!("Device {vdev} not connected."))?;
        let dev = dom.devices.remove(i);
        self.remove_device(&dev, false);
        Ok(())
    }

    /// The disks of `id` as `block-list` shows them.
    pub fn block_rows(&mut self, id: DomId) -> Vec<BlockRow> {
        self.devices_of(id, Kind::Vbd)
            .into_iter()
            .map(|d| {
                let fe = d.frontend_path();
                let mut num =
                    |n: &str| self.read_text(&format!("{fe}/{n}")).and_then(|v| v.trim().parse().ok()).unwrap_or(-1);
                let (state, evtch, rref) = (num("state"), num("event-channel"), num("ring-ref"));
                (d.devid, d.backend, d.frontend, state, evtch, rref, d.backend_path())
            })
            .collect()
    }

    /// Takes down the devices `id` uses and those it serves to others
    /// (every frontend loses a disk whose driver domain goes).
    pub(crate) fn take_down_devices(&mut self, id: DomId) {
        let mut devs: Vec<Device> = self.doms.get_mut(&id).map(|d| core::mem::take(&mut d.devices)).unwrap_or_default();
        for d in self.doms.values_mut() {
            let (served, kept): (Vec<Device>, Vec<Device>) = d.devices.drain(..).partition(|x| x.backend == id);
            d.devices = kept;
            devs.extend(served);
        }
        for dev in devs {
            self.remove_device(&dev, true);
        }
    }
}
