//! A fake Dom0 for the checks, behaving as Xen and the kernel do: Dom0's
//! and other domains' event channels with Xen's pending and mask bits and
//! upcalls, our grants, domains' memory and our physmap, all in memory;
//! domain creation and debug keys by `xen_hyp::sim::SimXen`. [`Knobs`]
//! make one part misbehave, the way a broken Xen or Dom0 would.

use crate::{Dom0, Mem};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use xen_abi::domctl::VcpuGuestContext;
use xen_abi::event_channel::{VIRQ_CON_RING, VIRQ_DOM_EXC};
use xen_abi::{DomId, DOMID_SELF};
use xen_hyp::sim::SimXen;
use xen_hyp::{DomainConfig, DomainInfo, Domctls, Errno, EventChannels, EvtchnState, Physmap, Result, Xen};
use xen_mm::{ForeignError, ForeignMapper, GrantError, Mapping, Page, PageSpace, PAGE_SIZE};

/// The mapping space: 256 pages.
const SPACE: (u64, u64) = (0x8000_0000, 0x10_0000);

/// What misbehaves; the default is a faithful Xen and Dom0.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Xen's wallclock in shared info.
    pub wallclock: (u64, u32, u32),
    /// Upcalls by interrupt (else waits poll, and no timer interrupt).
    pub irq_mode: bool,
    /// Boot bound `VIRQ_DOM_EXC`.
    pub dom_exc_bound: bool,
    /// Xen notifies `VIRQ_CON_RING` when it prints.
    pub con_ring: bool,
    /// Xen binds a virq that is already bound.
    pub virq_rebind: bool,
    /// Our grant table lets a mapped grant be revoked.
    pub revoke_while_mapped: bool,
    /// `GNTTABOP_copy` reads this many bytes further on.
    pub copy_skew: usize,
    /// Unmapping a foreign mapping loses a page of mapping space.
    pub leak_space: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            wallclock: (1_700_000_000, 123_456, 2),
            irq_mode: true,
            dom_exc_bound: true,
            con_ring: true,
            virq_rebind: false,
            revoke_while_mapped: false,
            copy_skew: 0,
            leak_space: false,
        }
    }
}

/// Xen's side.
#[derive(Default)]
struct XenState {
    /// Open ports by `(domain, port)` (Dom0 is 0): state and vCPU.
    ports: BTreeMap<(DomId, u32), (EvtchnState, u32)>,
    /// Dom0's shared-info bits.
    pending: BTreeSet<u32>,
    masked: BTreeSet<u32>,
    /// The kernel's notifications, set by the upcall.
    soft: BTreeSet<u32>,
    upcalls: u64,
    /// Populated memory of other domains.
    mem: BTreeMap<(DomId, u64), Rc<Page>>,
    /// Dom0's mapping space as mapped: our gpfn -> the page there.
    physmap: BTreeMap<u64, Rc<Page>>,
}

/// Xen: event channels and physmap modelled here, domctls and debug keys
/// by the simulated Xen.
pub struct FakeXen {
    pub sim: Xen<SimXen>,
    knobs: Knobs,
    st: RefCell<XenState>,
}

impl FakeXen {
    fn exists(&self, dom: DomId) -> bool {
        dom == 0 || self.sim.raw().live_domains().contains(&dom)
    }

    fn domain(&self, dom: DomId) -> Result<DomId> {
        let dom = if dom == DOMID_SELF { 0 } else { dom };
        self.exists(dom).then_some(dom).ok_or(Errno::ESRCH)
    }

    fn new_port(&self, dom: DomId, st: EvtchnState, vcpu: u32) -> u32 {
        let mut s = self.st.borrow_mut();
        let port = (1..).find(|p| !s.ports.contains_key(&(dom, *p))).unwrap_or(1);
        s.ports.insert((dom, port), (st, vcpu));
        port
    }

    /// Dom0's port bound to `virq`, if any.
    fn virq_port(&self, virq: u32) -> Option<u32> {
        let s = self.st.borrow();
        s.ports.iter().find(|(k, v)| k.0 == 0 && v.0 == EvtchnState::Virq(virq)).map(|(k, _)| k.1)
    }

    /// Sets Dom0's `port` pending and, if it is unmasked and upcalls are
    /// interrupts, takes the upcall.
    fn raise(&self, port: u32) {
        let mut s = self.st.borrow_mut();
        s.pending.insert(port);
        if !s.masked.contains(&port) {
            self.upcall(&mut s);
        }
    }

