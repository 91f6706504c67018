//! A simulated Xen for host tests: implements [`Hypercall`] by decoding the
//! arguments exactly as Xen would, recording each call with the raw bytes
//! of its argument struct (so tests check offsets against the C headers,
//! not against our own Rust structs), and filling in results.
//!
//! It also keeps the state a toolstack's correctness depends on
//! ([`SimState`]): the domains created and not yet destroyed (paused,
//! shut down), Dom0's event channels and the foreign pages mapped into
//! Dom0's physmap, so tests can check that a failed or finished operation
//! leaves nothing behind. Failures are injected with [`SimXen::fail_next`]
//! (the very next call) or [`SimXen::fail_call`] (the n-th call from now).

use crate::{EvtchnState, Hypercall};
use core::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;
use xen_abi::sysctl as abi;
use xen_abi::DomId;
use xen_abi::{
    domctl as dabi, event_channel as ev, grant_table as gt, hvm, hypercall as hc, memory as mem, version as v,
};
use zerocopy::{FromBytes, IntoBytes};

/// One hypercall as the simulated Xen received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: u64,
    pub args: [u64; 5],
    /// The argument struct(s) the main pointer argument pointed at, as
    /// passed in (before Xen wrote its outputs).
    pub bytes: Vec<u8>,
}

impl Call {
    pub fn u16_at(&self, off: usize) -> u16 {
        u16::from_ne_bytes(self.bytes[off..off + 2].try_into().unwrap())
    }
    pub fn u32_at(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.bytes[off..off + 4].try_into().unwrap())
    }
    pub fn u64_at(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.bytes[off..off + 8].try_into().unwrap())
    }
}

pub struct SimXen {
    pub ndomains: u16,
    pub sysctl_version: u32,
    pub domctl_version: u32,
    pub version: i64,
    pub console: RefCell<Vec<u8>>,
    /// Appended to the console ring after every read (Xen logging while
    /// Dom0 reads, or Dom0's own output with `console_to_ring`).
    pub console_growth: Vec<u8>,
    /// Bit `n` set: CPU `n` is in no cpupool.
    pub free_cpu_mask: u64,
    pub build_id: Vec<u8>,
    /// Per-op `GNTST_*` status Xen reports for grant ops.
    pub gnttab_status: Cell<i16>,
    /// sysctl commands issued, in order.
    pub calls: RefCell<Vec<u32>>,
    /// Other (op, cmd) pairs issued, in order.
    pub ops: RefCell<Vec<(u64, u64)>>,
    /// Every call with its argument bytes.
    pub log: RefCell<Vec<Call>>,
    /// Return values forced on the next calls, in order (e.g. `-22`).
    pub script: RefCell<VecDeque<i64>>,
    /// Keys passed to `XEN_SYSCTL_debug_keys`.
    pub keys: RefCell<Vec<u8>>,
    /// Domains, ports and mappings (see the module doc).
    pub state: RefCell<SimState>,
    /// `(call number, return value)`: that call (counted in `log`) fails.
    fail_at: Cell<Option<(usize, i64)>>,
}

impl core::fmt::Debug for SimXen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimXen").field("state", &self.state).finish_non_exhaustive()
    }
}

/// A domain the simulated Xen created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimDomain {
    pub paused: bool,
    /// `SHUTDOWN_*` reason once it shut down.
    pub shutdown: Option<u32>,
    /// Its unbound ports and the domain each is for.
    pub unbound: BTreeMap<u32, DomId>,
    next_port: u32,
    /// Pages populated.
    pub pages: u64,
}

/// What the simulated Xen remembers between calls.
#[derive(Debug, Default)]
pub struct SimState {
    next_domid: DomId,
    /// Domains created and not destroyed.
    pub domains: BTreeMap<DomId, SimDomain>,
    /// Dom0's open event channels.
    pub ports: BTreeMap<u32, EvtchnState>,
    /// Foreign pages in Dom0's physmap: our gpfn -> (domain, its gfn).
    pub foreign: BTreeMap<u64, (DomId, u64)>,
    /// Pages Dom0 put into other domains' physmaps (`XENMEM_add_to_physmap`
    /// with their domid): (domain, gfn) -> (space, idx).
    pub guest_physmap: BTreeMap<(DomId, u64), (u32, u64)>,
    /// `XEN_DOMCTL_cacheflush` calls: (domain, first gfn, frames).
    pub flushed: Vec<(DomId, u64, u64)>,
}

