//! Network interfaces: the `vif = [...]` of a configuration attached at
//! create time, and `network-attach`/`network-detach`/`network-list` on a
//! running domain. Their XenStore layout is libxl 4.17's
//! (`libxl__set_xenstore_nic` over `libxl__device_generic_add`); the
//! driver domain's agent does what `vif-bridge` does (adds
//! `vif<domid>.<devid>` to the bridge and writes `hotplug-status`), and
//! Linux netback connects once it reads `hotplug-status=connected`.

use crate::devices::{state, Device, Kind, SCRIPT_DIR};
use crate::disks::MAX_DEVICES;
use crate::{Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use xen_abi::DomId;
use xlcfg::{Mac, NicType, VifSpec};

/// The MTU libxl assumes when none is given (`LIBXL_DEVICE_NIC_MTU_DEFAULT`).
pub const DEFAULT_MTU: u16 = 1500;
/// The bridge libxl names when none is given.
pub const DEFAULT_BRIDGE: &str = "xenbr0";
/// The hotplug script libxl names when none is given.
pub const DEFAULT_SCRIPT: &str = "vif-bridge";

/// A virtual network interface as thindom attaches it (from an xl vif
/// spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vif {
    /// `handle`: the device id.
    pub devid: u32,
    pub mac: Mac,
    pub bridge: String,
    /// `ip=` as given (addresses separated by blanks), for the hotplug
    /// script; the guest configures its own address.
    pub ip: Option<String>,
    pub script: String,
    pub vifname: Option<String>,
    pub gatewaydev: Option<String>,
    /// `<bytes per interval>,<interval µs>`.
    pub rate: Option<String>,
    pub mtu: u16,
    pub trusted: bool,
}

