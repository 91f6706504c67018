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
}

impl SimXen {
    pub fn new(ndomains: u16) -> Self {
        SimXen {
            ndomains,
            sysctl_version: abi::XEN_SYSCTL_INTERFACE_VERSION,
            version: (4 << 16) | 17,
            console: b"(XEN) hello\n",
            calls: RefCell::new(Vec::new()),
        }
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
                    total_pages: 524288,
                    free_pages: 400000,
                    ..Default::default()
                };
                s.u[..112].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_SCHED_ID => {
                s.u[..4].copy_from_slice(&abi::XEN_SCHEDULER_CREDIT2.to_ne_bytes())
            }
            abi::XEN_SYSCTL_GETDOMAININFOLIST => {
                let (mut p, _) = abi::SysctlGetdomaininfolist::read_from_prefix(&s.u).unwrap();
                let mut n = 0u32;
                for i in 0..self.ndomains {
                    let id = i * 2;
                    if id < p.first_domain || n == p.max_domains {
                        continue;
                    }
                    let d = abi::DomctlGetdomaininfo {
                        domain: id,
                        tot_pages: u64::from(i) * 256,
                        ..Default::default()
                    };
                    // SAFETY: the wrapper passes a buffer of `max_domains` entries.
                    unsafe {
                        (p.buffer as *mut abi::DomctlGetdomaininfo)
                            .add(n as usize)
                            .write(d)
                    };
                    n += 1;
                }
                p.num_domains = n;
                s.u[..24].copy_from_slice(p.as_bytes());
            }
            abi::XEN_SYSCTL_READCONSOLE => {
                let (mut p, _) = abi::SysctlReadconsole::read_from_prefix(&s.u).unwrap();
                let start = if p.incremental != 0 {
                    p.index as usize
                } else {
                    0
                };
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

// SAFETY: the simulation only dereferences pointers the wrappers documented.
unsafe impl Hypercall for SimXen {
    unsafe fn call(&self, op: u64, args: [u64; 5]) -> i64 {
        match op {
            hc::XEN_VERSION if args[0] == v::XENVER_VERSION => self.version,
            // SAFETY: sysctl's argument is a `struct xen_sysctl`.
            hc::SYSCTL => self.sysctl(unsafe { &mut *(args[0] as *mut abi::Sysctl) }),
            _ => -38,
        }
    }
}