/// The first domid createdomain hands out.
pub const SIM_FIRST_DOMID: DomId = 7;
/// Dom0's lowest port.
const FIRST_PORT: u32 = 5;

/// `1 << MAX_ORDER`: the most frames one `XEN_DOMCTL_cacheflush` takes
/// (Xen's default `MAX_ORDER`, 20).
pub const SIM_CACHEFLUSH_MAX: u64 = 1 << 20;

/// Xen's `virt_start` in the simulation.
pub const SIM_VIRT_START: u64 = 0x0000_0a00_0000_0000;

impl SimXen {
    pub fn new(ndomains: u16) -> Self {
        SimXen {
            ndomains,
            sysctl_version: abi::XEN_SYSCTL_INTERFACE_VERSION,
            domctl_version: dabi::XEN_DOMCTL_INTERFACE_VERSION,
            version: (4 << 16) | 17,
            console: RefCell::new(b"(XEN) hello\n".to_vec()),
            console_growth: Vec::new(),
            free_cpu_mask: 0,
            build_id: vec![0x7a, 0x23, 0xea, 0x1e],
            gnttab_status: Cell::new(0),
            calls: RefCell::new(Vec::new()),
            ops: RefCell::new(Vec::new()),
            log: RefCell::new(Vec::new()),
            script: RefCell::new(VecDeque::new()),
            keys: RefCell::new(Vec::new()),
            state: RefCell::new(SimState { next_domid: SIM_FIRST_DOMID, ..SimState::default() }),
            fail_at: Cell::new(None),
        }
    }

    /// Makes the `n`-th call from now (1 = the next) return `ret` without
    /// being carried out.
    pub fn fail_call(&self, n: usize, ret: i64) {
        self.fail_at.set(Some((self.log.borrow().len() + n, ret)));
    }

    /// Calls made so far.
    pub fn call_count(&self) -> usize {
        self.log.borrow().len()
    }

    /// Domains created and not destroyed.
    pub fn live_domains(&self) -> Vec<DomId> {
        self.state.borrow().domains.keys().copied().collect()
    }

    /// Dom0's open event channels.
    pub fn open_ports(&self) -> Vec<u32> {
        self.state.borrow().ports.keys().copied().collect()
    }

    /// Foreign pages mapped into Dom0.
    pub fn foreign_pages(&self) -> usize {
        self.state.borrow().foreign.len()
    }

    /// Pages Dom0 added to other domains' physmaps and did not remove.
    pub fn guest_physmap_pages(&self) -> usize {
        self.state.borrow().guest_physmap.len()
    }

    /// Marks a created domain as shut down with `reason` (as the guest's
    /// own `SCHEDOP_shutdown` would).
    pub fn guest_shutdown(&self, dom: DomId, reason: u32) {
        if let Some(d) = self.state.borrow_mut().domains.get_mut(&dom) {
            d.shutdown = Some(reason);
        }
    }

    /// Domains that exist without being created: the listed ones (even
    /// ids below `2 * ndomains`) and, for the ABI tests' fixed domids,
    /// every id below [`SIM_FIRST_DOMID`].
    fn static_domain(&self, id: DomId) -> bool {
        id < SIM_FIRST_DOMID || (id.is_multiple_of(2) && id / 2 < self.ndomains)
    }

    fn new_port(&self, st: EvtchnState) -> u32 {
        let mut s = self.state.borrow_mut();
        let port = (FIRST_PORT..).find(|p| !s.ports.contains_key(p)).unwrap_or(FIRST_PORT);
        s.ports.insert(port, st);
        port
    }