    /// The kernel's upcall handler: Xen's unmasked pending bits become
    /// notifications.
    fn upcall(&self, s: &mut XenState) {
        if !self.knobs.irq_mode {
            return;
        }
        s.upcalls += 1;
        let ready: Vec<u32> = s.pending.iter().filter(|p| !s.masked.contains(p)).copied().collect();
        for p in ready {
            s.pending.remove(&p);
            s.soft.insert(p);
        }
    }

    /// Xen printing (a debug key): `VIRQ_CON_RING`.
    fn debug_keys(&self, keys: &[u8]) -> Result<()> {
        self.sim.debug_keys(keys)?;
        if let Some(p) = self.virq_port(VIRQ_CON_RING).filter(|_| self.knobs.con_ring) {
            self.raise(p);
        }
        Ok(())
    }

    /// Dom0's open ports.
    pub fn dom0_ports(&self) -> Vec<u32> {
        self.st.borrow().ports.keys().filter(|k| k.0 == 0).map(|k| k.1).collect()
    }

    /// Pages mapped in Dom0's mapping space.
    pub fn mapped_pages(&self) -> usize {
        self.st.borrow().physmap.len()
    }
}

impl EventChannels for FakeXen {
    fn alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32> {
        let dom = self.domain(dom)?;
        let remote = if remote == DOMID_SELF { dom } else { self.domain(remote)? };
        Ok(self.new_port(dom, EvtchnState::Unbound { remote }, 0))
    }

    fn bind_interdomain(&self, remote: DomId, remote_port: u32) -> Result<u32> {
        let remote = self.domain(remote)?;
        if self.st.borrow().ports.get(&(remote, remote_port)).map(|p| p.0) != Some(EvtchnState::Unbound { remote: 0 }) {
            return Err(Errno::EINVAL);
        }
        let local = self.new_port(0, EvtchnState::Interdomain { remote, remote_port }, 0);
        let peer = EvtchnState::Interdomain { remote: 0, remote_port: local };
        self.st.borrow_mut().ports.insert((remote, remote_port), (peer, 0));
        Ok(local)
    }

    fn bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32> {
        if self.virq_port(virq).is_some() && !self.knobs.virq_rebind {
            return Err(Errno::EEXIST);
        }
        Ok(self.new_port(0, EvtchnState::Virq(virq), vcpu))
    }

