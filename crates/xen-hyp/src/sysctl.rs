//! `sysctl`: host information, the domain list, Xen's console ring.

use crate::{addr, Errno, Hypercall, Result, Xen};
use alloc::vec::Vec;
use xen_abi::{hypercall as hc, sysctl as abi};
use zerocopy::{FromBytes, IntoBytes};

/// `xen_sysctl_physinfo`, decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhysInfo {
    pub nr_cpus: u32,
    pub threads_per_core: u32,
    pub cores_per_socket: u32,
    pub nr_nodes: u32,
    pub cpu_khz: u32,
    pub capabilities: u32,
    pub total_pages: u64,
    pub free_pages: u64,
    pub scrub_pages: u64,
    pub outstanding_pages: u64,
    pub max_mfn: u64,
}

/// A domain's run state as `xl list` shows it (`rbpscd`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainState {
    pub running: bool,
    pub blocked: bool,
    pub paused: bool,
    pub shutdown: bool,
    pub crashed: bool,
    pub dying: bool,
}

impl DomainState {
    /// Six-letter state as in `xl list`.
    pub fn letters(&self) -> [u8; 6] {
        let f = |b: bool, c: u8| if b { c } else { b'-' };
        [
            f(self.running, b'r'),
            f(self.blocked, b'b'),
            f(self.paused, b'p'),
            f(self.shutdown, b's'),
            f(self.crashed, b'c'),
            f(self.dying, b'd'),
        ]
    }
}

/// `xen_domctl_getdomaininfo`, decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainInfo {
    pub domid: u16,
    pub flags: u32,
    pub tot_pages: u64,
    pub max_pages: u64,
    pub cpu_time_ns: u64,
    pub nr_online_vcpus: u32,
    pub max_vcpu_id: u32,
    pub handle: [u8; 16],
    pub cpupool: u32,
}

impl DomainInfo {
    pub(crate) fn from_abi(d: &abi::DomctlGetdomaininfo) -> Self {
        DomainInfo {
            domid: d.domain,
            flags: d.flags,
            tot_pages: d.tot_pages,
            max_pages: d.max_pages,
            cpu_time_ns: d.cpu_time,
            nr_online_vcpus: d.nr_online_vcpus,
            max_vcpu_id: d.max_vcpu_id,
            handle: d.handle,
            cpupool: d.cpupool,
        }
    }

    /// The guest-supplied shutdown code (`SHUTDOWN_*`), if shut down.
    pub fn shutdown_reason(&self) -> Option<u32> {
        (self.flags & abi::XEN_DOMINF_SHUTDOWN != 0)
            .then_some((self.flags >> abi::XEN_DOMINF_SHUTDOWNSHIFT) & abi::XEN_DOMINF_SHUTDOWNMASK)
    }

    /// Run state as `xl list` derives it.
    pub fn state(&self) -> DomainState {
        let shutdown = self.shutdown_reason();
        DomainState {
            running: self.flags & abi::XEN_DOMINF_RUNNING != 0,
            blocked: self.flags & abi::XEN_DOMINF_BLOCKED != 0,
            paused: self.flags & abi::XEN_DOMINF_PAUSED != 0,
            shutdown: shutdown.is_some_and(|r| r != xen_abi::sched::SHUTDOWN_CRASH),
            crashed: shutdown == Some(xen_abi::sched::SHUTDOWN_CRASH),
            dying: self.flags & abi::XEN_DOMINF_DYING != 0,
        }
    }

    /// Memory in KiB (pages are 4 KiB).
    pub fn mem_kib(&self) -> u64 {
        self.tot_pages * 4
    }

    /// Number of vCPUs (`max_vcpu_id + 1`).
    pub fn vcpus(&self) -> u32 {
        self.max_vcpu_id.wrapping_add(1)
    }
}

/// Most domains fetched per `getdomaininfolist` call.
const DOMAIN_BATCH: usize = 32;