    fn info_of(&self, id: DomId) -> Option<abi::DomctlGetdomaininfo> {
        if let Some(d) = self.state.borrow().domains.get(&id) {
            let mut flags = if d.paused { abi::XEN_DOMINF_PAUSED } else { abi::XEN_DOMINF_RUNNING };
            if let Some(r) = d.shutdown {
                flags |= abi::XEN_DOMINF_SHUTDOWN | (r << abi::XEN_DOMINF_SHUTDOWNSHIFT);
            }
            return Some(abi::DomctlGetdomaininfo { domain: id, flags, tot_pages: d.pages, ..Default::default() });
        }
        let listed = id.is_multiple_of(2) && id / 2 < self.ndomains;
        (listed || self.static_domain(id)).then(|| abi::DomctlGetdomaininfo {
            domain: id,
            flags: abi::XEN_DOMINF_RUNNING,
            tot_pages: u64::from(id / 2) * 256,
            ..Default::default()
        })
    }

    /// Makes the next call return `ret` without being carried out.
    pub fn fail_next(&self, ret: i64) {
        self.script.borrow_mut().push_back(ret);
    }

    /// The last call of hypercall `op`.
    pub fn last(&self, op: u64) -> Call {
        self.log.borrow().iter().rev().find(|c| c.op == op).cloned().expect("no such call")
    }

