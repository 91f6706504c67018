//! A simulated Xen for host tests: implements [`Hypercall`] by decoding the
//! arguments exactly as Xen would and recording each op.
#![allow(unsafe_code)]

use crate::Hypercall;
use core::cell::RefCell;
use xen_abi::sysctl as abi;
use xen_abi::{hypercall as hc, version as v};
use zerocopy::{FromBytes, IntoBytes};

pub struct SimXen {
    pub ndomains: u16,
    pub sysctl_version: u32,
    pub version: i64,
    pub console: &'static [u8],
    /// sysctl commands issued, in order.
    pub calls: RefCell<Vec<u32>>,
    /// Other (op, cmd) pairs issued, in order.
    pub ops: RefCell<Vec<(u64, u64)>>,
}

impl SimXen {
    pub fn new(ndomains: u16) -> Self {
        SimXen {
            ndomains,
            sysctl_version: abi::XEN_SYSCTL_INTERFACE_VERSION,
            version: (4 << 16) | 17,
            console: b"(XEN) hello\n",
            calls: RefCell::new(Vec::new()),
            ops: RefCell::new(Vec::new()),
        }
    }

    fn sysctl(&self, s: &mut abi::Sysctl) -> i64 {
        self.calls.borrow_mut().push(s.cmd);
        if s.interface_version != self.sysctl_version {
            return -13;
        }
        match s.cmd {
            abi::XEN_SYSCTL_PHYSINFO => {
                let p =
                    abi::SysctlPhysinfo { nr_cpus: 2, total_pages: 524288, free_pages: 400000, ..Default::default() };
                s.u[..112].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_SCHED_ID => s.u[..4].copy_from_slice(&abi::XEN_SCHEDULER_CREDIT2.to_ne_bytes()),
            abi::XEN_SYSCTL_GETDOMAININFOLIST => {
                let (mut p, _) = abi::SysctlGetdomaininfolist::read_from_prefix(&s.u).unwrap();
                let mut n = 0u32;
                for i in 0..self.ndomains {
                    let id = i * 2;
                    if id < p.first_domain || n == p.max_domains {
                        continue;
                    }
                    let d =
                        abi::DomctlGetdomaininfo { domain: id, tot_pages: u64::from(i) * 256, ..Default::default() };
                    // SAFETY: the wrapper passes a buffer of `max_domains` entries.
                    unsafe { (p.buffer as *mut abi::DomctlGetdomaininfo).add(n as usize).write(d) };
                    n += 1;
                }
                p.num_domains = n;
                s.u[..24].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_READCONSOLE => {
                let (mut p, _) = abi::SysctlReadconsole::read_from_prefix(&s.u).unwrap();
                let start = if p.incremental != 0 { p.index as usize } else { 0 };
                let src = &self.console[start.min(self.console.len())..];
                let n = src.len().min(p.count as usize);
                // SAFETY: the wrapper passes a buffer of `count` bytes.
                unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), p.buffer as *mut u8, n) };
                p.count = n as u32;
                p.index = (start + n) as u32;
                s.u[..24].copy_from_slice(p.as_bytes());
            }
            _ => return -38,
        }
        0
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
        use xen_abi::event_channel as ev;
        self.ops.borrow_mut().push((hc::EVENT_CHANNEL_OP, cmd));
        match cmd {
            // SAFETY: each op's struct, as documented in event_channel.h.
            ev::EVTCHNOP_ALLOC_UNBOUND => unsafe { arg::<ev::EvtchnAllocUnbound>(a).port = 5 },
            // SAFETY: as above.
            ev::EVTCHNOP_BIND_INTERDOMAIN => unsafe { arg::<ev::EvtchnBindInterdomain>(a).local_port = 6 },
            ev::EVTCHNOP_STATUS => {
                // SAFETY: as above.
                let s = unsafe { arg::<ev::EvtchnStatus>(a) };
                (s.status, s.vcpu, s.u0, s.u1) = (ev::EVTCHNSTAT_INTERDOMAIN, 0, 0, 5);
            }
            _ => {}
        }
        0
    }

    /// # Safety
    /// `args` are what the wrappers pass for grant-table ops.
    unsafe fn gnttab(&self, cmd: u64, a: u64, n: u64) -> i64 {
        use xen_abi::grant_table as gt;
        self.ops.borrow_mut().push((hc::GRANT_TABLE_OP, cmd));
        if cmd == gt::GNTTABOP_MAP_GRANT_REF {
            for i in 0..n as usize {
                // SAFETY: an array of `n` map structs.
                let m = unsafe { arg::<gt::GnttabMapGrantRef>(a + (i * 32) as u64) };
                if m.ref_ >= 8 {
                    m.status = -3
                } else {
                    m.handle = 42 + m.ref_
                }
            }
        }
        0
    }

    /// # Safety
    /// `args` are what the wrappers pass for memory ops.
    unsafe fn memory(&self, cmd: u64, a: u64) -> i64 {
        use xen_abi::memory as mem;
        self.ops.borrow_mut().push((hc::MEMORY_OP, cmd));
        if cmd == mem::XENMEM_ADD_TO_PHYSMAP_BATCH {
            // SAFETY: the batch struct and its three arrays of `size`.
            unsafe {
                let b = arg::<mem::AddToPhysmapBatch>(a);
                for i in 0..b.size as usize {
                    let gfn = *((b.idxs as *const u64).add(i));
                    // Odd gfns do not exist in the simulated foreign domain.
                    *((b.errs as *mut i32).add(i)) = if gfn % 2 == 1 { -22 } else { 0 };
                }
            }
        }
        0
    }
}

// SAFETY: the simulation only dereferences pointers the wrappers documented.
unsafe impl Hypercall for SimXen {
    unsafe fn call(&self, op: u64, args: [u64; 5]) -> i64 {
        match op {
            hc::XEN_VERSION if args[0] == v::XENVER_VERSION => self.version,
            // SAFETY: sysctl's argument is a `struct xen_sysctl`.
            hc::SYSCTL => self.sysctl(unsafe { &mut *(args[0] as *mut abi::Sysctl) }),
            // SAFETY: the wrappers pass the documented structs.
            hc::EVENT_CHANNEL_OP => unsafe { self.evtchn(args[0], args[1]) },
            // SAFETY: as above.
            hc::GRANT_TABLE_OP => unsafe { self.gnttab(args[0], args[1], args[2]) },
            // SAFETY: as above.
            hc::MEMORY_OP => unsafe { self.memory(args[0], args[1]) },
            _ => -38,
        }
    }
}
