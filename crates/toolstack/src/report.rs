//! What `VIRQ_DOM_EXC` changed, in words: domains that appeared, went,
//! paused, shut down (with the reason) or started dying since the last
//! look. Running/blocked flip all the time and are not reported.

use crate::{Hypervisor, Machine, Toolstack};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;
use xen_hyp::DomainInfo;

/// Domains by id, as seen at one look.
pub type Snapshot = BTreeMap<DomId, DomainInfo>;

/// The lines that describe going from `last` to `now`.
pub fn changes(last: &Snapshot, now: &Snapshot) -> Vec<String> {
    let key = |d: &DomainInfo| (d.shutdown_reason(), d.state().dying, d.state().paused);
    let mut out = Vec::new();
    for (id, d) in now {
        let Some(before) = last.get(id) else {
            out.push(format!("dom_exc: domain {id} appeared"));
            continue;
        };
        if key(before) != key(d) {
            let why = match d.shutdown_reason() {
                Some(0) => " (poweroff)",
                Some(1) => " (reboot)",
                Some(2) => " (suspend)",
                Some(3) => " (crash)",
                Some(4) => " (watchdog)",
                _ => "",
            };
            let s = d.state().letters();
            out.push(format!("dom_exc: domain {id} is {}{why}", core::str::from_utf8(&s).unwrap_or("?")));
        }
    }
    for id in last.keys().filter(|id| !now.contains_key(id)) {
        out.push(format!("dom_exc: domain {id} is gone"));
    }
    out
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    fn look(&self) -> Option<Snapshot> {
        Some(self.xen.domain_list().ok()?.into_iter().map(|d| (d.domid, d)).collect())
    }

    /// Takes a new snapshot without reporting (after a command changed
    /// domains on purpose, or the toolstack reported what it did itself).
    pub fn refresh_known(&mut self) {
        if let Some(now) = self.look() {
            self.known = Some(now);
        }
    }

    /// All `VIRQ_DOM_EXC` asks for, in order: what changed since the last
    /// look and every console drained, handed to `before_actions` (to log
    /// the changes and show the last words of a guest going away, before
    /// the actions say what they do), the `on_*` actions, and a new
    /// snapshot (what the actions did they report themselves).
    pub fn dom_exc(&mut self, before_actions: impl FnOnce(&Self, &[String])) {
        let lines = self.report_changes();
        self.drain_consoles();
        before_actions(self, &lines);
        self.on_dom_exc();
        self.refresh_known();
    }

    /// What changed since the last snapshot (nothing the first time).
    pub fn report_changes(&mut self) -> Vec<String> {
        let Some(now) = self.look() else { return Vec::new() };
        match self.known.replace(now) {
            Some(last) => changes(&last, self.known.as_ref().unwrap_or(&last)),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::sysctl::{XEN_DOMINF_PAUSED, XEN_DOMINF_RUNNING, XEN_DOMINF_SHUTDOWN};

    fn snap(list: &[(DomId, u32)]) -> Snapshot {
        list.iter().map(|&(domid, flags)| (domid, DomainInfo { domid, flags, ..DomainInfo::default() })).collect()
    }

    #[test]
    fn reports_what_a_toolstack_acts_on() {
        let last = snap(&[(0, XEN_DOMINF_RUNNING), (1, XEN_DOMINF_RUNNING), (2, XEN_DOMINF_RUNNING)]);
        let now = snap(&[(0, 0), (1, XEN_DOMINF_SHUTDOWN | (3 << 16)), (3, XEN_DOMINF_PAUSED)]);
        assert_eq!(
            changes(&last, &now),
            ["dom_exc: domain 1 is ---sc- (crash)", "dom_exc: domain 3 appeared", "dom_exc: domain 2 is gone"]
        );
        assert!(changes(&now, &now).is_empty());
    }
}
