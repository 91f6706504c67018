//! Each wrapper against the simulated Xen: the hypercall and command
//! numbers, the interface version, every argument field at the offset the
//! Xen 4.17 C header gives it (checked on the raw bytes, independently of
//! our `repr(C)` structs), and how Xen's errors come back.

use crate::sim::{SimXen, SIM_VIRT_START};
use crate::{
    DomainConfig, Domctls, Errno, EventChannels, EvtchnState, GrantError, GrantTables, GuestPhysmap, HvmParams,
    InterfaceVersions, Physmap, Xen,
};
use xen_abi::{domctl as d, event_channel as ev, grant_table as gt, hypercall as hc, memory as mem, DOMID_SELF};

fn xen() -> Xen<SimXen> {
    Xen::new(SimXen::new(1))
}

// --- event_channel.h ---

#[test]
fn evtchn_send_close_unmask_pass_the_port() {
    let x = xen();
    for (cmd, f) in [
        (ev::EVTCHNOP_SEND, &(|x: &Xen<SimXen>| x.send(11)) as &dyn Fn(&Xen<SimXen>) -> crate::Result<()>),
        (ev::EVTCHNOP_CLOSE, &|x: &Xen<SimXen>| EventChannels::close(x, 11)),
        (ev::EVTCHNOP_UNMASK, &|x: &Xen<SimXen>| x.unmask(11)),
    ] {
        assert_eq!(f(&x), Ok(()));
        let c = x.raw().last(hc::EVENT_CHANNEL_OP);
        assert_eq!(c.args[0], cmd);
        // struct evtchn_send/close/unmask { evtchn_port_t port; }
        assert_eq!(c.bytes.len(), 4);
        assert_eq!(c.u32_at(0), 11);
        x.raw().fail_next(-22);
        assert_eq!(f(&x), Err(Errno::EINVAL), "cmd {cmd}");
    }
}

#[test]
fn evtchn_bind_virq_fields_and_result() {
    let x = xen();
    assert_eq!(EventChannels::bind_virq(&x, ev::VIRQ_DOM_EXC, 1), Ok(5), "the first free port");
    let c = x.raw().last(hc::EVENT_CHANNEL_OP);
    assert_eq!(c.args[0], 1, "EVTCHNOP_bind_virq");
    // struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; }
    assert_eq!((c.u32_at(0), c.u32_at(4)), (3, 1));
    x.raw().fail_next(-17);
    assert_eq!(EventChannels::bind_virq(&x, ev::VIRQ_DOM_EXC, 0), Err(Errno::EEXIST));
}

#[test]
fn evtchn_alloc_bind_status_fields() {
    let x = xen();
    assert_eq!(x.alloc_unbound(DOMID_SELF, 4), Ok(5));
    let c = x.raw().last(hc::EVENT_CHANNEL_OP);
    // struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; }
    assert_eq!((c.args[0], c.u16_at(0), c.u16_at(2)), (6, DOMID_SELF, 4));
    assert_eq!(x.bind_interdomain(4, 5), Ok(6));
    let c = x.raw().last(hc::EVENT_CHANNEL_OP);
    // struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; }
    assert_eq!((c.args[0], c.u16_at(0), c.u32_at(4)), (0, 4, 5));
    assert_eq!(x.status(4, 6), Ok((EvtchnState::Interdomain { remote: 0, remote_port: 5 }, 0)));
    let c = x.raw().last(hc::EVENT_CHANNEL_OP);
    // struct evtchn_status { domid_t dom; evtchn_port_t port; uint32_t status, vcpu; union u; }
    assert_eq!((c.args[0], c.u16_at(0), c.u32_at(4)), (5, 4, 6));
    x.raw().fail_next(-3);
    assert_eq!(x.status(9, 1), Err(Errno::ESRCH));
}

// --- grant_table.h ---

