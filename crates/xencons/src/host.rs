//! What a ring server (console daemon, xenstored) needs from the machine:
//! another domain's page mapped, and an event channel bound to it. The
//! kernel implements [`RingHost`] with foreign mappings and Xen's event
//! channels; [`SimHost`] keeps pages in memory and records what is bound
//! and mapped, so host tests can check that everything is given back.

use crate::{MemPage, RingPage};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use xen_abi::DomId;

/// Mapping ring pages and binding their event channels.
pub trait RingHost {
    /// A mapped page of another domain.
    type Page: RingPage;
    /// Maps page `gfn` of `dom`.
    fn map_page(&mut self, dom: DomId, gfn: u64) -> Result<Self::Page, String>;
    /// Unmaps a page [`RingHost::map_page`] returned.
    fn unmap_page(&mut self, page: Self::Page);
    /// Binds to `dom`'s unbound `remote_port`; returns our port. `name`
    /// labels it (`evtchn` listings).
    fn bind(&mut self, dom: DomId, remote_port: u32, name: &'static str) -> Result<u32, String>;
    /// Closes our `port`.
    fn close(&mut self, port: u32);
    /// Notifies the other end of `port`.
    fn notify(&mut self, port: u32);
}

impl<P: RingPage> RingPage for Rc<P> {
    fn load(&self, o: usize) -> u32 {
        (**self).load(o)
    }
    fn store(&self, o: usize, v: u32) {
        (**self).store(o, v)
    }
    fn read(&self, o: usize, out: &mut [u8]) {
        (**self).read(o, out)
    }
    fn write(&self, o: usize, d: &[u8]) {
        (**self).write(o, d)
    }
}

/// A [`RingHost`] in memory: every `(domain, gfn)` has one page the test
/// can reach as the guest would ([`SimHost::page`]); bound ports and live
/// mappings are recorded; the next map or bind can be made to fail.
#[derive(Debug, Default)]
pub struct SimHost {
    pages: BTreeMap<(DomId, u64), Rc<MemPage>>,
    /// Live mappings, `(domain, gfn)` with a count.
    pub mapped: BTreeMap<(DomId, u64), usize>,
    /// Our bound ports: port -> (domain, its port).
    pub bound: BTreeMap<u32, (DomId, u32)>,
    /// Notifications sent, per port.
    pub notified: BTreeMap<u32, usize>,
    next_port: u32,
    /// Remote ports that refuse binding (a guest that never allocated them).
    pub refuse: BTreeSet<(DomId, u32)>,
    /// The next `map_page` fails.
    pub fail_map: bool,
    /// `Some(n)`: the map after the next `n` fails.
    pub fail_map_after: Option<usize>,
    /// The next `bind` fails.
    pub fail_bind: bool,
}

impl SimHost {
    /// The page `gfn` of `dom` as its owner sees it.
    pub fn page(&mut self, dom: DomId, gfn: u64) -> Rc<MemPage> {
        self.pages.entry((dom, gfn)).or_default().clone()
    }

    /// Our port bound to `dom`'s `remote_port`, if any.
    pub fn port_for(&self, dom: DomId, remote_port: u32) -> Option<u32> {
        self.bound.iter().find(|(_, &b)| b == (dom, remote_port)).map(|(&p, _)| p)
    }

    /// Live mappings of pages of `dom`.
    pub fn mappings_of(&self, dom: DomId) -> usize {
        self.mapped.iter().filter(|((d, _), _)| *d == dom).map(|(_, n)| n).sum()
    }

    /// Ports bound to `dom`.
    pub fn ports_of(&self, dom: DomId) -> Vec<u32> {
        self.bound.iter().filter(|(_, (d, _))| *d == dom).map(|(&p, _)| p).collect()
    }
}

impl RingHost for SimHost {
    type Page = Rc<MemPage>;

    fn map_page(&mut self, dom: DomId, gfn: u64) -> Result<Rc<MemPage>, String> {
        let late = match self.fail_map_after {
            Some(0) => {
                self.fail_map_after = None;
                true
            }
            Some(n) => {
                self.fail_map_after = Some(n - 1);
                false
            }
            None => false,
        };
        if core::mem::take(&mut self.fail_map) || late {
            return Err("simulated mapping failure".to_string());
        }
        *self.mapped.entry((dom, gfn)).or_default() += 1;
        Ok(self.page(dom, gfn))
    }

    fn unmap_page(&mut self, page: Rc<MemPage>) {
        let key = self.pages.iter().find(|(_, p)| Rc::ptr_eq(p, &page)).map(|(k, _)| *k);
        if let Some(k) = key {
            if let Some(n) = self.mapped.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.mapped.remove(&k);
                }
            }
        }
    }

    fn bind(&mut self, dom: DomId, remote_port: u32, _name: &'static str) -> Result<u32, String> {
        if core::mem::take(&mut self.fail_bind) || self.refuse.contains(&(dom, remote_port)) {
            return Err("simulated bind failure (EINVAL)".to_string());
        }
        self.next_port += 1;
        let port = self.next_port + 100;
        self.bound.insert(port, (dom, remote_port));
        Ok(port)
    }

    fn close(&mut self, port: u32) {
        self.bound.remove(&port);
    }

    fn notify(&mut self, port: u32) {
        *self.notified.entry(port).or_default() += 1;
    }
}
