//! PV devices between a frontend domain and a backend (driver) domain, as
//! libxl 4.17 lays them out in XenStore (`libxl__device_generic_add`,
//! `device_disk_add`) and takes them down (`libxl__initiate_device_generic_remove`):
//!
//! - frontend `/local/domain/<fe>/device/<kind>/<devid>`, owned by the
//!   frontend and readable by the backend (`n<fe> r<be>`), with `backend`,
//!   `backend-id`, `state` and the kind's keys;
//! - backend `/local/domain/<be>/backend/<kind>/<fe>/<devid>`, owned by
//!   the backend and readable by the frontend (`n<be> r<fe>`), with
//!   `frontend`, `frontend-id`, `online`, `state` and the kind's keys;
//! - Dom0's own copy `/libxl/<fe>/device/<kind>/<devid>` (`frontend`,
//!   `backend` and the backend's keys).
//!
//! All written in one transaction. Then the toolstack waits (bounded) for
//! the driver domain's hotplug agent to report `hotplug-status`
//! (`connected`, or `error` with `hotplug-error`) and the backend to reach
//! InitWait. Removal: `online=0`, `state=5` (Closing), a bounded wait for
//! `6` (Closed), then both sides' nodes and Dom0's copy go; the agent
//! frees what it set up when the backend directory disappears.

use crate::{Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use xen_abi::DomId;
use xenstore::XsError;

/// How long a backend has to come up: libxl's `LIBXL_INIT_TIMEOUT`.
pub const INIT_TIMEOUT_MS: u64 = 10_000;
/// How long a backend has to close: libxl's `LIBXL_DESTROY_TIMEOUT`.
pub const DESTROY_TIMEOUT_MS: u64 = 10_000;

/// `XenbusState` values (`public/io/xenbus.h`).
pub mod state {
    pub const INITIALISING: u32 = 1;
    pub const INIT_WAIT: u32 = 2;
    pub const INITIALISED: u32 = 3;
    pub const CONNECTED: u32 = 4;
    pub const CLOSING: u32 = 5;
    pub const CLOSED: u32 = 6;
}

/// Device kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Vbd,
    Vif,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vbd => "vbd",
            Kind::Vif => "vif",
        }
    }
}

/// One device: who is on which end.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Device {
    pub kind: Kind,
    pub frontend: DomId,
    pub backend: DomId,
    pub devid: u32,
}

impl Device {
    pub fn frontend_path(&self) -> String {
        format!("/local/domain/{}/device/{}/{}", self.frontend, self.kind.as_str(), self.devid)
    }
    pub fn backend_path(&self) -> String {
        format!("/local/domain/{}/backend/{}/{}/{}", self.backend, self.kind.as_str(), self.frontend, self.devid)
    }
    pub fn libxl_path(&self) -> String {
        format!("/libxl/{}/device/{}/{}", self.frontend, self.kind.as_str(), self.devid)
    }
}

/// A virtual block device as thindom attaches it (from an xl disk spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vbd {
    /// `virtual-device` (libxl's devid from `vdev`).
    pub devid: u32,
    /// The name the guest sees (`dev`).
    pub vdev: String,
    /// What the backend serves (`params`): a block device or an image
    /// file in the driver domain.
    pub target: String,
    pub writable: bool,
    pub cdrom: bool,
    /// The hotplug script libxl names (the agent acts for it).
    pub script: String,
    pub direct_io_safe: bool,
    pub discard: bool,
    /// Whether the frontend may trust the backend (`trusted`; xl's
    /// `untrusted` makes Linux blkfront bounce its data).
    pub trusted: bool,
}

/// Where libxl looks for hotplug scripts.
pub const SCRIPT_DIR: &str = "/etc/xen/scripts";