    fn send(&self, port: u32) -> Result<()> {
        let st = self.st.borrow().ports.get(&(0, port)).map(|p| p.0);
        match st {
            Some(EvtchnState::Interdomain { remote: 0, remote_port }) => self.raise(remote_port),
            Some(EvtchnState::Virq(_)) => self.raise(port),
            Some(_) => {}
            None => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// Leaves the other end of an interdomain channel unbound for us, as
    /// Xen's `evtchn_close` does.
    fn close(&self, port: u32) -> Result<()> {
        let mut s = self.st.borrow_mut();
        let (st, _) = s.ports.remove(&(0, port)).ok_or(Errno::EINVAL)?;
        s.pending.remove(&port);
        if let EvtchnState::Interdomain { remote, remote_port } = st {
            if let Some(peer) = s.ports.get_mut(&(remote, remote_port)) {
                peer.0 = EvtchnState::Unbound { remote: 0 };
            }
        }
        Ok(())
    }

    fn status(&self, dom: DomId, port: u32) -> Result<(EvtchnState, u32)> {
        let dom = self.domain(dom)?;
        Ok(self.st.borrow().ports.get(&(dom, port)).copied().unwrap_or((EvtchnState::Closed, 0)))
    }

    fn unmask(&self, port: u32) -> Result<()> {
        let mut s = self.st.borrow_mut();
        s.masked.remove(&port);
        if s.pending.contains(&port) {
            self.upcall(&mut s);
        }
        Ok(())
    }
}

impl Physmap for FakeXen {
    fn add_to_physmap(&self, _: u32, _: u64, _: u64) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn map_foreign(&self, foreign: DomId, gfns: &[u64], gpfns: &[u64], errs: &mut [i32]) -> Result<()> {
        let foreign = self.domain(foreign)?;
        let mut s = self.st.borrow_mut();
        for ((gfn, gpfn), err) in gfns.iter().zip(gpfns).zip(errs) {
            *err = match s.mem.get(&(foreign, *gfn)).cloned() {
                Some(page) => {
                    s.physmap.insert(*gpfn, page);
                    0
                }
                None => -Errno::EINVAL.0,
            };
        }
        Ok(())
    }

    fn remove_from_physmap(&self, gpfn: u64) -> Result<()> {
        self.st.borrow_mut().physmap.remove(&gpfn).map(drop).ok_or(Errno::ENOENT)
    }

    fn populate_physmap(&self, dom: DomId, gfns: &mut [u64], order: u32) -> Result<usize> {
        let dom = self.domain(dom)?;
        if order != 0 {
            return Err(Errno::ENOSYS);
        }
        let mut s = self.st.borrow_mut();
        for gfn in gfns.iter() {
            s.mem.entry((dom, *gfn)).or_insert_with(|| Rc::from(Page::new_boxed()));
        }
        Ok(gfns.len())
    }
}

/// Domains are the simulated Xen's; destroying one closes its ports and
/// raises `VIRQ_DOM_EXC`.
impl Domctls for FakeXen {
    fn create_domain(&self, cfg: &DomainConfig) -> Result<DomId> {
        self.sim.create_domain(cfg)
    }
    fn destroy_domain(&self, dom: DomId) -> Result<()> {
        self.sim.destroy_domain(dom)?;
        {
            let mut s = self.st.borrow_mut();
            s.ports.retain(|k, _| k.0 != dom);
            for (st, _) in s.ports.values_mut() {
                if matches!(*st, EvtchnState::Interdomain { remote, .. } if remote == dom) {
                    *st = EvtchnState::Unbound { remote: dom };
                }
            }
            s.mem.retain(|k, _| k.0 != dom);
        }
        if let Some(p) = self.virq_port(VIRQ_DOM_EXC) {
            self.raise(p);
        }
        Ok(())
    }
    fn pause_domain(&self, dom: DomId) -> Result<()> {
        self.sim.pause_domain(dom)
    }
    fn unpause_domain(&self, dom: DomId) -> Result<()> {
        self.sim.unpause_domain(dom)
    }
    fn domain_info(&self, dom: DomId) -> Result<DomainInfo> {
        self.sim.domain_info(dom)
    }
    fn set_max_mem(&self, dom: DomId, kib: u64) -> Result<()> {
        self.sim.set_max_mem(dom, kib)
    }
    fn set_max_vcpus(&self, dom: DomId, n: u32) -> Result<()> {
        self.sim.set_max_vcpus(dom, n)
    }
    fn set_address_size(&self, dom: DomId, bits: u32) -> Result<()> {
        self.sim.set_address_size(dom, bits)
    }
    fn set_paging_mempool(&self, dom: DomId, bytes: u64) -> Result<()> {
        self.sim.set_paging_mempool(dom, bytes)
    }
    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &VcpuGuestContext) -> Result<()> {
        self.sim.set_vcpu_context(dom, vcpu, ctx)
    }
    fn iomem_permission(&self, dom: DomId, first_mfn: u64, nr: u64, allow: bool) -> Result<()> {
        self.sim.iomem_permission(dom, first_mfn, nr, allow)
    }
    fn memory_mapping(&self, dom: DomId, first_gfn: u64, first_mfn: u64, nr: u64, add: bool) -> Result<()> {
        self.sim.memory_mapping(dom, first_gfn, first_mfn, nr, add)
    }
    fn irq_permission(&self, dom: DomId, irq: u32, allow: bool) -> Result<()> {
        self.sim.irq_permission(dom, irq, allow)
    }
    fn bind_pt_irq(&self, dom: DomId, irq: u32) -> Result<()> {
        self.sim.bind_pt_irq(dom, irq)
    }
    fn assign_dt_device(&self, dom: DomId, path: &str) -> Result<()> {
        self.sim.assign_dt_device(dom, path)
    }
}

/// A page of ours, shared with the fake Xen (which maps it for grants).
pub type OwnPage = Rc<Page>;

/// A page as mapped in our space.
#[derive(Debug)]
pub struct FakeMem(Rc<Page>);

impl Mem for FakeMem {
    fn read_u8(&self, off: usize) -> u8 {
        self.0.get(off)
    }
    fn write_u8(&self, off: usize, v: u8) {
        self.0.set(off, v)
    }
    fn read(&self, off: usize, out: &mut [u8]) {
        out.iter_mut().enumerate().for_each(|(i, b)| *b = self.0.get(off + i));
    }
    fn write(&self, off: usize, data: &[u8]) {
        data.iter().enumerate().for_each(|(i, b)| self.0.set(off + i, *b));
    }
}

/// One of our grants.
#[derive(Debug)]
struct Grant {
    to: DomId,
    pfn: u64,
    maps: u32,
}

/// A grant of ours mapped into our space.
#[derive(Debug)]
pub struct FakeGrantMap {
    gpfn: u64,
    gref: u32,
}

/// Dom0: the kernel's event-channel registry, clock, grant table and
/// mapping space over [`FakeXen`].
pub struct FakeDom0 {
    pub xen: FakeXen,
    /// Our ports by name (the kernel's registry).
    pub names: RefCell<BTreeMap<u32, String>>,
    /// Our pages by frame (they stay allocated, so frames are not reused).
    own: RefCell<BTreeMap<u64, OwnPage>>,
    grants: RefCell<BTreeMap<u32, Grant>>,
    mapper: RefCell<ForeignMapper>,
    clock: Cell<u64>,
    timer_irqs: Cell<u64>,
    dom_exc: Option<u32>,
}

impl FakeDom0 {
    pub fn new(knobs: Knobs) -> Self {
        let bind_dom_exc = knobs.dom_exc_bound;
        let mut d = FakeDom0 {
            xen: FakeXen { sim: Xen::new(SimXen::new(1)), knobs, st: RefCell::default() },
            names: RefCell::default(),
            own: RefCell::default(),
            grants: RefCell::default(),
            mapper: RefCell::new(ForeignMapper::new(PageSpace::new(&[SPACE]))),
            clock: Cell::new(5 * 1_000_000_000),
            timer_irqs: Cell::new(0),
            dom_exc: None,
        };
        if bind_dom_exc {
            d.dom_exc = Some(d.bind_virq(VIRQ_DOM_EXC, "virq:dom_exc").unwrap());
        }
        d
    }