#[test]
fn gnttab_query_size_fields_and_status() {
    let x = xen();
    assert_eq!(x.query_size(DOMID_SELF), Ok((1, 64)));
    let c = x.raw().last(hc::GRANT_TABLE_OP);
    // GNTTABOP_query_size on one struct gnttab_query_size { domid_t dom; ... }
    assert_eq!((c.args[0], c.args[2], c.u16_at(0)), (6, 1, DOMID_SELF));
    x.raw().gnttab_status.set(-2);
    assert_eq!(x.query_size(3), Err(Errno::EINVAL));
}

#[test]
fn gnttab_map_fields() {
    let x = xen();
    assert_eq!(x.map_grant(3, 4, 0x4040_1000, true), Ok(46));
    let c = x.raw().last(hc::GRANT_TABLE_OP);
    // struct gnttab_map_grant_ref { u64 host_addr; u32 flags; grant_ref_t ref; domid_t dom; ... }
    assert_eq!((c.args[0], c.args[2]), (0, 1));
    assert_eq!(c.u64_at(0), 0x4040_1000);
    assert_eq!(c.u32_at(8), 2 | 4, "GNTMAP_host_map | GNTMAP_readonly");
    assert_eq!((c.u32_at(12), c.u16_at(16)), (4, 3));
}

#[test]
fn gnttab_unmap_fields_and_errors() {
    let x = xen();
    assert_eq!(x.unmap_grant(0x4040_2000, 77), Ok(()));
    let c = x.raw().last(hc::GRANT_TABLE_OP);
    // struct gnttab_unmap_grant_ref { u64 host_addr; u64 dev_bus_addr; grant_handle_t handle; int16_t status; }
    assert_eq!((c.args[0], c.args[2]), (1, 1));
    assert_eq!((c.u64_at(0), c.u64_at(8), c.u32_at(16)), (0x4040_2000, 0, 77));
    x.raw().gnttab_status.set(-4);
    assert_eq!(x.unmap_grant(0x4040_2000, 77), Err(GrantError::Status(-4)));
    x.raw().fail_next(-14);
    assert_eq!(x.unmap_grant(0x4040_2000, 77), Err(GrantError::Hypercall(Errno::EFAULT)));
}

#[test]
fn gnttab_copy_batch_fields_and_status() {
    let x = xen();
    let op = |u, off| gt::GnttabCopy {
        source: gt::GnttabCopyPtr { u, domid: 2, offset: off, _pad: 0 },
        dest: gt::GnttabCopyPtr { u: 0x4_0123, domid: DOMID_SELF, offset: 200, _pad: 0 },
        len: 64,
        flags: gt::GNTCOPY_SOURCE_GREF,
        ..Default::default()
    };
    let mut ops = [op(8, 100), op(9, 300)];
    x.raw().gnttab_status.set(-3);
    assert_eq!(x.copy(&mut ops), Ok(()));
    assert_eq!([ops[0].status, ops[1].status], [-3, -3], "per-op status filled in");
    let c = x.raw().last(hc::GRANT_TABLE_OP);
    assert_eq!((c.args[0], c.args[2]), (5, 2), "GNTTABOP_copy of 2");
    // struct gnttab_copy { {u, domid, offset} source, dest; u16 len; u16 flags; int16_t status; } = 40 bytes
    for (i, (gref, off)) in [(8u64, 100u16), (9, 300)].into_iter().enumerate() {
        let b = i * 40;
        assert_eq!((c.u64_at(b), c.u16_at(b + 8), c.u16_at(b + 10)), (gref, 2, off));
        assert_eq!((c.u64_at(b + 16), c.u16_at(b + 24), c.u16_at(b + 26)), (0x4_0123, DOMID_SELF, 200));
        assert_eq!((c.u16_at(b + 32), c.u16_at(b + 34)), (64, 1));
    }
    x.raw().fail_next(-22);
    assert_eq!(x.copy(&mut ops), Err(Errno::EINVAL));
}

// --- memory.h ---

