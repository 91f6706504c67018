//! `toolstack`: what `xl` and libxl do for thindom, as a host-tested
//! library. It owns the domain table (name and domid lookup), `create`
//! (configuration → builder → hypercalls → XenStore layout → console →
//! unpause, rolled back when any step fails), `destroy`, `shutdown` and
//! `reboot` through the guest's PV control interface, `pause`/`unpause`,
//! the `on_*` policy driven by `VIRQ_DOM_EXC`, the store daemon
//! (`xenstore::daemon`) and every guest's console (`xencons::GuestConsole`).
//!
//! It talks to Xen only through the `xen-hyp` interface traits
//! ([`Hypervisor`]), to the machine through [`Machine`] (ring pages and
//! event channels, guest memory, waiting for `VIRQ_DOM_EXC`), and reads
//! configurations and kernels from a [`BootDisk`]. The kernel implements
//! [`Machine`] with foreign mappings and Xen's event channels; the tests
//! run it against `xen_hyp::sim::SimXen` and `xencons::SimHost`.
//!
//! Design rules: nothing is left half-built. Every resource a create
//! acquires (the domain, its XenStore entries, Dom0's console and store
//! channels and mappings) is released in reverse when a later step fails,
//! and a destroyed domain gives all of them back; tests inject a failure
//! at every hypercall of a create and check that. The XenStore layout and
//! permissions are libxl 4.17's (`libxl__domain_make`, `libxl__build_post`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod create;
pub mod devices;
pub mod disks;
mod lifecycle;
mod machine;
pub mod nics;
pub mod report;
pub mod uuid;
pub mod xl;

#[cfg(test)]
mod tests;

pub use bootfs::{BootDisk, Config};
pub use machine::{Hypervisor, Machine};

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;
use xencons::GuestConsole;
use xenstore::daemon::{Daemon, Served};
use xlcfg::DomainConfig;

/// A domain thindom built.
#[derive(Debug)]
pub struct Domain<P> {
    pub id: DomId,
    /// The UUID: Xen's domain handle and `/vm/<uuid>`.
    pub uuid: [u8; 16],
    pub cfg: DomainConfig,
    /// How it was created: configuration name and overrides (for
    /// `on_*=restart`).
    pub source: (String, Vec<String>),
    pub console: GuestConsole<P>,
    /// The shutdown reason already acted on, so it is handled once.
    pub handled: Option<u32>,
    /// Its PV devices (it is their frontend).
    pub devices: Vec<devices::Device>,
}

/// Host facts the builder needs.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    /// The host GIC's version (2 or 3).
    pub gic: u8,
    /// Xen's "major.minor".
    pub xen_version: String,
    /// Boot entropy from the device tree (may be empty).
    pub seed: Vec<u8>,
}

/// The toolstack: Xen, the machine, the boot disk, the store and the
/// domains.
pub struct Toolstack<'a, X, M: Machine> {
    xen: &'a X,
    /// The machine (public: the kernel's event loop reaches its parts).
    pub machine: M,
    disk: BootDisk<'a>,
    store: Daemon<M::Page>,
    doms: BTreeMap<DomId, Domain<M::Page>>,
    host: HostInfo,
    /// Domains created so far (UUID entropy).
    created: u64,
    /// Xen's domains at the last look (`report`).
    known: Option<report::Snapshot>,
}

impl<X, M: Machine> core::fmt::Debug for Toolstack<'_, X, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Toolstack").field("domains", &self.doms.keys()).finish_non_exhaustive()
    }
}

impl<'a, X: Hypervisor, M: Machine> Toolstack<'a, X, M> {
    pub fn new(xen: &'a X, machine: M, disk: BootDisk<'a>, host: HostInfo) -> Self {
        Toolstack { xen, machine, disk, store: Daemon::default(), doms: BTreeMap::new(), host, created: 0, known: None }
    }

    /// The boot disk (configurations and kernels).
    pub fn disk(&self) -> &BootDisk<'a> {
        &self.disk
    }

    /// The store and the machine it uses, for XenStore requests from the
    /// shell and the event loop.
    pub fn store(&mut self) -> (&mut Daemon<M::Page>, &mut M) {
        (&mut self.store, &mut self.machine)
    }

    /// A notification on a store channel; [`Served::More`] asks the
    /// event loop to come back.
    pub fn store_event(&mut self, port: u32) -> Served {
        self.store.on_port(&mut self.machine, port)
    }

    /// Store ports of all guests.
    pub fn store_ports(&self) -> Vec<u32> {
        self.store.ports()
    }

    /// The domains thindom created.
    pub fn domains(&self) -> impl Iterator<Item = &Domain<M::Page>> {
        self.doms.values()
    }

    /// A domain by name or id (any domain Xen lists).
    pub fn find(&self, arg: &str) -> Option<DomId> {
        if let Some(d) = self.doms.values().find(|d| d.cfg.name == arg) {
            return Some(d.id);
        }
        if arg == "Domain-0" {
            return Some(0);
        }
        let id: DomId = arg.parse().ok()?;
        self.xen.domain_list().ok()?.iter().any(|d| d.domid == id).then_some(id)
    }

    /// The name of a domain.
    pub fn name(&self, id: DomId) -> String {
        match id {
            0 => "Domain-0".into(),
            _ => self.doms.get(&id).map_or_else(|| format!("(domain {id})"), |d| d.cfg.name.clone()),
        }
    }

    /// Console ports of all guests whose rings work.
    pub fn console_ports(&self) -> Vec<u32> {
        self.doms.values().filter(|d| d.console.is_live()).map(|d| d.console.port).collect()
    }

    /// A console notification on `port`: one bounded drain; returns the
    /// domain.
    pub fn console_event(&mut self, port: u32) -> Option<DomId> {
        let d = self.doms.values_mut().find(|d| d.console.port == port && d.console.is_live())?;
        d.console.drain(&mut self.machine, d.id);
        Some(d.id)
    }

    /// Drains every guest's console ring into its log.
    pub fn drain_consoles(&mut self) {
        for d in self.doms.values_mut() {
            d.console.drain(&mut self.machine, d.id);
        }
    }

    /// Console output of `id` from log offset `from`: `(offset of the
    /// first byte returned, bytes)`.
    pub fn console_since(&self, id: DomId, from: u64) -> Option<(u64, Vec<u8>)> {
        self.doms.get(&id).map(|d| d.console.log.since(from))
    }

    /// `(log end, dropped)` of `id`'s console.
    pub fn console_stats(&self, id: DomId) -> Option<(u64, u64)> {
        self.doms.get(&id).map(|d| (d.console.log.end(), d.console.log.dropped()))
    }

    /// Typed input for `id`'s console; returns how many bytes fit.
    pub fn console_input(&mut self, id: DomId, bytes: &[u8]) -> usize {
        match self.doms.get_mut(&id) {
            Some(d) => d.console.input(&mut self.machine, bytes),
            None => 0,
        }
    }
}