    fn knobs(&self) -> &Knobs {
        &self.xen.knobs
    }

    /// As the kernel's `evtchn::register`.
    fn register(&self, port: u32, name: &str) -> Result<u32> {
        self.take(port);
        self.names.borrow_mut().insert(port, name.into());
        if self.knobs().irq_mode {
            self.xen.unmask(port)?;
        } else {
            self.mask(port);
        }
        Ok(port)
    }

    /// Grant refs in use.
    pub fn grants(&self) -> usize {
        self.grants.borrow().len()
    }
}

impl Dom0 for FakeDom0 {
    type Xen = FakeXen;
    type Page = OwnPage;
    type GrantMap = FakeGrantMap;
    type Mem = FakeMem;

    fn xen(&self) -> &FakeXen {
        &self.xen
    }
    fn debug_keys(&self, keys: &[u8]) -> Result<()> {
        self.xen.debug_keys(keys)
    }

    fn wallclock(&self) -> (u64, u32, u32) {
        self.knobs().wallclock
    }
    fn irq_mode(&self) -> bool {
        self.knobs().irq_mode
    }
    fn upcalls(&self) -> u64 {
        self.xen.st.borrow().upcalls
    }
    fn alloc_unbound(&self, remote: DomId, name: &str) -> Result<u32> {
        self.register(EventChannels::alloc_unbound(&self.xen, DOMID_SELF, remote)?, name)
    }
    fn bind_interdomain(&self, remote: DomId, remote_port: u32, name: &str) -> Result<u32> {
        self.register(self.xen.bind_interdomain(remote, remote_port)?, name)
    }
    fn bind_virq(&self, virq: u32, name: &str) -> Result<u32> {
        self.register(EventChannels::bind_virq(&self.xen, virq, 0)?, name)
    }
    fn send(&self, port: u32) -> Result<()> {
        self.xen.send(port)
    }
    fn close(&self, port: u32) -> Result<()> {
        self.mask(port);
        let r = EventChannels::close(&self.xen, port);
        self.names.borrow_mut().remove(&port);
        self.take(port);
        r
    }
    fn mask(&self, port: u32) {
        self.xen.st.borrow_mut().masked.insert(port);
    }
    fn unmask(&self, port: u32) -> Result<()> {
        self.xen.unmask(port)
    }
    fn xen_pending(&self, port: u32) -> bool {
        self.xen.st.borrow().pending.contains(&port)
    }
    fn take(&self, port: u32) -> bool {
        self.xen.st.borrow_mut().soft.remove(&port)
    }
    /// Nothing happens while a wait waits: an event already delivered (or,
    /// polled, pending at Xen) ends it, else the timeout passes.
    fn wait(&self, ports: &[u32], timeout_ns: Option<u64>) -> Option<u32> {
        let mut s = self.xen.st.borrow_mut();
        if !self.knobs().irq_mode {
            for p in ports {
                if s.pending.remove(p) {
                    s.soft.insert(*p);
                }
            }
        }
        if let Some(p) = ports.iter().copied().find(|p| s.soft.remove(p)) {
            return Some(p);
        }
        self.clock.set(self.clock.get() + timeout_ns.expect("a wait without a timeout never ends here"));
        if self.knobs().irq_mode {
            self.timer_irqs.set(self.timer_irqs.get() + 1);
        }
        None
    }
    fn dom_exc_port(&self) -> Option<u32> {
        self.dom_exc
    }