impl<H: Hypercall> Xen<H> {
    /// Issues a sysctl whose payload is `T`.
    fn sysctl<T: IntoBytes + FromBytes + zerocopy::Immutable>(&self, cmd: u32, payload: &mut T) -> Result<()> {
        let mut s = abi::Sysctl { cmd, interface_version: abi::XEN_SYSCTL_INTERFACE_VERSION, u: [0; 128] };
        let bytes = payload.as_bytes();
        s.u[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: `s` is a live `struct xen_sysctl`; any guest handle inside
        // the payload was set by the caller to memory it keeps alive.
        Errno::check(unsafe { self.h.call(hc::SYSCTL, [addr(&s), 0, 0, 0, 0]) })?;
        let n = core::mem::size_of::<T>();
        payload.as_mut_bytes().copy_from_slice(&s.u[..n]);
        Ok(())
    }

    /// `XEN_SYSCTL_physinfo`.
    pub fn physinfo(&self) -> Result<PhysInfo> {
        let mut p = abi::SysctlPhysinfo::default();
        self.sysctl(abi::XEN_SYSCTL_PHYSINFO, &mut p)?;
        Ok(PhysInfo {
            nr_cpus: p.nr_cpus,
            threads_per_core: p.threads_per_core,
            cores_per_socket: p.cores_per_socket,
            nr_nodes: p.nr_nodes,
            cpu_khz: p.cpu_khz,
            capabilities: p.capabilities,
            total_pages: p.total_pages,
            free_pages: p.free_pages,
            scrub_pages: p.scrub_pages,
            outstanding_pages: p.outstanding_pages,
            max_mfn: p.max_mfn,
        })
    }

    /// `XEN_SYSCTL_sched_id`: the scheduler's `XEN_SCHEDULER_*` id.
    pub fn sched_id(&self) -> Result<u32> {
        let mut p = abi::SysctlSchedId::default();
        self.sysctl(abi::XEN_SYSCTL_SCHED_ID, &mut p)?;
        Ok(p.sched_id)
    }

    /// All domains, by `XEN_SYSCTL_getdomaininfolist` in batches.
    pub fn domains(&self) -> Result<Vec<DomainInfo>> {
        let mut out = Vec::new();
        let mut first: u32 = 0;
        let mut buf = alloc::vec![abi::DomctlGetdomaininfo::default(); DOMAIN_BATCH];
        while first < u32::from(xen_abi::DOMID_FIRST_RESERVED) {
            let mut p = abi::SysctlGetdomaininfolist {
                first_domain: first as u16,
                max_domains: DOMAIN_BATCH as u32,
                buffer: addr(&buf[..]),
                ..Default::default()
            };
            self.sysctl(abi::XEN_SYSCTL_GETDOMAININFOLIST, &mut p)?;
            let n = (p.num_domains as usize).min(DOMAIN_BATCH);
            out.extend(buf[..n].iter().map(DomainInfo::from_abi));
            match buf[..n].last() {
                Some(last) if n == DOMAIN_BATCH => first = u32::from(last.domain) + 1,
                _ => break,
            }
            buf.iter_mut().for_each(|d| *d = Default::default());
        }
        Ok(out)
    }

    /// `XEN_SYSCTL_readconsole`: copies Xen's console ring into `buf`.
    /// With `index = Some(i)` reads incrementally from ring index `i`.
    /// Returns `(bytes written, next index)`.
    pub fn read_console(&self, buf: &mut [u8], index: Option<u32>, clear: bool) -> Result<(usize, u32)> {
        let mut p = abi::SysctlReadconsole {
            clear: clear as u8,
            incremental: index.is_some() as u8,
            index: index.unwrap_or(0),
            buffer: addr(&*buf),
            count: buf.len().min(u32::MAX as usize) as u32,
            ..Default::default()
        };
        self.sysctl(abi::XEN_SYSCTL_READCONSOLE, &mut p)?;
        Ok(((p.count as usize).min(buf.len()), p.index))
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::SimXen;
    use crate::Xen;

    #[test]
    fn physinfo_decodes() {
        let x = Xen::new(SimXen::new(3));
        let p = x.physinfo().unwrap();
        assert_eq!(p.nr_cpus, 2);
        assert_eq!(p.total_pages, 524288);
        assert_eq!(p.free_pages, 400000);
    }

    #[test]
    fn domain_list_batches_across_calls() {
        // 70 domains force three getdomaininfolist calls of 32.
        let sim = SimXen::new(70);
        let x = Xen::new(sim);
        let ds = x.domains().unwrap();
        assert_eq!(ds.len(), 70);
        assert_eq!(ds[0].domid, 0);
        assert_eq!(ds[69].domid, 69 * 2);
        assert_eq!(ds[5].mem_kib(), 5 * 256 * 4);
        assert_eq!(x.raw().calls.borrow().iter().filter(|c| **c == 6).count(), 3);
    }

    #[test]
    fn wrong_interface_version_is_named() {
        let mut sim = SimXen::new(1);
        sim.sysctl_version = 0x16;
        sim.version = (4 << 16) | 18;
        let err = Xen::new(sim).check_interface().unwrap_err();
        assert!(err.contains("Xen 4.17"), "{err}");
        assert!(err.contains("Xen 4.18"), "{err}");
        assert!(err.contains("0x15"), "{err}");
        assert!(err.contains("EACCES"), "{err}");
    }

    #[test]
    fn right_interface_version_passes() {
        assert_eq!(Xen::new(SimXen::new(1)).check_interface(), Ok(()));
    }

    #[test]
    fn readconsole_incremental() {
        let x = Xen::new(SimXen::new(1));
        let mut buf = [0u8; 8];
        let (n, idx) = x.read_console(&mut buf, Some(0), false).unwrap();
        assert_eq!(&buf[..n], b"(XEN) he");
        let (n, _) = x.read_console(&mut buf, Some(idx), false).unwrap();
        assert_eq!(&buf[..n], b"llo\n");
    }
}