    fn sysctl(&self, s: &mut abi::Sysctl) -> i64 {
        self.calls.borrow_mut().push(s.cmd);
        if s.interface_version != self.sysctl_version {
            return -13;
        }
        match s.cmd {
            abi::XEN_SYSCTL_PHYSINFO => {
                let p = abi::SysctlPhysinfo {
                    nr_cpus: 2,
                    max_cpu_id: 3,
                    total_pages: 524288,
                    free_pages: 400000,
                    capabilities: abi::XEN_SYSCTL_PHYSCAP_HVM
                        | abi::XEN_SYSCTL_PHYSCAP_HAP
                        | abi::XEN_SYSCTL_PHYSCAP_VPMU
                        | abi::XEN_SYSCTL_PHYSCAP_GNTTAB_V1,
                    hw_cap: [1, 2, 3, 4, 5, 6, 7, 8],
                    ..Default::default()
                };
                s.u[..112].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_SCHED_ID => s.u[..4].copy_from_slice(&abi::XEN_SCHEDULER_CREDIT2.to_ne_bytes()),
            abi::XEN_SYSCTL_GETDOMAININFOLIST => {
                let (mut p, _) = abi::SysctlGetdomaininfolist::read_from_prefix(&s.u).unwrap();
                let mut n = 0u32;
                // The listed domains, then those created.
                let mut ids: Vec<DomId> = (0..self.ndomains).map(|i| i * 2).collect();
                ids.extend(self.state.borrow().domains.keys());
                ids.sort_unstable();
                for id in ids {
                    if id < p.first_domain || n == p.max_domains {
                        continue;
                    }
                    let Some(d) = self.info_of(id) else { continue };
                    // SAFETY: the wrapper passes a buffer of `max_domains` entries.
                    unsafe { (p.buffer as *mut abi::DomctlGetdomaininfo).add(n as usize).write(d) };
                    n += 1;
                }
                p.num_domains = n;
                s.u[..24].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_READCONSOLE => {
                let (mut p, _) = abi::SysctlReadconsole::read_from_prefix(&s.u).unwrap();
                let mut ring = self.console.borrow_mut();
                let start = if p.incremental != 0 { p.index as usize } else { 0 };
                let src = &ring[start.min(ring.len())..];
                let n = src.len().min(p.count as usize);
                // SAFETY: the wrapper passes a buffer of `count` bytes.
                unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), p.buffer as *mut u8, n) };
                p.count = n as u32;
                p.index = (start + n) as u32;
                s.u[..24].copy_from_slice(p.as_bytes());
                ring.extend_from_slice(&self.console_growth);
            }
            abi::XEN_SYSCTL_CPUPOOL_OP => {
                let (p, _) = abi::SysctlCpupoolOp::read_from_prefix(&s.u).unwrap();
                if p.op != abi::XEN_SYSCTL_CPUPOOL_OP_FREEINFO {
                    return -38;
                }
                for byte in 0..(p.cpumap.nr_bits as usize).div_ceil(8) {
                    let b = if byte < 8 { (self.free_cpu_mask >> (8 * byte)) as u8 } else { 0 };
                    // SAFETY: the wrapper passes a bitmap of `nr_bits` bits.
                    unsafe { (p.cpumap.bitmap as *mut u8).add(byte).write(b) };
                }
            }
            abi::XEN_SYSCTL_DEBUG_KEYS => {
                let (p, _) = abi::SysctlDebugKeys::read_from_prefix(&s.u).unwrap();
                // SAFETY: the wrapper passes `nr_keys` bytes.
                let k = unsafe { core::slice::from_raw_parts(p.keys as *const u8, p.nr_keys as usize) };
                self.keys.borrow_mut().extend_from_slice(k);
            }
            _ => return -38,
        }
        0
    }

    fn domctl(&self, d: &mut dabi::Domctl) -> i64 {
        if d.interface_version != self.domctl_version {
            return -13;
        }
        let id = d.domain;
        let mut st = self.state.borrow_mut();
        let known = st.domains.contains_key(&id) || self.static_domain(id);
        match d.cmd {
            dabi::XEN_DOMCTL_CREATEDOMAIN => {
                let new = st.next_domid;
                st.next_domid += 1;
                st.domains.insert(new, SimDomain { paused: true, next_port: 1, ..SimDomain::default() });
                d.domain = new;
            }
            dabi::XEN_DOMCTL_GETDOMAININFO => {
                drop(st);
                // Domain 0 answers the interface probe in every simulation.
                let Some(i) = self.info_of(id).or_else(|| (id == 0).then(Default::default)) else { return -3 };
                d.u[..120].copy_from_slice(i.as_bytes());
            }
            // Dom0's channels to it stay open (unbound) until closed.
            dabi::XEN_DOMCTL_DESTROYDOMAIN => {
                if st.domains.remove(&id).is_none() && !known {
                    return -3;
                }
                // What Dom0 added to its physmap goes with it.
                st.guest_physmap.retain(|&(d, _), _| d != id);
            }
            dabi::XEN_DOMCTL_CACHEFLUSH if known => {
                let (c, _) = dabi::DomctlCacheflush::read_from_prefix(&d.u).unwrap();
                // As arch_do_domctl: bounded, and no wrap-around.
                if c.nr_pfns > SIM_CACHEFLUSH_MAX || c.start_pfn.checked_add(c.nr_pfns).is_none() {
                    return -22;
                }
                st.flushed.push((id, c.start_pfn, c.nr_pfns));
            }
            dabi::XEN_DOMCTL_PAUSEDOMAIN | dabi::XEN_DOMCTL_UNPAUSEDOMAIN => {
                if let Some(dom) = st.domains.get_mut(&id) {
                    dom.paused = d.cmd == dabi::XEN_DOMCTL_PAUSEDOMAIN;
                } else if !known {
                    return -3;
                }
            }
            _ if !known && id != 0 => return -3,
            _ => {}
        }
        0
    }

    /// Bytes of the argument struct(s) behind `args[i]` for this op, as
    /// their C headers size them.
    fn arg_bytes(op: u64, args: &[u64; 5]) -> Vec<u8> {
        let (ptr, len) = match op {
            hc::SYSCTL => (args[0], 136),
            hc::DOMCTL => (args[0], 144),
            hc::EVENT_CHANNEL_OP => (
                args[1],
                match args[0] {
                    ev::EVTCHNOP_ALLOC_UNBOUND => 8,
                    ev::EVTCHNOP_BIND_INTERDOMAIN | ev::EVTCHNOP_BIND_VIRQ => 12,
                    ev::EVTCHNOP_STATUS => 24,
                    _ => 4,
                },
            ),
            hc::GRANT_TABLE_OP => (
                args[1],
                args[2] as usize
                    * match args[0] {
                        gt::GNTTABOP_MAP_GRANT_REF => 32,
                        gt::GNTTABOP_UNMAP_GRANT_REF => 24,
                        gt::GNTTABOP_COPY => 40,
                        gt::GNTTABOP_QUERY_SIZE => 16,
                        _ => 0,
                    },
            ),
            hc::MEMORY_OP => (
                args[1],
                match args[0] {
                    mem::XENMEM_ADD_TO_PHYSMAP => 24,
                    mem::XENMEM_REMOVE_FROM_PHYSMAP => 16,
                    mem::XENMEM_ADD_TO_PHYSMAP_BATCH | mem::XENMEM_POPULATE_PHYSMAP => 32,
                    _ => 0,
                },
            ),
            hc::HVM_OP => (args[1], 16),
            _ => (0, 0),
        };
        if ptr == 0 || len == 0 {
            return Vec::new();
        }
        // SAFETY: the wrappers pass structs of the sizes their headers give.
        unsafe { core::slice::from_raw_parts(ptr as *const u8, len) }.to_vec()
    }
}

