//! Guest-physical space for mappings: page ranges carved from the regions
//! Xen says are unused (the DT's extended regions), first fit, freed ranges
//! merged back.

use alloc::vec::Vec;

/// Why a range could not be allocated or freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceError {
    /// No free run of that many pages.
    NoSpace { pages: u64 },
    /// Zero pages requested.
    Empty,
    /// Freeing a range that is not allocated as a whole.
    NotAllocated { pfn: u64, pages: u64 },
}

/// Free and allocated page-frame ranges `[start, end)`.
#[derive(Debug, Clone, Default)]
pub struct PageSpace {
    free: Vec<(u64, u64)>,
    allocated: Vec<(u64, u64)>,
}

impl PageSpace {
    /// Space over `regions` given as `(base address, size)` in bytes;
    /// partial pages at the edges are dropped.
    pub fn new(regions: &[(u64, u64)]) -> Self {
        let mut free: Vec<(u64, u64)> = regions
            .iter()
            .filter_map(|&(b, s)| {
                let start = b.checked_add(0xfff)? >> 12;
                let end = b.checked_add(s)? >> 12;
                (end > start).then_some((start, end))
            })
            .collect();
        free.sort_unstable();
        PageSpace { free, allocated: Vec::new() }
    }

    /// Free pages in total.
    pub fn free_pages(&self) -> u64 {
        self.free.iter().map(|(s, e)| e - s).sum()
    }

    /// Allocated ranges.
    pub fn allocated(&self) -> usize {
        self.allocated.len()
    }

    /// Allocates `pages` contiguous page frames; returns the first pfn.
    pub fn alloc(&mut self, pages: u64) -> Result<u64, SpaceError> {
        if pages == 0 {
            return Err(SpaceError::Empty);
        }
        let i = self.free.iter().position(|(s, e)| e - s >= pages).ok_or(SpaceError::NoSpace { pages })?;
        let start = self.free[i].0;
        self.free[i].0 += pages;
        if self.free[i].0 == self.free[i].1 {
            self.free.remove(i);
        }
        self.allocated.push((start, start + pages));
        Ok(start)
    }

    /// Frees a range returned by [`alloc`](Self::alloc).
    pub fn free(&mut self, pfn: u64, pages: u64) -> Result<(), SpaceError> {
        let i = self
            .allocated
            .iter()
            .position(|&r| r == (pfn, pfn + pages))
            .ok_or(SpaceError::NotAllocated { pfn, pages })?;
        self.allocated.swap_remove(i);
        let at = self.free.partition_point(|&(s, _)| s < pfn);
        self.free.insert(at, (pfn, pfn + pages));
        // Merge with neighbours.
        if at + 1 < self.free.len() && self.free[at].1 == self.free[at + 1].0 {
            self.free[at].1 = self.free[at + 1].1;
            self.free.remove(at + 1);
        }
        if at > 0 && self.free[at - 1].1 == self.free[at].0 {
            self.free[at - 1].1 = self.free[at].1;
            self.free.remove(at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn carve_and_merge() {
        let mut s = PageSpace::new(&[(0x4040_0000, 0x4000), (0x8000_0000, 0x10_0000)]);
        assert_eq!(s.free_pages(), 4 + 256);
        let a = s.alloc(4).unwrap();
        assert_eq!(a, 0x40400);
        let b = s.alloc(8).unwrap();
        assert_eq!(b, 0x80000);
        assert_eq!(s.alloc(1000), Err(SpaceError::NoSpace { pages: 1000 }));
        assert_eq!(s.free(b, 4), Err(SpaceError::NotAllocated { pfn: b, pages: 4 }));
        s.free(b, 8).unwrap();
        s.free(a, 4).unwrap();
        assert_eq!(s.free_pages(), 260);
        assert_eq!(s.alloc(256).unwrap(), 0x80000);
    }

    proptest! {
        #[test]
        fn no_overlap_and_conservation(reqs in proptest::collection::vec((1u64..20, any::<bool>()), 1..100)) {
            let mut s = PageSpace::new(&[(0x4000_0000, 0x40_000), (0x5000_0000, 0x20_000)]);
            let total = s.free_pages();
            let mut held: Vec<(u64, u64)> = Vec::new();
            for (n, free_one) in reqs {
                if free_one && !held.is_empty() {
                    let (p, k) = held.remove(0);
                    s.free(p, k).unwrap();
                } else if let Ok(p) = s.alloc(n) {
                    for &(q, m) in &held { prop_assert!(p + n <= q || q + m <= p); }
                    held.push((p, n));
                }
                let used: u64 = held.iter().map(|h| h.1).sum();
                prop_assert_eq!(s.free_pages() + used, total);
            }
        }
    }
}