#[test]
fn add_to_physmap_fields() {
    let x = xen();
    assert_eq!(Physmap::add_to_physmap(&x, mem::XENMAPSPACE_GRANT_TABLE, 3, 0x40203), Ok(()));
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space; xen_ulong_t idx; xen_pfn_t gpfn; }
    assert_eq!(c.args[0], 7, "XENMEM_add_to_physmap");
    assert_eq!((c.u16_at(0), c.u16_at(2), c.u32_at(4)), (DOMID_SELF, 0, 1));
    assert_eq!((c.u64_at(8), c.u64_at(16)), (3, 0x40203));
    x.raw().fail_next(-22);
    assert_eq!(Physmap::add_to_physmap(&x, 0, 0, 1), Err(Errno::EINVAL));
}

#[test]
fn remove_from_physmap_fields() {
    let x = xen();
    assert_eq!(x.remove_from_physmap(0x40400), Ok(()));
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_remove_from_physmap { domid_t domid; xen_pfn_t gpfn; }
    assert_eq!((c.args[0], c.u16_at(0), c.u64_at(8)), (15, DOMID_SELF, 0x40400));
    x.raw().fail_next(-2);
    assert_eq!(x.remove_from_physmap(1), Err(Errno::ENOENT));
}

#[test]
fn physmap_of_another_domain_fields_and_state() {
    let x = xen();
    let dom = x.create_domain(&DomainConfig::default()).unwrap();
    assert_eq!(x.add_to_physmap_of(dom, mem::XENMAPSPACE_GRANT_TABLE, 0, 0x38000), Ok(()));
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space; xen_ulong_t idx; xen_pfn_t gpfn; }
    assert_eq!(c.args[0], 7, "XENMEM_add_to_physmap");
    assert_eq!((c.u16_at(0), c.u16_at(2), c.u32_at(4)), (dom, 0, 1));
    assert_eq!((c.u64_at(8), c.u64_at(16)), (0, 0x38000));
    assert_eq!(x.raw().guest_physmap_pages(), 1);
    assert_eq!(x.add_to_physmap_of(99, mem::XENMAPSPACE_GRANT_TABLE, 0, 1), Err(Errno::ESRCH), "no such domain");
    assert_eq!(x.remove_from_physmap_of(dom, 0x38000), Ok(()));
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_remove_from_physmap { domid_t domid; xen_pfn_t gpfn; }
    assert_eq!((c.args[0], c.u16_at(0), c.u64_at(8)), (15, dom, 0x38000));
    assert_eq!(x.raw().guest_physmap_pages(), 0);
    assert_eq!(x.remove_from_physmap_of(dom, 0x38000), Err(Errno::ENOENT), "nothing left to remove");
    assert_eq!(x.raw().foreign_pages(), 0, "Dom0's own physmap untouched");
}

#[test]
fn cacheflush_fields_and_chunks() {
    let x = xen();
    let n = crate::CACHEFLUSH_MAX_PAGES;
    assert_eq!(x.cacheflush(5, 0x40080, 2 * n + 3), Ok(()));
    let (cmd, ver, dom, c) = domctl(&x);
    // struct xen_domctl_cacheflush { xen_pfn_t start_pfn, nr_pfns; } at u (offset 16).
    assert_eq!((cmd, ver, dom), (71, 0x15, 5), "XEN_DOMCTL_cacheflush");
    assert_eq!((c.u64_at(16), c.u64_at(24)), (0x40080 + 2 * n, 3));
    let flushed = x.raw().state.borrow().flushed.clone();
    assert_eq!(flushed, [(5, 0x40080, n), (5, 0x40080 + n, n), (5, 0x40080 + 2 * n, 3)]);
    assert_eq!(x.cacheflush(5, 1, 0), Ok(()));
    assert_eq!(x.raw().state.borrow().flushed.len(), 3, "nothing to flush, no call");
    assert_eq!(x.cacheflush(5, u64::MAX, 2), Err(Errno::EINVAL), "a range that wraps");
    x.raw().fail_next(-3);
    assert_eq!(x.cacheflush(5, 1, 1), Err(Errno::ESRCH));
}

