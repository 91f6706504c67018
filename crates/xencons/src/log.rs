//! The per-domain console log: a bounded byte buffer. When full, the
//! oldest bytes go and are counted; a guest cannot make Dom0 use more.

use alloc::collections::VecDeque;

/// Default bytes kept per domain.
pub const DEFAULT_LOG_LIMIT: usize = 64 * 1024;

/// Bounded console history with a running byte offset, so readers can ask
/// for "everything since offset N".
#[derive(Debug, Clone)]
pub struct ConsoleLog {
    buf: VecDeque<u8>,
    limit: usize,
    /// Total bytes ever appended.
    total: u64,
    /// Bytes dropped because the buffer was full.
    dropped: u64,
}

impl ConsoleLog {
    /// A log of at most `limit` bytes, allocated in full now: a guest's
    /// output never makes Dom0 allocate (what a domain costs is fixed when
    /// it is created, and a soak sees no growth).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        ConsoleLog { buf: VecDeque::with_capacity(limit), limit, total: 0, dropped: 0 }
    }

    /// Appends, dropping the oldest bytes beyond the limit.
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let keep = &bytes[bytes.len().saturating_sub(self.limit)..];
        let over = (self.buf.len() + keep.len()).saturating_sub(self.limit);
        self.dropped += (bytes.len() - keep.len()) as u64 + over as u64;
        self.buf.drain(..over);
        self.buf.extend(keep);
    }

    /// Offset one past the newest byte.
    pub fn end(&self) -> u64 {
        self.total
    }

    /// Bytes dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held now.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes from offset `from` (or the oldest held) to the end, and the
    /// offset they start at.
    pub fn since(&self, from: u64) -> (u64, alloc::vec::Vec<u8>) {
        let first = self.total - self.buf.len() as u64;
        let start = from.clamp(first, self.total);
        let skip = (start - first) as usize;
        (start, self.buf.iter().skip(skip).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_counted() {
        let mut l = ConsoleLog::new(10);
        l.push(b"hello ");
        l.push(b"world!!");
        assert_eq!(l.len(), 10);
        assert_eq!(l.dropped(), 3);
        assert_eq!(l.since(0), (3, b"lo world!!".to_vec()));
        assert_eq!(l.since(11), (11, b"!!".to_vec()));
        l.push(&[b'x'; 25]);
        assert_eq!((l.len(), l.dropped(), l.end()), (10, 28, 38));
    }

    proptest::proptest! {
        #[test]
        fn never_exceeds_limit(chunks in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..100), 0..50), lim in 1usize..200) {
            let mut l = ConsoleLog::new(lim);
            let mut total = 0u64;
            for c in chunks {
                l.push(&c);
                total += c.len() as u64;
                proptest::prop_assert!(l.len() <= lim);
                proptest::prop_assert_eq!(l.len() as u64 + l.dropped(), total);
            }
        }
    }
}

#[cfg(test)]
mod capacity_tests {
    use super::*;

    #[test]
    fn the_buffer_never_grows() {
        let mut l = ConsoleLog::new(100);
        let cap = l.buf.capacity();
        assert!(cap >= 100);
        for i in 0..1000u32 {
            l.push(&i.to_le_bytes()[..(i % 4) as usize]);
            l.push(&[0u8; 37]);
        }
        assert_eq!(l.buf.capacity(), cap);
        assert_eq!(l.len(), 100);
    }
}
