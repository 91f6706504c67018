//! The create sequence against a simulated Xen: every step, and failure
//! injected at each step leaves no domain behind.

use super::*;
use crate::layout::{GicVersion, Iomem};
use core::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use xen_abi::domctl::VcpuGuestContext;
use xen_hyp::{DomainInfo, EvtchnState, Result as XResult};

#[derive(Default)]
struct Sim {
    calls: RefCell<Vec<&'static str>>,
    /// Fail the n-th call (1-based) with ENOMEM.
    fail_at: Option<usize>,
    domains: RefCell<BTreeSet<DomId>>,
    populated: RefCell<BTreeSet<u64>>,
    params: RefCell<BTreeMap<u32, u64>>,
    ctx: RefCell<Option<(u64, u64)>>,
}

impl Sim {
    fn call(&self, name: &'static str) -> XResult<()> {
        let mut c = self.calls.borrow_mut();
        c.push(name);
        if self.fail_at == Some(c.len()) && name != "destroy" {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}

impl Domctls for Sim {
    fn create_domain(&self, cfg: &DomainConfig) -> XResult<DomId> {
        self.call("create")?;
        assert_eq!(cfg.max_grant_version, 1);
        assert_eq!(cfg.handle, [7; 16]);
        self.domains.borrow_mut().insert(7);
        Ok(7)
    }
    fn destroy_domain(&self, d: DomId) -> XResult<()> {
        self.call("destroy")?;
        self.domains.borrow_mut().remove(&d).then_some(()).ok_or(Errno::ESRCH)
    }
    fn pause_domain(&self, _: DomId) -> XResult<()> {
        self.call("pause")
    }
    fn unpause_domain(&self, _: DomId) -> XResult<()> {
        self.call("unpause")
    }
    fn domain_info(&self, _: DomId) -> XResult<DomainInfo> {
        Err(Errno::ENOSYS)
    }
    fn set_max_mem(&self, _: DomId, _: u64) -> XResult<()> {
        self.call("max_mem")
    }
    fn set_max_vcpus(&self, _: DomId, _: u32) -> XResult<()> {
        self.call("max_vcpus")
    }
    fn set_address_size(&self, _: DomId, bits: u32) -> XResult<()> {
        assert_eq!(bits, 64);
        self.call("address_size")
    }
    fn set_paging_mempool(&self, _: DomId, _: u64) -> XResult<()> {
        self.call("paging_pool")
    }
    fn set_vcpu_context(&self, _: DomId, _: u32, c: &VcpuGuestContext) -> XResult<()> {
        self.call("vcpu_context")?;
        *self.ctx.borrow_mut() = Some((c.user_regs.pc64, c.user_regs.x[0]));
        Ok(())
    }
    fn iomem_permission(&self, _: DomId, _: u64, _: u64, _: bool) -> XResult<()> {
        self.call("iomem_permission")
    }
    fn memory_mapping(&self, _: DomId, _: u64, _: u64, _: u64, _: bool) -> XResult<()> {
        self.call("memory_mapping")
    }
    fn irq_permission(&self, _: DomId, _: u32, _: bool) -> XResult<()> {
        self.call("irq_permission")
    }
    fn bind_pt_irq(&self, _: DomId, _: u32) -> XResult<()> {
        self.call("bind_pt_irq")
    }
    fn assign_dt_device(&self, _: DomId, _: &str) -> XResult<()> {
        self.call("assign_dt_device")
    }
}

impl Physmap for Sim {
    fn add_to_physmap(&self, _: u32, _: u64, _: u64) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
    fn map_foreign(&self, _: DomId, _: &[u64], _: &[u64], _: &mut [i32]) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
    fn remove_from_physmap(&self, _: u64) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
    fn populate_physmap(&self, _: DomId, gfns: &mut [u64], order: u32) -> XResult<usize> {
        self.call("populate")?;
        let mut p = self.populated.borrow_mut();
        for &g in gfns.iter() {
            assert_eq!(g % (1 << order), 0, "unaligned extent");
            for k in 0..1u64 << order {
                assert!(p.insert(g + k), "gfn {:#x} populated twice", g + k);
            }
        }
        Ok(gfns.len())
    }
}

impl EventChannels for Sim {
    fn alloc_unbound(&self, d: DomId, remote: DomId) -> XResult<u32> {
        assert_eq!((d, remote), (7, 0));
        self.call("alloc_unbound")?;
        Ok(self.calls.borrow().iter().filter(|c| **c == "alloc_unbound").count() as u32)
    }
    fn bind_interdomain(&self, _: DomId, _: u32) -> XResult<u32> {
        Err(Errno::ENOSYS)
    }
    fn bind_virq(&self, _: u32, _: u32) -> XResult<u32> {
        Err(Errno::ENOSYS)
    }
    fn send(&self, _: u32) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
    fn close(&self, _: u32) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
    fn status(&self, _: DomId, _: u32) -> XResult<(EvtchnState, u32)> {
        Err(Errno::ENOSYS)
    }
    fn unmask(&self, _: u32) -> XResult<()> {
        Err(Errno::ENOSYS)
    }
}

impl HvmParams for Sim {
    fn set_param(&self, _: DomId, i: u32, v: u64) -> XResult<()> {
        self.call("set_param")?;
        self.params.borrow_mut().insert(i, v);
        Ok(())
    }
    fn get_param(&self, _: DomId, i: u32) -> XResult<u64> {
        self.params.borrow().get(&i).copied().ok_or(Errno::EINVAL)
    }
}

/// Guest memory as a sparse byte map.
#[derive(Default)]
struct Mem(BTreeMap<u64, u8>);

impl GuestMemory for Mem {
    fn write(&mut self, _: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        for (i, &b) in data.iter().enumerate() {
            self.0.insert(gpa + i as u64, b);
        }
        Ok(())
    }
    fn zero(&mut self, d: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        self.write(d, gpa, &alloc::vec![0; len as usize])
    }
}

fn kernel() -> Vec<u8> {
    crate::image::tests::image(0x3000, Some(0x3000))
}

fn spec<'a>(k: &'a [u8], rd: &'a [u8], io: &'a [Iomem], irqs: &'a [u32]) -> GuestSpec<'a> {
    GuestSpec {
        name: "t",
        memory_mib: 64,
        max_memory_mib: 64,
        vcpus: 1,
        gic: GicVersion::V3,
        cmdline: "console=hvc0",
        kernel: k,
        ramdisk: Some(rd),
        max_grant_frames: -1,
        max_maptrack_frames: -1,
        iomem: io,
        irqs,
        dtdev: &[],
        partial_dt: None,
        xen_version: "4.17",
        handle: [7; 16],
    }
}

#[test]
fn builds_a_guest() {
    let (k, rd) = (kernel(), [9u8; 3000]);
    let io = [Iomem { mfn: 0x9000, nr: 1, gfn: 0x9000 }];
    let sim = Sim::default();
    let mut mem = Mem::default();
    let dtdev = [String::from("/pl031@9010000")];
    let pt = partial_dt(true);
    let mut s = spec(&k, &rd, &io, &[33]);
    s.dtdev = &dtdev;
    s.partial_dt = Some(&pt);
    let b = build(&sim, &mut mem, &s, 0).unwrap();
    assert_eq!(b.domid, 7);
    assert_eq!((b.console_port, b.store_port), (1, 2));
    assert_eq!((b.console_gfn, b.store_gfn), (0x39000, 0x39001));
    // RAM (64 MiB) and 4 magic pages populated exactly once.
    assert_eq!(sim.populated.borrow().len(), 64 * 256 + 4);
    let params = sim.params.borrow();
    assert_eq!(params[&hvm::HVM_PARAM_STORE_PFN], 0x39001);
    assert_eq!(params[&hvm::HVM_PARAM_CONSOLE_EVTCHN], 1);
    // libxl sets the upcall PPI: type PPI (2) in the top byte, active-low level flag 2, PPI 31.
    assert_eq!(params[&hvm::HVM_PARAM_CALLBACK_IRQ], 0x0200_0000_0000_021f);
    // Kernel at RAM base, x0 = DTB, DTB and initrd loaded where planned.
    assert_eq!(*sim.ctx.borrow(), Some((0x4000_0000, b.layout.dtb_base)));
    assert_eq!(mem.0[&(0x4000_0000 + 0x38)], b'A');
    assert_eq!(mem.0[&b.layout.dtb_base], 0xd0);
    assert_eq!(mem.0[&b.layout.initrd.unwrap().0], 9);
    let calls = sim.calls.borrow();
    assert_eq!(&calls[..5], ["create", "max_vcpus", "address_size", "max_mem", "paging_pool"]);
    assert!(calls.contains(&"bind_pt_irq") && calls.contains(&"memory_mapping"));
    assert!(calls.contains(&"assign_dt_device"));
    assert_eq!(calls.last(), Some(&"vcpu_context"));
    assert!(!calls.contains(&"destroy"));
    // The guest's DT carries the partial tree's /passthrough and /aliases
    // nodes, properties and children unchanged.
    let dtb: Vec<u8> = (0..0x1_0000).map_while(|i| mem.0.get(&(b.layout.dtb_base + i)).copied()).collect();
    let t = ::fdt::Fdt::new(&dtb).unwrap();
    let rtc = t.find_node("/passthrough/rtc@9010000").expect("passthrough device copied");
    assert_eq!(rtc.compatible().unwrap().all().collect::<Vec<_>>(), ["arm,pl031", "arm,primecell"]);
    assert_eq!(rtc.property("interrupts").unwrap().value, [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4]);
    assert_eq!(t.find_node("/aliases").unwrap().property("rtc0").unwrap().as_str(), Some("/passthrough/rtc@9010000"));
    assert!(t.find_node("/hypervisor").is_some(), "the generated nodes are still there");
}

/// A partial device tree as `device_tree` names it (libxl's format).
fn partial_dt(with_passthrough: bool) -> Vec<u8> {
    let mut w = vm_fdt::FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();
    let name = if with_passthrough { "passthrough" } else { "elsewhere" };
    let pt = w.begin_node(name).unwrap();
    w.property_string("compatible", "simple-bus").unwrap();
    w.property_null("ranges").unwrap();
    let rtc = w.begin_node("rtc@9010000").unwrap();
    w.property_string_list("compatible", alloc::vec!["arm,pl031".into(), "arm,primecell".into()]).unwrap();
    w.property_array_u64("reg", &[0x0901_0000, 0x1000]).unwrap();
    w.property_array_u32("interrupts", &[0, 2, 4]).unwrap();
    w.end_node(rtc).unwrap();
    w.end_node(pt).unwrap();
    let al = w.begin_node("aliases").unwrap();
    w.property_string("rtc0", "/passthrough/rtc@9010000").unwrap();
    w.end_node(al).unwrap();
    w.end_node(root).unwrap();
    w.finish().unwrap()
}

#[test]
fn bad_partial_device_trees_fail_before_creating_anything() {
    let k = kernel();
    for (blob, want) in [
        (partial_dt(false), "has no /passthrough node"),
        (alloc::vec![0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 9], "is not a valid DTB"),
        (partial_dt(true)[..100].to_vec(), "is not a valid DTB"),
    ] {
        let sim = Sim::default();
        let mut s = spec(&k, &[], &[], &[]);
        s.partial_dt = Some(&blob);
        let e = build(&sim, &mut Mem::default(), &s, 0).unwrap_err();
        assert_eq!(e.step, Step::DeviceTree);
        assert!(e.to_string().contains(want), "{e}");
        assert!(sim.calls.borrow().is_empty(), "no domain for a bad partial DT");
    }
}

fn with_dtdev<'a>(mut s: GuestSpec<'a>, dtdev: &'a [String]) -> GuestSpec<'a> {
    s.dtdev = dtdev;
    s
}

#[test]
fn any_failing_step_destroys_the_domain() {
    let (k, rd) = (kernel(), [1u8; 100]);
    let io = [Iomem { mfn: 0x9000, nr: 1, gfn: 0x9000 }];
    let dtdev = [String::from("/pl061@9030000")];
    let total = {
        let sim = Sim::default();
        build(&sim, &mut Mem::default(), &with_dtdev(spec(&k, &rd, &io, &[40]), &dtdev), 0).unwrap();
        let n = sim.calls.borrow().len();
        n
    };
    for n in 1..=total {
        let sim = Sim { fail_at: Some(n), ..Default::default() };
        let e = build(&sim, &mut Mem::default(), &with_dtdev(spec(&k, &rd, &io, &[40]), &dtdev), 0).unwrap_err();
        assert_eq!(e.cause, Cause::Xen(Errno::ENOMEM), "call {n}");
        assert!(sim.domains.borrow().is_empty(), "domain leaked when call {n} failed ({})", e.step);
        assert_eq!(e.domid.is_some(), n > 1);
        assert!(e.to_string().contains("Xen returned ENOMEM"), "{e}");
    }
}

#[test]
fn bad_kernels_fail_before_creating_anything() {
    let sim = Sim::default();
    let k = kernel();
    let e = build(&sim, &mut Mem::default(), &spec(&k[..0x2000], &[], &[], &[]), 0).unwrap_err();
    assert_eq!(e.step, Step::Kernel);
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(sim.calls.borrow().is_empty());
    let mut s = spec(&k, &[], &[], &[]);
    s.memory_mib = 1 << 30;
    let e = build(&sim, &mut Mem::default(), &s, 0).unwrap_err();
    assert_eq!(e.step, Step::Layout);
}

#[test]
fn pool_and_spis() {
    assert_eq!(paging_pool_bytes(64, 1), 4 * (256 + 128) * 1024);
    assert_eq!(nr_spis(&[]), 0);
    assert_eq!(nr_spis(&[33, 40]), 9);
}

/// Guest memory that records the steps the build reports and where it
/// writes.
#[derive(Default)]
struct Steps(Vec<Step>, Vec<(Step, u64)>);

impl GuestMemory for Steps {
    fn write(&mut self, _: DomId, gpa: u64, _: &[u8]) -> Result<(), Errno> {
        self.1.push((*self.0.last().unwrap(), gpa));
        Ok(())
    }
    fn zero(&mut self, d: DomId, gpa: u64, _: u64) -> Result<(), Errno> {
        self.write(d, gpa, &[])
    }
    fn step(&mut self, step: Step) {
        self.0.push(step);
    }
}

#[test]
fn steps_are_reported_in_order_before_their_work() {
    let (k, rd) = (kernel(), [9u8; 3000]);
    let mut mem = Steps::default();
    let b = build(&Sim::default(), &mut mem, &spec(&k, &rd, &[], &[]), 0).unwrap();
    use Step::{ClearMagic, LoadDtb, LoadKernel, LoadRamdisk, VcpuContext};
    let want = [
        Step::Kernel,
        Step::DeviceTree,
        Step::CreateDomain,
        Step::MaxVcpus,
        Step::PopulateRam,
        Step::EventChannels,
        ClearMagic,
        LoadKernel,
        LoadRamdisk,
        LoadDtb,
        VcpuContext,
    ];
    assert_eq!(mem.0, want, "no passthrough: no passthrough step");
    let (kb, (rb, _)) = (b.layout.kernel_base, b.layout.initrd.unwrap());
    assert_eq!(
        mem.1,
        [(ClearMagic, g::GUEST_MAGIC_BASE), (LoadKernel, kb), (LoadRamdisk, rb), (LoadDtb, b.layout.dtb_base)]
    );
    let tags: Vec<&str> = mem.0.iter().map(|s| s.tag()).collect();
    assert_eq!(tags[..5], ["image", "dt", "createdomain", "domctls", "populate"]);
    let io = [Iomem { mfn: 0x9000, nr: 1, gfn: 0x9000 }];
    let mut mem = Steps::default();
    build(&Sim::default(), &mut mem, &spec(&k, &rd, &io, &[]), 0).unwrap();
    assert_eq!(mem.0[mem.0.len() - 2..], [Step::Iomem, VcpuContext]);
}