#[test]
fn populate_physmap_fields_and_partial_count() {
    let x = xen();
    let mut gfns = [0x40000, 0x40200, 0, 0x40600];
    let at = gfns.as_ptr() as u64;
    assert_eq!(x.populate_physmap(3, &mut gfns, 9), Ok(2), "Xen's count of extents populated");
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_memory_reservation { handle extent_start; xen_ulong_t nr_extents;
    //   unsigned int extent_order, mem_flags; domid_t domid; }
    assert_eq!(c.args[0], 6, "XENMEM_populate_physmap");
    assert_eq!((c.u64_at(0), c.u64_at(8), c.u32_at(16), c.u32_at(20), c.u16_at(24)), (at, 4, 9, 0, 3));
    x.raw().fail_next(-12);
    assert_eq!(x.populate_physmap(3, &mut gfns, 0), Err(Errno::ENOMEM));
}

#[test]
fn add_to_physmap_batch_fields() {
    let x = xen();
    let (gfns, gpfns, mut errs) = ([0x40000u64, 0x40002], [0x50000u64, 0x50001], [0i32; 2]);
    x.map_foreign(3, &gfns, &gpfns, &mut errs).unwrap();
    let c = x.raw().last(hc::MEMORY_OP);
    // struct xen_add_to_physmap_batch { domid_t domid; uint16_t space; uint16_t size;
    //   union { domid_t foreign_domid; } u; handles idxs, gpfns, errs; }
    assert_eq!(c.args[0], 23);
    assert_eq!((c.u16_at(0), c.u16_at(2), c.u16_at(4), c.u16_at(6)), (DOMID_SELF, 4, 2, 3));
    assert_eq!(c.u64_at(8), gfns.as_ptr() as u64);
    assert_eq!(c.u64_at(16), gpfns.as_ptr() as u64);
    assert_eq!(c.u64_at(24), errs.as_ptr() as u64);
}

#[test]
fn sharing_counts_treat_enosys_as_zero() {
    let x = xen();
    assert_eq!(x.sharing_freed_pages(), Ok(0));
    assert_eq!(x.raw().last(hc::MEMORY_OP).args[..2], [18, 0]);
    assert_eq!(x.sharing_used_frames(), Ok(0));
    assert_eq!(x.raw().last(hc::MEMORY_OP).args[..2], [19, 0]);
    x.raw().fail_next(-38);
    assert_eq!(x.sharing_used_frames(), Ok(0));
    x.raw().fail_next(12);
    assert_eq!(x.sharing_freed_pages(), Ok(12));
    x.raw().fail_next(-1);
    assert_eq!(x.sharing_freed_pages(), Err(Errno::EPERM));
}

// --- domctl.h ---

/// The last domctl: `(cmd, interface_version, domain)` and the payload.
fn domctl(x: &Xen<SimXen>) -> (u32, u32, u16, crate::sim::Call) {
    let c = x.raw().last(hc::DOMCTL);
    assert_eq!(c.bytes.len(), 144, "struct xen_domctl");
    // struct xen_domctl { uint32_t cmd; uint32_t interface_version; domid_t domain; u16 pad[3]; union u; }
    (c.u32_at(0), c.u32_at(4), c.u16_at(8), c)
}

#[test]
fn createdomain_fields() {
    let x = xen();
    let cfg = DomainConfig {
        handle: [0xab; 16],
        max_vcpus: 2,
        gic_version: 2,
        nr_spis: 32,
        max_grant_frames: 16,
        iommu: true,
        ..Default::default()
    };
    assert_eq!(x.create_domain(&cfg), Ok(7), "the domid Xen wrote back");
    let (cmd, ver, dom, c) = domctl(&x);
    assert_eq!((cmd, ver, dom), (1, 0x15, 0));
    // struct xen_domctl_createdomain at u (offset 16).
    let u = 16;
    assert_eq!(c.u32_at(u), 0, "ssidref");
    assert_eq!(&c.bytes[u + 4..u + 20], &[0xab; 16], "handle");
    assert_eq!(c.u32_at(u + 20), 1 | 2 | 32, "flags: CDF_hvm | CDF_hap | CDF_iommu");
    assert_eq!((c.u32_at(u + 28), c.u32_at(u + 32)), (2, 1023), "max_vcpus, max_evtchn_port");
    assert_eq!((c.u32_at(u + 36) as i32, c.u32_at(u + 40) as i32), (16, -1), "grant/maptrack frames");
    assert_eq!(c.u32_at(u + 44), 1, "grant_opts: max version 1");
    // struct xen_arch_domainconfig { uint8_t gic_version; uint16_t tee_type; uint32_t nr_spis; ... } at 56.
    assert_eq!((c.bytes[u + 56], c.u16_at(u + 58), c.u32_at(u + 60)), (2, 0, 32));
}

#[test]
fn simple_domctls_commands_and_payloads() {
    let x = xen();
    type Case<'a> = (u32, &'a dyn Fn(&Xen<SimXen>) -> crate::Result<()>, &'a [(usize, u64, usize)]);
    let ctx = d::VcpuGuestContext {
        flags: 0,
        _pad: 0,
        user_regs: zerocopy::FromZeros::new_zeroed(),
        sctlr: 0,
        ttbcr: 0,
        ttbr0: 0,
        ttbr1: 0,
    };
    let ctx_addr = &ctx as *const _ as u64;
    let dtdev = "/pl031@9010000";
    let dtdev_addr = dtdev.as_ptr() as u64;
    // (cmd, call, [(offset in u, value, width)]) from the C structs.
    let cases: [Case<'_>; 13] = [
        (2, &|x| x.destroy_domain(5), &[]),
        (3, &|x| x.pause_domain(5), &[]),
        (4, &|x| x.unpause_domain(5), &[]),
        (11, &|x| x.set_max_mem(5, 0x1_0000_0000), &[(0, 0x1_0000_0000, 8)]),
        (15, &|x| x.set_max_vcpus(5, 4), &[(0, 4, 4)]),
        (35, &|x| x.set_address_size(5, 64), &[(0, 64, 4)]),
        (86, &|x| x.set_paging_mempool(5, 0x40_0000), &[(0, 0x40_0000, 8)]),
        (12, &|x| x.set_vcpu_context(5, 1, &ctx), &[(0, 1, 4), (8, ctx_addr, 8)]),
        (20, &|x| x.iomem_permission(5, 0x9000, 3, true), &[(0, 0x9000, 8), (8, 3, 8), (16, 1, 1)]),
        (
            39,
            &|x| x.memory_mapping(5, 0x2_0000, 0x9000, 3, true),
            &[(0, 0x2_0000, 8), (8, 0x9000, 8), (16, 3, 8), (24, 1, 4)],
        ),
        (19, &|x| x.irq_permission(5, 40, true), &[(0, 40, 4), (4, 1, 1)]),
        // struct xen_domctl_bind_pt_irq: machine_irq, irq_type (PT_IRQ_TYPE_SPI = 4), then the 8-aligned union.
        (38, &|x| x.bind_pt_irq(5, 40), &[(0, 40, 4), (4, 4, 4), (8, 40, 2)]),
        // struct xen_domctl_assign_device: dev (XEN_DOMCTL_DEV_DT = 1), flags,
        // then the union's dt member: size, 8-aligned handle of the path.
        (37, &|x| x.assign_dt_device(5, dtdev), &[(0, 1, 4), (4, 0, 4), (8, 14, 4), (16, dtdev_addr, 8)]),
    ];
    for (want, call, fields) in cases {
        call(&x).unwrap();
        let (cmd, ver, dom, c) = domctl(&x);
        assert_eq!((cmd, ver, dom), (want, 0x15, 5), "domctl {want}");
        for &(off, val, width) in fields {
            let got = match width {
                1 => u64::from(c.bytes[16 + off]),
                2 => u64::from(c.u16_at(16 + off)),
                4 => u64::from(c.u32_at(16 + off)),
                _ => c.u64_at(16 + off),
            };
            assert_eq!(got, val, "domctl {want} field at {off}");
        }
        x.raw().fail_next(-3);
        assert_eq!(call(&x), Err(Errno::ESRCH), "domctl {want} error");
    }
    assert_eq!(x.bind_pt_irq(5, 70000), Err(Errno::EINVAL), "an SPI number beyond u16 is refused");
}

#[test]
fn destroydomain_retries_while_xen_is_busy() {
    let x = xen();
    x.raw().fail_next(-11);
    x.raw().fail_next(-85);
    assert_eq!(x.destroy_domain(4), Ok(()));
    assert_eq!(x.raw().log.borrow().iter().filter(|c| c.op == hc::DOMCTL).count(), 3);
}

#[test]
fn getdomaininfo_decodes() {
    let x = xen();
    let i = x.domain_info(6).unwrap();
    assert_eq!((i.domid, i.tot_pages, i.state().running), (6, 768, true), "the sim gives domain n n/2 * 256 pages");
    let (cmd, ver, dom, _) = domctl(&x);
    assert_eq!((cmd, ver, dom), (5, 0x15, 6));
}

#[test]
fn domctls_carry_our_interface_version() {
    let mut sim = SimXen::new(1);
    sim.domctl_version = 0x16;
    let x = Xen::new(sim);
    assert_eq!(x.pause_domain(1), Err(Errno::EACCES));
}

#[test]
fn hvm_params_fields() {
    let x = xen();
    x.set_param(3, 17, 0x3_0000).unwrap();
    let c = x.raw().last(hc::HVM_OP);
    // struct xen_hvm_param { domid_t domid; uint32_t index; uint64_t value; }
    assert_eq!((c.args[0], c.u16_at(0), c.u32_at(4), c.u64_at(8)), (0, 3, 17, 0x3_0000));
    assert_eq!(x.get_param(3, 18), Ok(0x1234));
    assert_eq!(x.raw().last(hc::HVM_OP).args[0], 1);
}

// --- version.h and the interface check ---

#[test]
fn version_info_has_pagesize_platform_and_build_id() {
    let v = xen().version_info().unwrap();
    assert_eq!((v.major, v.minor, v.extra.as_str()), (4, 17, ".5"));
    assert_eq!(v.pagesize, 4096);
    assert_eq!(v.virt_start, SIM_VIRT_START);
    assert_eq!(v.build_id, "7a23ea1e");
    let x = xen();
    x.raw().fail_next(-1);
    assert_eq!(x.pagesize(), Err(Errno::EPERM));
}

#[test]
fn interface_check_passes_on_417() {
    let x = xen();
    assert_eq!(x.check_interface(), Ok(()));
    // One sysctl and one domctl probe, both with our versions.
    let log = x.raw().log.borrow();
    let probes: Vec<_> = log.iter().filter(|c| c.op == hc::SYSCTL || c.op == hc::DOMCTL).collect();
    assert_eq!(probes.len(), 2);
    assert!(probes.iter().all(|c| c.u32_at(4) == 0x15));
}

#[test]
fn domctl_mismatch_is_found_by_probing_not_by_release() {
    // Xen 4.18 kept sysctl 0x15 but moved domctl to 0x16: a sysctl probe
    // alone would pass.
    let mut sim = SimXen::new(1);
    sim.domctl_version = 0x16;
    sim.version = (4 << 16) | 18;
    let err = Xen::new(sim).check_interface().unwrap_err();
    assert!(err.contains("thindom speaks sysctl 0x15 / domctl 0x15 (Xen 4.17)"), "{err}");
    assert!(err.contains("Xen 4.18 speaks sysctl 0x15 / domctl 0x16"), "{err}");
    assert!(err.contains("refused our domctl with EACCES"), "{err}");
}

#[test]
fn older_xen_versions_are_named() {
    let mut sim = SimXen::new(1);
    (sim.sysctl_version, sim.domctl_version, sim.version) = (0x13, 0x13, (4 << 16) | 15);
    let err = Xen::new(sim).check_interface().unwrap_err();
    assert!(err.contains("Xen 4.15 speaks sysctl 0x13 / domctl 0x13"), "{err}");
    assert!(err.contains("refused our sysctl and domctl"), "{err}");
    assert!(err.contains("management commands are disabled"), "{err}");
}

#[test]
fn unknown_versions_say_so() {
    let mut sim = SimXen::new(1);
    (sim.sysctl_version, sim.domctl_version) = (0x99, 0x15);
    let err = Xen::new(sim).check_interface().unwrap_err();
    assert!(err.contains("speaks sysctl none of 0x1..=0x40 / domctl 0x15"), "{err}");
}

#[test]
fn pretended_versions_are_checked_against_xen() {
    let err = xen().check_interface_as(InterfaceVersions { sysctl: 0x14, domctl: 0x14 }).unwrap_err();
    assert!(err.contains("thindom speaks sysctl 0x14 / domctl 0x14"), "{err}");
    assert!(err.contains("Xen 4.17 speaks sysctl 0x15 / domctl 0x15"), "{err}");
}

#[test]
fn probe_errors_other_than_eacces_are_reported() {
    let x = xen();
    x.raw().fail_next(-1);
    assert_eq!(x.check_interface(), Err("sysctl interface probe failed: EPERM (Operation not permitted)".into()));
}

// --- sysctl.h ---

#[test]
fn free_cpus_counts_the_freeinfo_bitmap() {
    let mut sim = SimXen::new(1);
    sim.free_cpu_mask = 0b1010;
    let x = Xen::new(sim);
    assert_eq!(x.free_cpus(3), Ok(2));
    let c = x.raw().last(hc::SYSCTL);
    // struct xen_sysctl_cpupool_op { u32 op, cpupool_id, sched_id, domid, cpu, n_dom; xenctl_bitmap cpumap; }
    assert_eq!((c.u32_at(0), c.u32_at(8)), (18, 7), "XEN_SYSCTL_cpupool_op FREEINFO");
    assert_eq!(c.u32_at(8 + 24 + 8), 8, "nr_bits: one byte for max_cpu_id 3");
    assert_eq!(xen().free_cpus(3), Ok(0));
}

#[test]
fn debug_keys_pass_the_keys() {
    let x = xen();
    x.debug_keys(b"t").unwrap();
    assert_eq!(*x.raw().keys.borrow(), b"t");
    let c = x.raw().last(hc::SYSCTL);
    // struct xen_sysctl_debug_keys { handle keys; uint32_t nr_keys; }
    assert_eq!((c.u32_at(0), c.u32_at(8 + 8)), (7, 1));
}

#[test]
fn read_console_all_stops_at_the_end_of_the_ring() {
    let mut sim = SimXen::new(1);
    *sim.console.borrow_mut() = vec![b'x'; 10_000];
    sim.console_growth = b"(XEN) more\n".to_vec();
    let x = Xen::new(sim);
    let all = x.read_console_all(1 << 20, false).unwrap();
    // The 10000 bytes there when reading started, plus what Xen appended
    // during the full reads; the short read ends it.
    assert_eq!(all.len(), 10_000 + 2 * 11);
}

#[test]
fn read_console_all_is_bounded_when_the_ring_keeps_growing() {
    // Each read adds a chunk's worth (our own output going to the ring with
    // console_to_ring): reading until a short read would never end.
    let mut sim = SimXen::new(1);
    *sim.console.borrow_mut() = vec![b'x'; 4096];
    sim.console_growth = vec![b'y'; 4096];
    let x = Xen::new(sim);
    let all = x.read_console_all(64 * 1024, false).unwrap();
    assert_eq!(all.len(), 64 * 1024);
    assert_eq!(x.raw().calls.borrow().len(), 16);
}
