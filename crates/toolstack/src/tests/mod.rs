//! The toolstack against a simulated Xen (`SimXen`: domains, Dom0's event
//! channels, foreign mappings), simulated rings (`SimHost`) and the real
//! XenStore daemon.

mod create;
mod disks;
mod golden;
mod lifecycle;
mod nics;
mod xl;

use crate::{BootDisk, HostInfo, Machine, Toolstack};
use builder::GuestMemory;
use core::cell::Cell;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;
use xen_abi::DomId;
use xen_hyp::sim::SimXen;
use xen_hyp::{Errno, Xen};
use xencons::{MemPage, RingHost, SimHost};
use xenstore::daemon::Daemon;

/// What plays the other domains (a driver domain's agent, a frontend).
pub type Others = Box<dyn FnMut(&mut Daemon<Rc<MemPage>>)>;

/// The machine in memory: rings from [`SimHost`], guest memory as a
/// sparse map, waits counted.
#[derive(Default)]
pub struct SimMachine {
    pub host: SimHost,
    /// Bytes written into guests: (domain, gpa) -> byte.
    pub mem: BTreeMap<(DomId, u64), u8>,
    /// The next guest-memory write fails with this errno.
    pub fail_mem: Option<Errno>,
    pub waits: u64,
    pub requeued: u64,
    /// Simulated milliseconds (each wait advances it).
    pub clock_ms: Cell<u64>,
    /// Plays the other domains while the toolstack waits.
    pub others: Option<Others>,
}

impl RingHost for SimMachine {
    type Page = Rc<MemPage>;
    fn map_page(&mut self, dom: DomId, gfn: u64) -> Result<Rc<MemPage>, String> {
        self.host.map_page(dom, gfn)
    }
    fn unmap_page(&mut self, page: Rc<MemPage>) {
        self.host.unmap_page(page)
    }
    fn bind(&mut self, dom: DomId, remote_port: u32, name: &'static str) -> Result<u32, String> {
        self.host.bind(dom, remote_port, name)
    }
    fn close(&mut self, port: u32) {
        self.host.close(port)
    }
    fn notify(&mut self, port: u32) {
        self.host.notify(port)
    }
}

impl GuestMemory for SimMachine {
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        if let Some(e) = self.fail_mem.take() {
            return Err(e);
        }
        for (i, &b) in data.iter().enumerate() {
            self.mem.insert((dom, gpa + i as u64), b);
        }
        Ok(())
    }
    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        self.write(dom, gpa, &vec![0; len as usize])
    }
}

impl Machine for SimMachine {
    fn wait_dom_exc(&mut self, ms: u64) {
        self.waits += 1;
        self.clock_ms.set(self.clock_ms.get() + ms);
    }
    fn wait_ports(&mut self, _ports: &[u32], ms: u64) -> Vec<u32> {
        self.clock_ms.set(self.clock_ms.get() + ms);
        Vec::new()
    }
    fn now_ms(&self) -> u64 {
        self.clock_ms.get()
    }
    fn while_waiting(&mut self, store: &mut Daemon<Rc<MemPage>>) {
        if let Some(f) = self.others.as_mut() {
            f(store);
        }
    }
    fn requeue_dom_exc(&mut self) {
        self.requeued += 1;
    }
    fn counter(&self) -> u64 {
        0x1234_5678
    }
}

/// A minimal arm64 Image (`Documentation/arm64/booting.rst` header).
pub fn image() -> Vec<u8> {
    let len = 0x3000usize;
    let mut b = vec![0u8; len];
    b[16..24].copy_from_slice(&((len as u64 + 4096) & !0xfff).to_le_bytes());
    b[24..32].copy_from_slice(&0xau64.to_le_bytes());
    b[0x38..0x3c].copy_from_slice(b"ARM\x64");
    b
}

/// The boot ramdisk of the tests: a guest with PV control, one that
/// restarts on crash, one that renames, one whose kernel is missing.
pub fn ramdisk() -> Vec<u8> {
    let k = image();
    bootfs::write(&[
        ("guest.cfg", b"name = 'guest'\nkernel = 'Image'\nmemory = 16\n"),
        (
            "phoenix.cfg",
            b"name = 'phoenix'\nkernel = 'Image'\nmemory = 16\non_crash = 'restart'\non_reboot = 'restart'\n",
        ),
        ("keep.cfg", b"name = 'keep'\nkernel = 'Image'\nmemory = 16\non_crash = 'rename-restart'\n"),
        ("lost.cfg", b"name = 'lost'\nkernel = 'nowhere'\nmemory = 16\n"),
        ("bad.cfg", b"name = 'bad'\nmemory = 'lots'\n"),
        ("domd.cfg", b"name = 'domd'\nkernel = 'Image'\nmemory = 16\ndriver_domain = 1\n"),
        ("user.cfg", b"name = 'user'\nkernel = 'Image'\nmemory = 16\ndisk = ['backend=domd,vdev=xvda,target=/images/disk0.img']\n"),
        ("Image", &k),
    ])
}

pub type Ts<'a> = Toolstack<'a, Xen<SimXen>, SimMachine>;

pub fn toolstack<'a>(xen: &'a Xen<SimXen>, disk: &'a [u8]) -> Ts<'a> {
    let (disk, _) = BootDisk::new(Some(disk), &[]).unwrap();
    let host = HostInfo { gic: 3, xen_version: "4.17".into(), seed: b"test seed".to_vec() };
    Toolstack::new(xen, SimMachine::default(), disk, host)
}

pub fn sim() -> Xen<SimXen> {
    Xen::new(SimXen::new(1))
}

/// Everything a domain could leave behind, in one comparable value.
#[derive(Debug, PartialEq, Eq)]
pub struct Footprint {
    pub xen_domains: Vec<DomId>,
    pub dom0_ports: Vec<u32>,
    pub foreign_pages: usize,
    pub ring_mappings: usize,
    pub ring_ports: usize,
    pub table: usize,
    pub store: (usize, usize, usize),
}

pub fn footprint(ts: &Ts<'_>, xen: &Xen<SimXen>) -> Footprint {
    Footprint {
        xen_domains: xen.raw().live_domains(),
        dom0_ports: xen.raw().open_ports(),
        foreign_pages: xen.raw().foreign_pages(),
        ring_mappings: ts.machine.host.mapped.values().sum(),
        ring_ports: ts.machine.host.bound.len(),
        table: ts.domains().count(),
        store: ts.store.stats(),
    }
}

/// One create/destroy cycle first (so the store's directories exist),
/// then the footprint every later cycle must come back to.
pub fn warmed_footprint(ts: &mut Ts<'_>, xen: &Xen<SimXen>) -> Footprint {
    let warm = ts.create("guest", &[], false).unwrap();
    ts.destroy(warm).unwrap();
    footprint(ts, xen)
}

pub fn read(ts: &mut Ts<'_>, path: &str) -> Result<String, xenstore::XsError> {
    let (s, m) = ts.store();
    s.read(m, path).map(|v| String::from_utf8_lossy(&v).into_owned())
}