impl Vbd {
    /// The device an xl disk spec describes, as thindom can serve it: a
    /// raw image or block device in a driver domain (Linux blkback through
    /// the `phy` backend; no QEMU, so no qdisk and no other formats).
    pub fn from_spec(d: &xlcfg::DiskSpec) -> Result<Vbd, String> {
        use xlcfg::{BackendType, DiskFormat};
        let what = format!("disk {}", d.vdev);
        match d.format {
            DiskFormat::Raw => {}
            DiskFormat::Empty => {
                return Err(format!("{what}: an empty cdrom drive needs QEMU, which thindom does not run"))
            }
            f => {
                return Err(format!(
                    "{what}: format {} needs QEMU's qdisk; the driver domain serves raw images",
                    f.as_str()
                ))
            }
        }
        if let Some(b @ (BackendType::Qdisk | BackendType::Tap)) = d.backendtype {
            return Err(format!("{what}: backendtype={} is not available (only phy: Linux blkback)", b.as_str()));
        }
        if d.specification == Some(xlcfg::Specification::Virtio) {
            return Err(format!("{what}: specification=virtio is not available (only xen: Linux blkback)"));
        }
        let target = d.target.clone().filter(|t| !t.is_empty()).ok_or_else(|| format!("{what}: no target"))?;
        let script = d.script.as_deref().unwrap_or("block");
        Ok(Vbd {
            devid: d.devid,
            vdev: d.vdev.clone(),
            target,
            writable: !d.readonly(),
            cdrom: d.is_cdrom(),
            script: if script.contains('/') { script.into() } else { format!("{SCRIPT_DIR}/{script}") },
            direct_io_safe: d.direct_io_safe,
            discard: d.discard.unwrap_or(true),
            trusted: d.trusted.unwrap_or(true),
        })
    }

    /// The backend's keys, in libxl's order (`device_disk_add`, phy).
    pub fn backend_keys(&self, frontend: DomId) -> Vec<(&'static str, String)> {
        let mut k = Vec::from([
            ("params", self.target.clone()),
            ("script", self.script.clone()),
            ("frontend-id", frontend.to_string()),
            ("online", "1".into()),
            ("removable", "0".into()),
            ("bootable", "1".into()),
            ("state", state::INITIALISING.to_string()),
            ("dev", self.vdev.clone()),
            ("type", "phy".into()),
            ("mode", if self.writable { "w" } else { "r" }.into()),
            ("device-type", if self.cdrom { "cdrom" } else { "disk" }.into()),
        ]);
        if self.direct_io_safe {
            k.push(("direct-io-safe", "1".into()));
        }
        k.push(("discard-enable", if self.discard { "1" } else { "0" }.into()));
        k.push(("specification", "xen".into()));
        k
    }

    /// The frontend's keys.
    pub fn frontend_keys(&self, backend: DomId) -> Vec<(&'static str, String)> {
        Vec::from([
            ("backend-id", backend.to_string()),
            ("state", state::INITIALISING.to_string()),
            ("virtual-device", self.devid.to_string()),
            ("device-type", if self.cdrom { "cdrom" } else { "disk" }.into()),
            ("trusted", if self.trusted { "1" } else { "0" }.into()),
        ])
    }
}

/// A number in canonical decimal (digits only, no leading zero unless it
/// is `0`), as xl's device ids are written.
pub fn canonical_u32(s: &str) -> Option<u32> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

