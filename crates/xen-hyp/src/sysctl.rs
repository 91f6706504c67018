//! `sysctl`: host information, the domain list, Xen's console ring.

use crate::{addr, addr_mut, Errno, Hypercall, Result, Xen};
use alloc::vec::Vec;
use xen_abi::{hypercall as hc, sysctl as abi};
use zerocopy::{FromBytes, IntoBytes};

/// `xen_sysctl_physinfo`, decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhysInfo {
    pub nr_cpus: u32,
    /// Largest possible CPU id (`nr_cpu_ids - 1`).
    pub max_cpu_id: u32,
    pub threads_per_core: u32,
    pub cores_per_socket: u32,
    pub nr_nodes: u32,
    pub max_node_id: u32,
    pub cpu_khz: u32,
    /// `XEN_SYSCTL_PHYSCAP_*`.
    pub capabilities: u32,
    pub arch_capabilities: u32,
    /// `hw_cap[8]` (x86 CPUID words; zero on Arm).
    pub hw_cap: [u32; 8],
    pub total_pages: u64,
    pub free_pages: u64,
    pub scrub_pages: u64,
    pub outstanding_pages: u64,
    pub max_mfn: u64,
}

/// A domain's run state as `xl list` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainState {
    pub running: bool,
    pub blocked: bool,
    pub paused: bool,
    /// Shut down, for any reason (crash included).
    pub shutdown: bool,
    /// The guest's `SHUTDOWN_*` code, when shut down.
    pub shutdown_reason: Option<u32>,
    pub dying: bool,
}

/// `xl list`'s letters for shutdown reasons 0..=5 (poweroff, reboot,
/// suspend, crash, watchdog, soft_reset): `shutdown_reason_letters` in
/// tools/xl/xl_info.c.
const SHUTDOWN_REASON_LETTERS: &[u8; 6] = b"-rscwS";

impl DomainState {
    /// The six State letters of `xl list`: `r`unning, `b`locked,
    /// `p`aused, `s`hutdown, the shutdown reason (`-rscwS`, `?` for codes
    /// xl does not know) and `d`ying.
    pub fn letters(&self) -> [u8; 6] {
        let f = |b: bool, c: u8| if b { c } else { b'-' };
        let reason = match self.shutdown_reason {
            Some(r) if self.shutdown => SHUTDOWN_REASON_LETTERS.get(r as usize).copied().unwrap_or(b'?'),
            _ => b'-',
        };
        [
            f(self.running, b'r'),
            f(self.blocked, b'b'),
            f(self.paused, b'p'),
            f(self.shutdown, b's'),
            reason,
            f(self.dying, b'd'),
        ]
    }

    /// Shut down by a crash.
    pub fn crashed(&self) -> bool {
        self.shutdown_reason == Some(xen_abi::sched::SHUTDOWN_CRASH)
    }
}