    fn uptime_ns(&self) -> u64 {
        self.clock.get()
    }
    fn timer_irqs(&self) -> u64 {
        self.timer_irqs.get()
    }

    fn new_page(&self) -> OwnPage {
        let page: OwnPage = Rc::from(Page::new_boxed());
        self.own.borrow_mut().insert(page.pfn(), page.clone());
        page
    }
    fn grant(&self, dom: DomId, pfn: u64, _readonly: bool) -> std::result::Result<u32, GrantError> {
        let mut g = self.grants.borrow_mut();
        let r = (0..).find(|r| !g.contains_key(r)).ok_or(GrantError::Exhausted)?;
        g.insert(r, Grant { to: dom, pfn, maps: 0 });
        Ok(r)
    }
    fn revoke(&self, gref: u32) -> std::result::Result<(), GrantError> {
        let mut g = self.grants.borrow_mut();
        match g.get(&gref) {
            None => Err(GrantError::NotGranted(gref)),
            Some(e) if e.maps > 0 && !self.knobs().revoke_while_mapped => Err(GrantError::InUse(gref)),
            Some(_) => g.remove(&gref).map(drop).ok_or(GrantError::NotGranted(gref)),
        }
    }
    fn map_grant(&self, dom: DomId, gref: u32, _readonly: bool) -> std::result::Result<FakeGrantMap, String> {
        let mut g = self.grants.borrow_mut();
        let grant = g.get_mut(&gref).filter(|g| dom == 0 && g.to == 0).ok_or("GNTST -3 (invalid grant reference)")?;
        let page = self.own.borrow().get(&grant.pfn).cloned().ok_or("GNTST -9 (bad page)")?;
        let gpfn = self.mapper.borrow_mut().space_mut().alloc(1).map_err(|e| format!("{e:?}"))?;
        self.xen.st.borrow_mut().physmap.insert(gpfn, page);
        grant.maps += 1;
        Ok(FakeGrantMap { gpfn, gref })
    }
    fn grant_page(&self, m: &FakeGrantMap) -> Option<FakeMem> {
        self.shared_mem(m.gpfn << 12, PAGE_SIZE)
    }
    fn unmap_grant(&self, m: FakeGrantMap) -> std::result::Result<(), xen_hyp::GrantError> {
        self.xen.st.borrow_mut().physmap.remove(&m.gpfn).ok_or(xen_hyp::GrantError::Status(-4))?;
        let _ = self.mapper.borrow_mut().space_mut().free(m.gpfn, 1);
        if let Some(g) = self.grants.borrow_mut().get_mut(&m.gref) {
            g.maps -= 1;
        }
        Ok(())
    }
    fn copy_from(
        &self,
        dom: DomId,
        gref: u32,
        src_off: u16,
        dst_pfn: u64,
        dst_off: u16,
        len: u16,
    ) -> std::result::Result<(), xen_hyp::GrantError> {
        let status = xen_hyp::GrantError::Status;
        let src = self.grants.borrow().get(&gref).filter(|g| dom == 0 && g.to == 0).map(|g| g.pfn).ok_or(status(-3))?;
        let own = self.own.borrow();
        let (src, dst) = own.get(&src).zip(own.get(&dst_pfn)).ok_or(status(-9))?;
        let (s, d, n) = (usize::from(src_off) + self.knobs().copy_skew, usize::from(dst_off), usize::from(len));
        if s + n > PAGE_SIZE || d + n > PAGE_SIZE {
            return Err(status(-10));
        }
        (0..n).for_each(|i| dst.set(d + i, src.get(s + i)));
        Ok(())
    }

    fn map_foreign(&self, dom: DomId, gfns: &[u64]) -> std::result::Result<Mapping, ForeignError> {
        self.mapper.borrow_mut().map(&self.xen, dom, gfns)
    }
    fn unmap_foreign(&self, m: Mapping) -> std::result::Result<(), ForeignError> {
        let mut mapper = self.mapper.borrow_mut();
        mapper.unmap(&self.xen, m)?;
        if self.knobs().leak_space {
            let _ = mapper.space_mut().alloc(1);
        }
        Ok(())
    }
    fn free_pages(&self) -> u64 {
        self.mapper.borrow().space().free_pages()
    }
    fn shared_mem(&self, addr: u64, len: usize) -> Option<FakeMem> {
        if !addr.is_multiple_of(PAGE_SIZE as u64) || len > PAGE_SIZE {
            return None;
        }
        self.xen.st.borrow().physmap.get(&(addr >> 12)).cloned().map(FakeMem)
    }
}