impl Vif {
    /// The interface an xl vif spec describes, as entry `index` of domain
    /// `name`'s list: a PV interface served by Linux netback in a driver
    /// domain (no QEMU, so no emulated `ioemu` model).
    pub fn from_spec(spec: &VifSpec, index: usize, name: &str) -> Result<Vif, String> {
        let devid = spec.devid_or_index(index);
        let what = format!("vif {devid}");
        if spec.nic_type == NicType::Ioemu {
            return Err(format!("{what}: type=ioemu needs QEMU, which thindom does not run (use type=vif)"));
        }
        let script = spec.script.as_deref().unwrap_or(DEFAULT_SCRIPT);
        let ip = (!spec.ip.is_empty()).then(|| spec.ip.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "));
        Ok(Vif {
            devid,
            mac: spec.mac_or_default(name, devid),
            bridge: spec.bridge.clone().unwrap_or_else(|| DEFAULT_BRIDGE.into()),
            ip,
            script: if script.contains('/') { script.into() } else { format!("{SCRIPT_DIR}/{script}") },
            vifname: spec.vifname.clone(),
            gatewaydev: spec.gatewaydev.clone(),
            rate: spec.rate.map(|r| format!("{},{}", r.bytes_per_interval(), r.interval_usecs())),
            mtu: spec.mtu.unwrap_or(DEFAULT_MTU),
            trusted: spec.trusted.unwrap_or(true),
        })
    }

    /// The backend's keys, in libxl's order (generic ones first).
    pub fn backend_keys(&self, frontend: DomId) -> Vec<(&'static str, String)> {
        let mut k = Vec::from([
            ("frontend-id", frontend.to_string()),
            ("online", "1".into()),
            ("state", state::INITIALISING.to_string()),
            ("script", self.script.clone()),
        ]);
        if let Some(n) = &self.vifname {
            k.push(("vifname", n.clone()));
        }
        k.push(("mac", self.mac.to_string()));
        if let Some(ip) = &self.ip {
            k.push(("ip", ip.clone()));
        }
        if let Some(g) = &self.gatewaydev {
            k.push(("gatewaydev", g.clone()));
        }
        if let Some(r) = &self.rate {
            k.push(("rate", r.clone()));
        }
        if self.mtu != DEFAULT_MTU {
            k.push(("mtu", self.mtu.to_string()));
        }
        k.push(("bridge", self.bridge.clone()));
        k.push(("handle", self.devid.to_string()));
        k.push(("type", "vif".into()));
        // Netback waits for the hotplug script before it connects.
        k.push(("hotplug-status", String::new()));
        k
    }

    /// The frontend's keys the frontend may write.
    pub fn frontend_keys(&self, backend: DomId) -> Vec<(&'static str, String)> {
        Vec::from([
            ("backend-id", backend.to_string()),
            ("state", state::INITIALISING.to_string()),
            ("handle", self.devid.to_string()),
            ("mac", self.mac.to_string()),
            ("trusted", if self.trusted { "1" } else { "0" }.into()),
        ])
    }

    /// The frontend's read-only keys (Dom0's, readable by the frontend).
    pub fn frontend_ro_keys(&self) -> Vec<(&'static str, String)> {
        Vec::from([("mtu", self.mtu.to_string())])
    }
}

/// One `network-list` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicRow {
    pub devid: u32,
    pub backend: DomId,
    pub mac: String,
    /// The frontend's values, `-1` where it has not said.
    pub state: i64,
    pub evtch: i64,
    pub tx_ring_ref: i64,
    pub rx_ring_ref: i64,
    pub backend_path: String,
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// Checks a configuration's vifs before anything is built: each one
    /// served by an existing driver domain, device ids and MACs distinct.
    pub(crate) fn check_vifs(&self, name: &str, specs: &[VifSpec]) -> Result<Vec<(Vif, DomId)>, String> {
        let mut out: Vec<(Vif, DomId)> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let v = Vif::from_spec(s, i, name)?;
            let backend = self.backend_domid(&format!("vif {}", v.devid), s.backend.as_deref())?;
            if let Some((o, _)) = out.iter().find(|(o, _)| o.mac == v.mac) {
                return Err(format!("vif {}: MAC {} is vif {}'s already", v.devid, v.mac, o.devid));
            }
            out.push((v, backend));
        }
        Ok(out)
    }

    /// Attaches network interface `spec` to domain `id` (as the entry
    /// after its existing ones when the spec names no `devid`).
    pub fn attach_nic(&mut self, id: DomId, spec: &VifSpec) -> Result<Device, String> {
        let Some(dom) = self.doms.get(&id) else { return Err(format!("vif: no domain {id} of thindom's")) };
        let next = dom.devices.iter().filter(|d| d.kind == Kind::Vif).map(|d| d.devid + 1).max().unwrap_or(0);
        let vif = Vif::from_spec(spec, next as usize, &dom.cfg.name.clone())?;
        let backend = self.backend_domid(&format!("vif {}", vif.devid), spec.backend.as_deref())?;
        self.attach_vif(id, &vif, backend)
    }

    /// Attaches `vif` served by `backend` to domain `id`: nodes written,
    /// then a bounded wait for the driver domain's agent and netback. On
    /// failure the device's nodes are taken down again.
    pub(crate) fn attach_vif(&mut self, id: DomId, vif: &Vif, backend: DomId) -> Result<Device, String> {
        let what = format!("vif {}", vif.devid);
        let Some(dom) = self.doms.get(&id) else { return Err(format!("{what}: no domain {id} of thindom's")) };
        if dom.devices.len() >= MAX_DEVICES {
            return Err(format!("{what}: domain {id} has {MAX_DEVICES} devices already (the limit)"));
        }
        if dom.devices.iter().any(|d| d.kind == Kind::Vif && d.devid == vif.devid) {
            return Err(format!("{what}: domain {id} has a network interface with device id {} already", vif.devid));
        }
        let macs: Vec<String> = self.nic_rows(id).into_iter().map(|r| r.mac).collect();
        if macs.contains(&vif.mac.to_string()) {
            return Err(format!("{what}: domain {id} has an interface with MAC {} already", vif.mac));
        }
        self.wait_agent(&what, backend)?;
        let dev = Device { kind: Kind::Vif, frontend: id, backend, devid: vif.devid };
        self.write_device_with(&dev, &vif.backend_keys(id), &vif.frontend_keys(backend), &vif.frontend_ro_keys())?;
        if let Err(e) = self.wait_backend(&dev) {
            self.remove_device(&dev, true);
            return Err(format!("{what}: {e}"));
        }
        if let Some(d) = self.doms.get_mut(&id) {
            d.devices.push(dev.clone());
        }
        Ok(dev)
    }

    /// Detaches the interface `which` (a device id or a MAC) from `id`.
    pub fn detach_nic(&mut self, id: DomId, which: &str) -> Result<(), String> {
        let gone = || format!("Unknown device {which}.");
        let devid = match Mac::parse(which) {
            Some(mac) => {
                self.nic_rows(id).into_iter().find(|r| Mac::parse(&r.mac) == Some(mac)).ok_or_else(gone)?.devid
            }
            None => crate::devices::canonical_u32(which).ok_or_else(gone)?,
        };
        let dom = self.doms.get_mut(&id).ok_or_else(gone)?;
        let i = dom.devices.iter().position(|d| d.kind == Kind::Vif && d.devid == devid).ok_or_else(gone)?;
        let dev = dom.devices.remove(i);
        self.remove_device(&dev, false);
        Ok(())
    }

    /// The interfaces of `id` as `network-list` shows them.
    pub fn nic_rows(&mut self, id: DomId) -> Vec<NicRow> {
        self.devices_of(id, Kind::Vif)
            .into_iter()
            .map(|d| {
                let fe = d.frontend_path();
                let mut num =
                    |n: &str| self.read_text(&format!("{fe}/{n}")).and_then(|v| v.trim().parse().ok()).unwrap_or(-1);
                let (state, evtch, tx, rx) =
                    (num("state"), num("event-channel"), num("tx-ring-ref"), num("rx-ring-ref"));
                let mac = self
                    .store
                    .read(&mut self.machine, &format!("{}/mac", d.libxl_path()))
                    .map(|v| shell::format::escape_value(&v))
                    .unwrap_or_default();
                NicRow {
                    devid: d.devid,
                    backend: d.backend,
                    mac,
                    state,
                    evtch,
                    tx_ring_ref: tx,
                    rx_ring_ref: rx,
                    backend_path: d.backend_path(),
                }
            })
            .collect()
    }
}
