//! A bounded id allocator over `[first, first + capacity)` backed by a
//! bitmap: O(capacity/64) allocation, double frees are errors.

use alloc::vec;
use alloc::vec::Vec;

/// Why an id operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// Every id is in use.
    Exhausted,
    /// The id is outside the pool.
    OutOfRange(u32),
    /// The id is not allocated (double free).
    NotAllocated(u32),
}

/// The pool.
#[derive(Debug, Clone)]
pub struct IdPool {
    first: u32,
    capacity: u32,
    used: Vec<u64>,
    in_use: u32,
    /// Word to start searching from.
    hint: usize,
}

impl IdPool {
    /// Ids `first .. first + capacity`.
    pub fn new(first: u32, capacity: u32) -> Self {
        IdPool { first, capacity, used: vec![0; capacity.div_ceil(64) as usize], in_use: 0, hint: 0 }
    }

    /// Ids currently allocated.
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Total ids.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Allocates the lowest free id at or after the search hint.
    pub fn alloc(&mut self) -> Result<u32, PoolError> {
        let words = self.used.len();
        for k in 0..words {
            let w = (self.hint + k) % words;
            let free = !self.used[w];
            if free == 0 {
                continue;
            }
            let bit = free.trailing_zeros();
            let idx = w as u32 * 64 + bit;
            if idx >= self.capacity {
                continue;
            }
            self.used[w] |= 1 << bit;
            self.in_use += 1;
            self.hint = w;
            return Ok(self.first + idx);
        }
        Err(PoolError::Exhausted)
    }

    fn locate(&self, id: u32) -> Result<(usize, u32), PoolError> {
        let idx = id.checked_sub(self.first).filter(|&i| i < self.capacity).ok_or(PoolError::OutOfRange(id))?;
        Ok(((idx / 64) as usize, idx % 64))
    }

    /// Whether `id` is allocated.
    pub fn contains(&self, id: u32) -> bool {
        self.locate(id).is_ok_and(|(w, b)| self.used[w] & (1 << b) != 0)
    }

    /// Frees `id`.
    pub fn free(&mut self, id: u32) -> Result<(), PoolError> {
        let (w, b) = self.locate(id)?;
        if self.used[w] & (1 << b) == 0 {
            return Err(PoolError::NotAllocated(id));
        }
        self.used[w] &= !(1 << b);
        self.in_use -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounded_reusable_no_double_free() {
        let mut p = IdPool::new(8, 70);
        let ids: Vec<u32> = (0..70).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(ids[0], 8);
        assert_eq!(ids[69], 77);
        assert_eq!(p.alloc(), Err(PoolError::Exhausted));
        p.free(40).unwrap();
        assert_eq!(p.free(40), Err(PoolError::NotAllocated(40)));
        assert_eq!(p.free(7), Err(PoolError::OutOfRange(7)));
        assert_eq!(p.free(78), Err(PoolError::OutOfRange(78)));
        assert_eq!(p.alloc(), Ok(40));
    }

    proptest! {
        #[test]
        fn matches_a_set_model(ops in proptest::collection::vec((any::<bool>(), 0u32..80), 0..400)) {
            let mut p = IdPool::new(8, 64);
            let mut model = std::collections::BTreeSet::new();
            for (alloc, id) in ops {
                if alloc {
                    match p.alloc() {
                        Ok(i) => { prop_assert!(model.insert(i)); prop_assert!((8..72).contains(&i)); }
                        Err(e) => { prop_assert_eq!(e, PoolError::Exhausted); prop_assert_eq!(model.len(), 64); }
                    }
                } else {
                    let r = p.free(id);
                    prop_assert_eq!(r.is_ok(), model.remove(&id));
                }
                prop_assert_eq!(p.in_use() as usize, model.len());
            }
        }
    }
}