fn xs<'a>(what: &'a str, path: &'a str) -> impl Fn(XsError) -> String + 'a {
    move |e| format!("{what} {path}: {e}")
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// Writes a device's frontend, backend and Dom0 entries in one
    /// transaction, with libxl's permissions (`libxl__device_generic_add`).
    pub(crate) fn write_device(
        &mut self,
        dev: &Device,
        back: &[(&'static str, String)],
        front: &[(&'static str, String)],
    ) -> Result<(), String> {
        self.write_device_with(dev, back, front, &[])
    }

    /// [`Toolstack::write_device`] with frontend nodes the frontend may
    /// only read (`ro_front`: owned by the backend, readable by the
    /// frontend, as libxl's `ro_frontend_perms`).
    pub(crate) fn write_device_with(
        &mut self,
        dev: &Device,
        back: &[(&'static str, String)],
        front: &[(&'static str, String)],
        ro_front: &[(&'static str, String)],
    ) -> Result<(), String> {
        let (fe, be, lx) = (dev.frontend_path(), dev.backend_path(), dev.libxl_path());
        let fe_perms = [format!("n{}", dev.frontend), format!("r{}", dev.backend)];
        let be_perms = [format!("n{}", dev.backend), format!("r{}", dev.frontend)];
        let fe_p: Vec<&str> = fe_perms.iter().map(String::as_str).collect();
        let be_p: Vec<&str> = be_perms.iter().map(String::as_str).collect();
        let (store, m) = (&mut self.store, &mut self.machine);
        store
            .transaction(m, |s, m, t| {
                s.rm_in(m, t, &lx)?;
                s.write_in(m, t, &format!("{lx}/frontend"), &fe)?;
                s.write_in(m, t, &format!("{lx}/backend"), &be)?;
                s.rm_in(m, t, &fe)?;
                s.mkdir_in(m, t, &fe)?;
                s.set_perms_in(m, t, &fe, &fe_p)?;
                s.write_in(m, t, &format!("{fe}/backend"), &be)?;
                for (k, v) in front {
                    let p = format!("{fe}/{k}");
                    s.write_in(m, t, &p, v)?;
                    s.set_perms_in(m, t, &p, &fe_p)?;
                }
                for (k, v) in ro_front {
                    let p = format!("{fe}/{k}");
                    s.write_in(m, t, &p, v)?;
                    s.set_perms_in(m, t, &p, &be_p)?;
                }
                s.rm_in(m, t, &be)?;
                s.mkdir_in(m, t, &be)?;
                s.set_perms_in(m, t, &be, &be_p)?;
                s.write_in(m, t, &format!("{be}/frontend"), &fe)?;
                for (k, v) in back {
                    s.write_in(m, t, &format!("{be}/{k}"), v)?;
                }
                for (k, v) in back {
                    s.write_in(m, t, &format!("{lx}/{k}"), v)?;
                }
                Ok(())
            })
            .map_err(xs("writing device", &be))
    }

    /// Domain `id`'s devices of `kind` (none if it is not ours).
    pub(crate) fn devices_of(&self, id: DomId, kind: Kind) -> Vec<Device> {
        self.doms.get(&id).map(|d| d.devices.iter().filter(|x| x.kind == kind).cloned().collect()).unwrap_or_default()
    }

    /// Reads a node as text (`None`: absent or unreadable).
    pub(crate) fn read_text(&mut self, path: &str) -> Option<String> {
        let v = self.store.read(&mut self.machine, path).ok()?;
        Some(String::from_utf8_lossy(&v).into_owned())
    }

    fn read_state(&mut self, path: &str) -> Option<u32> {
        self.read_text(path)?.trim().parse().ok()
    }

    /// Waits (bounded by `ms`) until `done` says the wait is over, serving
    /// the store and the consoles meanwhile. `done` returns `Some(result)`
    /// to stop.
    pub(crate) fn wait_until<R>(&mut self, ms: u64, mut done: impl FnMut(&mut Self) -> Option<R>) -> Option<R> {
        let start = self.machine.now_ms();
        loop {
            if let Some(r) = done(self) {
                return Some(r);
            }
            if self.machine.now_ms().saturating_sub(start) >= ms {
                return None;
            }
            // Other domains go on meanwhile: their store requests are
            // answered and their consoles drained (a driver domain booting
            // Linux blocks on a full console ring).
            let mut ports = self.store.ports();
            let consoles = self.console_ports();
            ports.extend(&consoles);
            for p in self.machine.wait_ports(&ports, 10) {
                if consoles.contains(&p) {
                    self.console_event(p);
                } else {
                    self.store_event(p);
                }
            }
            self.machine.while_waiting(&mut self.store);
        }
    }

    /// Waits for the driver domain's agent and the backend: `Ok` once
    /// `hotplug-status` is `connected` and the backend is past
    /// Initialising; the agent's `hotplug-error` otherwise.
    pub(crate) fn wait_backend(&mut self, dev: &Device) -> Result<(), String> {
        let be = dev.backend_path();
        let r = self.wait_until(INIT_TIMEOUT_MS, |ts| {
            let status = ts.read_text(&format!("{be}/hotplug-status"));
            if status.as_deref() == Some("error") {
                // The driver domain's words, escaped (they reach the terminal).
                let why = ts
                    .store
                    .read(&mut ts.machine, &format!("{be}/hotplug-error"))
                    .map(|v| shell::format::escape_value(&v))
                    .unwrap_or_else(|_| "no reason given".into());
                return Some(Err(format!("backend {be}: {why}")));
            }
            let state = ts.read_state(&format!("{be}/state")).unwrap_or(0);
            (status.as_deref() == Some("connected") && state >= state::INIT_WAIT).then_some(Ok(()))
        });
        r.unwrap_or_else(|| {
            Err(format!(
                "backend {be} not ready after {} s (is the driver domain's agent running?)",
                INIT_TIMEOUT_MS / 1000
            ))
        })
    }

    /// Takes a device down as libxl does: `online=0` and Closing (unless
    /// Closed) in the backend, a bounded wait for Closed (or the backend
    /// gone), then the frontend, backend and Dom0 entries go. With `force`
    /// the frontend cannot take part (it is paused for destroy, or gone):
    /// Dom0 marks the frontend Closed itself, so the backend (Linux
    /// blkback: frontend Closed and not online) closes, unmaps the
    /// frontend's grants and says Closed. Returns whether the backend
    /// closed in time.
    pub(crate) fn remove_device(&mut self, dev: &Device, force: bool) -> bool {
        let be = dev.backend_path();
        let state_path = format!("{be}/state");
        // A driver domain that is gone or shut down closes nothing.
        let alive = self.xen.domain_info(dev.backend).is_ok_and(|i| !i.state().dying && !i.state().shutdown);
        let present = self.read_state(&state_path).filter(|_| alive);
        let closed = match present {
            None => true,
            Some(s) => {
                let fe_state = format!("{}/state", dev.frontend_path());
                let (store, m) = (&mut self.store, &mut self.machine);
                let _ = store.transaction(m, |st, m, t| {
                    st.write_in(m, t, &format!("{be}/online"), "0")?;
                    if s != state::CLOSED {
                        st.write_in(m, t, &state_path, &state::CLOSING.to_string())?;
                    }
                    if force {
                        st.write_in(m, t, &fe_state, &state::CLOSED.to_string())?;
                    }
                    Ok(())
                });
                self.wait_until(DESTROY_TIMEOUT_MS, |ts| match ts.read_state(&state_path) {
                    Some(state::CLOSED) | None => Some(()),
                    Some(_) => None,
                })
                .is_some()
            }
        };
        if !closed {
            log::warn!("{be}: the backend did not close within {} s; removing it anyway", DESTROY_TIMEOUT_MS / 1000);
        }
        for p in [dev.frontend_path(), dev.libxl_path(), be] {
            self.path_cleanup(&p);
        }
        closed
    }

    /// Removes `path`, then each parent left empty, up to (not including)
    /// the root, as `libxl__xs_path_cleanup` does.
    pub(crate) fn path_cleanup(&mut self, path: &str) {
        let _ = self.store.rm_in(&mut self.machine, 0, path);
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('/').filter(|(parent, _)| !parent.is_empty()) {
            match self.store.directory(&mut self.machine, parent) {
                Ok(children) if children.is_empty() => {
                    let _ = self.store.rm_in(&mut self.machine, 0, parent);
                }
                _ => break,
            }
            p = parent;
        }
    }
}