/// Decodes the struct a wrapper passed.
///
/// # Safety
/// `a` must be the address of a live `T`.
unsafe fn arg<'a, T>(a: u64) -> &'a mut T {
    // SAFETY: guaranteed by the caller.
    unsafe { &mut *(a as *mut T) }
}

impl SimXen {
    /// # Safety
    /// `args` are what the wrappers pass for event-channel ops.
    unsafe fn evtchn(&self, cmd: u64, a: u64) -> i64 {
        self.ops.borrow_mut().push((hc::EVENT_CHANNEL_OP, cmd));
        match cmd {
            ev::EVTCHNOP_ALLOC_UNBOUND => {
                // SAFETY: each op's struct, as documented in event_channel.h.
                let u = unsafe { arg::<ev::EvtchnAllocUnbound>(a) };
                let mut st = self.state.borrow_mut();
                if let Some(d) = st.domains.get_mut(&u.dom) {
                    u.port = d.next_port;
                    d.next_port += 1;
                    d.unbound.insert(u.port, u.remote_dom);
                } else {
                    drop(st);
                    u.port = self.new_port(EvtchnState::Unbound { remote: u.remote_dom });
                }
            }
            ev::EVTCHNOP_BIND_INTERDOMAIN => {
                // SAFETY: as above.
                let b = unsafe { arg::<ev::EvtchnBindInterdomain>(a) };
                let mut st = self.state.borrow_mut();
                if let Some(d) = st.domains.get_mut(&b.remote_dom) {
                    // Only a port the domain left unbound for Dom0.
                    if d.unbound.get(&b.remote_port) != Some(&0) {
                        return -22;
                    }
                    d.unbound.remove(&b.remote_port);
                }
                drop(st);
                let (remote, remote_port) = (b.remote_dom, b.remote_port);
                b.local_port = self.new_port(EvtchnState::Interdomain { remote, remote_port });
            }
            ev::EVTCHNOP_BIND_VIRQ => {
                // SAFETY: as above.
                let v = unsafe { arg::<ev::EvtchnBindVirq>(a) };
                v.port = self.new_port(EvtchnState::Virq(v.virq));
            }
            ev::EVTCHNOP_CLOSE => {
                // SAFETY: as above.
                let port = unsafe { arg::<ev::EvtchnPortOnly>(a).port };
                self.state.borrow_mut().ports.remove(&port);
            }
            ev::EVTCHNOP_STATUS => {
                // SAFETY: as above.
                let s = unsafe { arg::<ev::EvtchnStatus>(a) };
                let own = s.dom == xen_abi::DOMID_SELF || s.dom == 0;
                let known = self.state.borrow().ports.get(&s.port).copied().filter(|_| own);
                (s.status, s.vcpu, s.u0, s.u1) = match known {
                    Some(EvtchnState::Unbound { remote }) => (ev::EVTCHNSTAT_UNBOUND, 0, u32::from(remote), 0),
                    Some(EvtchnState::Virq(v)) => (ev::EVTCHNSTAT_VIRQ, 0, v, 0),
                    Some(EvtchnState::Interdomain { remote, remote_port }) => {
                        (ev::EVTCHNSTAT_INTERDOMAIN, 0, u32::from(remote), remote_port)
                    }
                    _ => (ev::EVTCHNSTAT_INTERDOMAIN, 0, 0, 5),
                };
            }
            _ => {}
        }
        0
    }

