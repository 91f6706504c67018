//! Fair service of event-channel notifications: the pure part of Dom0's
//! event loop.
//!
//! The loop listens on the ports of several services (shell, domain
//! events, every guest's console and XenStore ring). [`Routes`] maps each
//! port to the service registered for it; [`RoundRobin`] orders one
//! round of notifications. Every port that is pending when a round starts
//! is served exactly once in that round, whatever the others do, so a
//! guest that notifies without pause delays the others by at most one
//! bounded service call each round and starves no one. The first port of
//! a round rotates, so no port is always served last.

use alloc::vec::Vec;

/// Which service handles which port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// `(port, service index)`, sorted by port, one entry per port.
    entries: Vec<(u32, usize)>,
}

impl Routes {
    /// Routes from `(service index, its ports)`; a port claimed by two
    /// services goes to the first listed.
    pub fn new(services: impl IntoIterator<Item = (usize, Vec<u32>)>) -> Self {
        let mut entries: Vec<(u32, usize)> =
            services.into_iter().flat_map(|(s, ports)| ports.into_iter().map(move |p| (p, s))).collect();
        // Stable sort keeps the first-listed service of a port first.
        entries.sort_by_key(|&(p, _)| p);
        entries.dedup_by_key(|&mut (p, _)| p);
        Routes { entries }
    }

    /// Every routed port, ascending.
    pub fn ports(&self) -> Vec<u32> {
        self.entries.iter().map(|&(p, _)| p).collect()
    }

    /// The service for `port`.
    pub fn service(&self, port: u32) -> Option<usize> {
        self.entries.binary_search_by_key(&port, |&(p, _)| p).ok().map(|i| self.entries[i].1)
    }
}

/// Orders the pending ports of each round, rotating which goes first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundRobin {
    /// The lowest port that may go first in the next round.
    next: u32,
}

impl RoundRobin {
    pub const fn new() -> Self {
        RoundRobin { next: 0 }
    }

    /// The order to serve `pending` (any order; duplicates dropped) in one
    /// round: each port once, ascending from the port after the one that
    /// went first last round, wrapping around.
    pub fn order(&mut self, pending: &[u32]) -> Vec<u32> {
        let mut v = pending.to_vec();
        v.sort_unstable();
        v.dedup();
        let split = v.partition_point(|&p| p < self.next);
        v.rotate_left(split);
        if let Some(&first) = v.first() {
            self.next = first.wrapping_add(1);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn routes_map_ports_to_the_first_service() {
        let r = Routes::new([(0, vec![2]), (1, vec![1]), (2, vec![7, 5]), (3, vec![6, 5])]);
        assert_eq!(r.ports(), [1, 2, 5, 6, 7]);
        assert_eq!(r.service(2), Some(0));
        assert_eq!(r.service(5), Some(2));
        assert_eq!(r.service(6), Some(3));
        assert_eq!(r.service(3), None);
    }

    #[test]
    fn each_round_serves_every_pending_port_once() {
        let mut rr = RoundRobin::new();
        assert_eq!(rr.order(&[9, 3, 3, 5]), [3, 5, 9]);
        assert_eq!(rr.order(&[3, 5, 9]), [5, 9, 3]);
        assert_eq!(rr.order(&[3, 5, 9]), [9, 3, 5]);
        assert_eq!(rr.order(&[3, 5, 9]), [3, 5, 9]);
        assert_eq!(rr.order(&[]), Vec::<u32>::new());
        assert_eq!(rr.order(&[4]), [4]);
    }

    /// The event loop over a simulated set of guests: the console of
    /// "flood" (port 3) is notified again every time it is served (and
    /// while others are served); port 4 (a guest console) and 6 (its store
    /// ring) are notified once.
    #[test]
    fn a_flooding_port_cannot_starve_the_others() {
        let routes = Routes::new([(0, vec![1]), (1, vec![2]), (2, vec![3, 4]), (3, vec![5, 6])]);
        let mut pending: BTreeSet<u32> = [3, 4, 6].into();
        let mut served = Vec::new();
        let mut rr = RoundRobin::new();
        for _round in 0..2 {
            // Take everything pending among the routed ports at once.
            let now: Vec<u32> = routes.ports().into_iter().filter(|p| pending.remove(p)).collect();
            for p in rr.order(&now) {
                assert!(routes.service(p).is_some());
                served.push(p);
                pending.insert(3); // the flood notifies again at once
            }
        }
        assert!(served[..3].contains(&4) && served[..3].contains(&6), "served {served:?}");
        assert_eq!(served.iter().filter(|&&p| p == 3).count(), 2, "the flood got one turn per round");
    }
}