/// `xen_domctl_getdomaininfo`, decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainInfo {
    pub domid: u16,
    pub flags: u32,
    pub tot_pages: u64,
    pub max_pages: u64,
    /// Pages claimed but not yet allocated (`xl list` counts them in Mem).
    pub outstanding_pages: u64,
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
            outstanding_pages: d.outstanding_pages,
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
        let shutdown_reason = self.shutdown_reason();
        DomainState {
            running: self.flags & abi::XEN_DOMINF_RUNNING != 0,
            blocked: self.flags & abi::XEN_DOMINF_BLOCKED != 0,
            paused: self.flags & abi::XEN_DOMINF_PAUSED != 0,
            shutdown: shutdown_reason.is_some(),
            shutdown_reason,
            dying: self.flags & abi::XEN_DOMINF_DYING != 0,
        }
    }

    /// Memory in KiB (pages are 4 KiB).
    pub fn mem_kib(&self) -> u64 {
        self.tot_pages * 4
    }

    /// What `xl list` shows as Mem, in MiB: current plus outstanding claims.
    pub fn list_mem_mib(&self) -> u64 {
        self.tot_pages.saturating_add(self.outstanding_pages) / 256
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
        self.sysctl_as(abi::XEN_SYSCTL_INTERFACE_VERSION, cmd, payload)
    }

    /// A sysctl stamped with interface version `version`.
    fn sysctl_as<T: IntoBytes + FromBytes + zerocopy::Immutable>(
        &self,
        version: u32,
        cmd: u32,
        payload: &mut T,
    ) -> Result<()> {
        let mut s = abi::Sysctl { cmd, interface_version: version, u: [0; 128] };
        let bytes = payload.as_bytes();
        s.u[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: `s` is a live, exclusively borrowed `struct xen_sysctl`;
        // any guest handle inside the payload was set by the caller to
        // memory it keeps alive.
        Errno::check(unsafe { self.h.call(hc::SYSCTL, [addr_mut(&mut s), 0, 0, 0, 0]) })?;
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
            max_cpu_id: p.max_cpu_id,
            threads_per_core: p.threads_per_core,
            cores_per_socket: p.cores_per_socket,
            nr_nodes: p.nr_nodes,
            max_node_id: p.max_node_id,
            cpu_khz: p.cpu_khz,
            capabilities: p.capabilities,
            arch_capabilities: p.arch_capabilities,
            hw_cap: p.hw_cap,
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
                buffer: addr_mut(&mut buf[..]),
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
            buffer: addr_mut(buf),
            count: buf.len().min(u32::MAX as usize) as u32,
            ..Default::default()
        };
        self.sysctl(abi::XEN_SYSCTL_READCONSOLE, &mut p)?;
        Ok(((p.count as usize).min(buf.len()), p.index))
    }

    /// Xen's whole console ring, oldest first, as `xl dmesg` shows it: read
    /// in chunks until a short read (the end of the ring at that moment) or
    /// `max` bytes. Nothing is printed in between, so output of ours that
    /// Xen copies into the ring (`console_to_ring`) cannot keep it going;
    /// `max` bounds it even if Xen itself logs without pause.
    pub fn read_console_all(&self, max: usize, clear: bool) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = alloc::vec![0u8; CONSOLE_CHUNK];
        let mut index = 0;
        while out.len() < max {
            let want = CONSOLE_CHUNK.min(max - out.len());
            let (n, next) = self.read_console(&mut buf[..want], Some(index), clear)?;
            out.extend_from_slice(&buf[..n]);
            index = next;
            if n < want {
                break;
            }
        }
        Ok(out)
    }

    /// `XEN_SYSCTL_cpupool_op(FREEINFO)`: how many CPUs are in no cpupool
    /// (`xl info`'s `free_cpus`). `max_cpu_id` sizes the bitmap as libxc does.
    pub fn free_cpus(&self, max_cpu_id: u32) -> Result<u32> {
        let bytes = (max_cpu_id as usize + 8) / 8;
        let mut map = alloc::vec![0u8; bytes.min(MAX_CPUMAP_BYTES)];
        let mut p = abi::SysctlCpupoolOp {
            op: abi::XEN_SYSCTL_CPUPOOL_OP_FREEINFO,
            cpumap: abi::XenctlBitmap { bitmap: addr_mut(&mut map[..]), nr_bits: (map.len() * 8) as u32, _pad: 0 },
            ..Default::default()
        };
        self.sysctl(abi::XEN_SYSCTL_CPUPOOL_OP, &mut p)?;
        Ok(map.iter().map(|b| b.count_ones()).sum())
    }

    /// `XEN_SYSCTL_debug_keys`: runs Xen's debug-key handlers for `keys`
    /// as if typed on its console.
    pub fn debug_keys(&self, keys: &[u8]) -> Result<()> {
        let mut p = abi::SysctlDebugKeys { keys: addr(keys), nr_keys: keys.len() as u32, _pad: 0 };
        self.sysctl(abi::XEN_SYSCTL_DEBUG_KEYS, &mut p)
    }

    /// Whether Xen accepts sysctl interface version `v`: a harmless
    /// `XEN_SYSCTL_sched_id` (whose command number and payload have not
    /// changed across versions) that Xen refuses with `EACCES` on a
    /// mismatch before looking at the command.
    pub fn sysctl_accepts(&self, v: u32) -> Result<bool> {
        match self.sysctl_as(v, abi::XEN_SYSCTL_SCHED_ID, &mut abi::SysctlSchedId::default()) {
            Ok(()) => Ok(true),
            Err(Errno::EACCES) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Bytes read per `readconsole` call.
const CONSOLE_CHUNK: usize = 4096;
/// Largest CPU bitmap asked for (32768 CPUs).
const MAX_CPUMAP_BYTES: usize = 4096;

#[cfg(test)]
mod tests {
    use crate::sim::SimXen;
    use crate::Xen;

    #[test]
    fn physinfo_decodes() {
        let x = Xen::new(SimXen::new(3));
        let p = x.physinfo().unwrap();
        assert_eq!((p.nr_cpus, p.max_cpu_id), (2, 3));
        assert_eq!(p.hw_cap, [1, 2, 3, 4, 5, 6, 7, 8]);
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
    fn readconsole_incremental() {
        let x = Xen::new(SimXen::new(1));
        let mut buf = [0u8; 8];
        let (n, idx) = x.read_console(&mut buf, Some(0), false).unwrap();
        assert_eq!(&buf[..n], b"(XEN) he");
        let (n, _) = x.read_console(&mut buf, Some(idx), false).unwrap();
        assert_eq!(&buf[..n], b"llo\n");
    }
}