    /// # Safety
    /// `args` are what the wrappers pass for grant-table ops.
    unsafe fn gnttab(&self, cmd: u64, a: u64, n: u64) -> i64 {
        self.ops.borrow_mut().push((hc::GRANT_TABLE_OP, cmd));
        let status = self.gnttab_status.get();
        for i in 0..n {
            match cmd {
                gt::GNTTABOP_MAP_GRANT_REF => {
                    // SAFETY: an array of `n` map structs.
                    let m = unsafe { arg::<gt::GnttabMapGrantRef>(a + i * 32) };
                    if m.ref_ >= 8 {
                        m.status = -3
                    } else {
                        m.handle = 42 + m.ref_
                    }
                }
                // SAFETY: an array of `n` unmap structs.
                gt::GNTTABOP_UNMAP_GRANT_REF => unsafe { arg::<gt::GnttabUnmapGrantRef>(a + i * 24).status = status },
                // SAFETY: an array of `n` copy structs.
                gt::GNTTABOP_COPY => unsafe { arg::<gt::GnttabCopy>(a + i * 40).status = status },
                gt::GNTTABOP_QUERY_SIZE => {
                    // SAFETY: one query struct.
                    let q = unsafe { arg::<gt::GnttabQuerySize>(a) };
                    (q.nr_frames, q.max_nr_frames, q.status) = (1, 64, status);
                }
                _ => {}
            }
        }
        0
    }

    /// # Safety
    /// `args` are what the wrappers pass for memory ops.
    unsafe fn memory(&self, cmd: u64, a: u64) -> i64 {
        self.ops.borrow_mut().push((hc::MEMORY_OP, cmd));
        match cmd {
            mem::XENMEM_ADD_TO_PHYSMAP_BATCH => {
                // SAFETY: the batch struct and its three arrays of `size`.
                unsafe {
                    let b = arg::<mem::AddToPhysmapBatch>(a);
                    let mut st = self.state.borrow_mut();
                    for i in 0..b.size as usize {
                        let gfn = *((b.idxs as *const u64).add(i));
                        let gpfn = *((b.gpfns as *const u64).add(i));
                        // Odd gfns do not exist in the simulated foreign domain.
                        let ok = gfn % 2 == 0;
                        *((b.errs as *mut i32).add(i)) = if ok { 0 } else { -22 };
                        if ok {
                            st.foreign.insert(gpfn, (b.foreign_domid, gfn));
                        }
                    }
                }
                0
            }
            mem::XENMEM_ADD_TO_PHYSMAP => {
                // SAFETY: an `xen_add_to_physmap`.
                let x = unsafe { arg::<mem::AddToPhysmap>(a) };
                if x.domid == xen_abi::DOMID_SELF || x.domid == 0 {
                    return 0;
                }
                let mut st = self.state.borrow_mut();
                if !st.domains.contains_key(&x.domid) {
                    return -3; // ESRCH
                }
                // Foreign pages only go through the batch call (memory.c).
                if x.space == mem::XENMAPSPACE_GMFN_FOREIGN {
                    return -38;
                }
                st.guest_physmap.insert((x.domid, x.gpfn), (x.space, x.idx));
                0
            }
            mem::XENMEM_REMOVE_FROM_PHYSMAP => {
                // SAFETY: an `xen_remove_from_physmap`.
                let r = unsafe { arg::<mem::RemoveFromPhysmap>(a) };
                let mut st = self.state.borrow_mut();
                if r.domid == xen_abi::DOMID_SELF || r.domid == 0 {
                    st.foreign.remove(&r.gpfn);
                    return 0;
                }
                // No page there: get_page_from_gfn fails, ENOENT.
                match st.guest_physmap.remove(&(r.domid, r.gpfn)) {
                    Some(_) => 0,
                    None => -2,
                }
            }
            mem::XENMEM_POPULATE_PHYSMAP => {
                // SAFETY: a reservation struct.
                let r = unsafe { arg::<mem::MemoryReservation>(a) };
                // Populates all but extents at gfn 0 (and stops there, as Xen).
                // SAFETY: `extent_start` holds `nr_extents` gfns.
                let gfns = unsafe { core::slice::from_raw_parts(r.extent_start as *const u64, r.nr_extents as usize) };
                let n = gfns.iter().position(|&g| g == 0).unwrap_or(gfns.len());
                if let Some(d) = self.state.borrow_mut().domains.get_mut(&r.domid) {
                    d.pages += (n as u64) << r.extent_order;
                }
                n as i64
            }
            mem::XENMEM_GET_SHARING_FREED_PAGES | mem::XENMEM_GET_SHARING_SHARED_PAGES => 0,
            _ => 0,
        }
    }

    /// # Safety
    /// `args` are what the wrappers pass for `xen_version`.
    unsafe fn xen_version(&self, cmd: u64, a: u64) -> i64 {
        match cmd {
            v::XENVER_VERSION => self.version,
            v::XENVER_PAGESIZE => 4096,
            v::XENVER_PLATFORM_PARAMETERS => {
                // SAFETY: one `xen_platform_parameters`.
                unsafe { arg::<v::PlatformParameters>(a).virt_start = SIM_VIRT_START };
                0
            }
            v::XENVER_BUILD_ID => {
                // SAFETY: a `xen_build_id` with `len` bytes of room.
                let b = unsafe { arg::<v::BuildId>(a) };
                if (b.len as usize) < self.build_id.len() {
                    return -105; // ENOBUFS
                }
                b.buf[..self.build_id.len()].copy_from_slice(&self.build_id);
                self.build_id.len() as i64
            }
            v::XENVER_COMPILE_INFO => {
                // SAFETY: one `xen_compile_info`.
                let c = unsafe { arg::<v::CompileInfo>(a) };
                c.compiler[..3].copy_from_slice(b"gcc");
                0
            }
            v::XENVER_EXTRAVERSION => {
                // A 16-byte `xen_extraversion_t` at `a`.
                let s = c".5".to_bytes_with_nul();
                // SAFETY: as above; `s` is 3 bytes.
                unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), a as *mut u8, s.len()) };
                0
            }
            v::XENVER_CHANGESET | v::XENVER_CAPABILITIES | v::XENVER_COMMANDLINE => 0,
            _ => -38,
        }
    }
}

// SAFETY: the simulation only dereferences pointers the wrappers documented.
unsafe impl Hypercall for SimXen {
    unsafe fn call(&self, op: u64, args: [u64; 5]) -> i64 {
        self.log.borrow_mut().push(Call { op, args, bytes: SimXen::arg_bytes(op, &args) });
        if let Some(ret) = self.script.borrow_mut().pop_front() {
            return ret;
        }
        if let Some((n, ret)) = self.fail_at.get() {
            if self.log.borrow().len() == n {
                self.fail_at.set(None);
                return ret;
            }
        }
        match op {
            // SAFETY: the wrappers pass the documented structs.
            hc::XEN_VERSION => unsafe { self.xen_version(args[0], args[1]) },
            // SAFETY: sysctl's argument is a `struct xen_sysctl`.
            hc::SYSCTL => self.sysctl(unsafe { &mut *(args[0] as *mut abi::Sysctl) }),
            // SAFETY: domctl's argument is a `struct xen_domctl`.
            hc::DOMCTL => self.domctl(unsafe { &mut *(args[0] as *mut dabi::Domctl) }),
            // SAFETY: the wrappers pass the documented structs.
            hc::EVENT_CHANNEL_OP => unsafe { self.evtchn(args[0], args[1]) },
            // SAFETY: as above.
            hc::GRANT_TABLE_OP => unsafe { self.gnttab(args[0], args[1], args[2]) },
            // SAFETY: as above.
            hc::MEMORY_OP => unsafe { self.memory(args[0], args[1]) },
            hc::SCHED_OP if args[0] == xen_abi::sched::SCHEDOP_REMOTE_SHUTDOWN => {
                // SAFETY: a `sched_remote_shutdown`.
                let r = unsafe { arg::<xen_abi::sched::SchedRemoteShutdown>(args[1]) };
                match self.state.borrow_mut().domains.get_mut(&r.domain_id) {
                    Some(d) => {
                        d.shutdown = Some(r.reason);
                        0
                    }
                    None => -3,
                }
            }
            hc::SCHED_OP => 0,
            hc::HVM_OP => {
                if args[0] == hvm::HVMOP_GET_PARAM {
                    // SAFETY: one `xen_hvm_param`.
                    unsafe { arg::<hvm::HvmParam>(args[1]).value = 0x1234 };
                }
                0
            }
            _ => -38,
        }
    }
}
