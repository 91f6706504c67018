//! Typed bytes read out of Xen's console before anyone wants them.
//!
//! Xen keeps only 128 bytes of Dom0's serial input and drops what does
//! not fit. The kernel reads Xen's buffer out whenever it can (at every
//! turn of its loop and between the hypercalls of a long command) into an
//! [`Input`], from which the shell or the attached guest takes bytes as
//! it is ready: a line pasted while Dom0 echoes, builds a domain or waits
//! for a guest's ring keeps every character. The queue is bounded; when
//! it is full the kernel stops reading Xen's buffer.

use alloc::collections::VecDeque;

/// Most bytes held (a screenful of pasted text many times over).
pub const INPUT_CAPACITY: usize = 16 * 1024;

/// A bounded FIFO of typed bytes.
#[derive(Debug, Default)]
pub struct Input {
    q: VecDeque<u8>,
}

impl Input {
    pub const fn new() -> Self {
        Input { q: VecDeque::new() }
    }

    /// Bytes that can still be held.
    pub fn room(&self) -> usize {
        INPUT_CAPACITY - self.q.len()
    }

    /// Appends as much of `bytes` as fits; returns how many.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        self.q.extend(&bytes[..n]);
        n
    }

    /// Copies up to `out.len()` of the oldest bytes into `out`, leaving
    /// them queued (see [`Input::consume`]); returns how many.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.q.len());
        for (o, b) in out.iter_mut().zip(self.q.iter()) {
            *o = *b;
        }
        n
    }

    /// Drops the `n` oldest bytes (those used after a [`Input::peek`]).
    pub fn consume(&mut self, n: usize) {
        self.q.drain(..n.min(self.q.len()));
        if self.q.is_empty() {
            // Nothing waits: hold no buffer (its size followed the
            // longest paste).
            self.q = VecDeque::new();
        }
    }

    /// Where the oldest `b` is held, if anywhere.
    pub fn find(&self, b: u8) -> Option<usize> {
        self.q.iter().position(|&x| x == b)
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Dom0's heap follows what waits, not the longest paste (a soak
    /// compares the heap before and after).
    #[test]
    fn an_empty_queue_holds_no_buffer() {
        let mut q = Input::new();
        assert_eq!(q.push(&[b'x'; 3000]), 3000);
        q.consume(2999);
        assert!(q.q.capacity() >= 1);
        q.consume(1);
        assert_eq!(q.q.capacity(), 0);
    }

    #[test]
    fn bounded_fifo_with_peek_and_consume() {
        let mut i = Input::new();
        assert_eq!(i.push(b"hello world"), 11);
        let mut out = [0u8; 5];
        assert_eq!(i.peek(&mut out), 5);
        assert_eq!(&out, b"hello");
        // Bytes pushed while the peeked ones are used stay behind them.
        i.push(b"!");
        i.consume(6);
        let mut rest = [0u8; 16];
        let n = i.peek(&mut rest);
        assert_eq!(&rest[..n], b"world!");
        assert_eq!((i.find(b'd'), i.find(b'!'), i.find(b'x')), (Some(4), Some(5), None));
        i.consume(100);
        assert!(i.is_empty());
        let big: Vec<u8> = (0..INPUT_CAPACITY + 7).map(|x| x as u8).collect();
        assert_eq!(i.push(&big), INPUT_CAPACITY);
        assert_eq!((i.room(), i.push(b"x")), (0, 0));
    }

    proptest::proptest! {
        /// Whatever is pushed, in whatever pieces, comes out in order,
        /// except what did not fit (refused, never overwritten).
        #[test]
        fn order_kept_and_nothing_lost_that_was_accepted(
            ops in proptest::collection::vec((0usize..3000, 0usize..3000), 0..40)
        ) {
            let mut i = Input::new();
            let mut model: VecDeque<u8> = VecDeque::new();
            let mut next = 0u8;
            for (push, take) in ops {
                let bytes: Vec<u8> = (0..push).map(|_| { next = next.wrapping_add(1); next }).collect();
                let n = i.push(&bytes);
                proptest::prop_assert_eq!(n, push.min(INPUT_CAPACITY - model.len()));
                model.extend(&bytes[..n]);
                let mut out = alloc::vec![0u8; take];
                let got = i.peek(&mut out);
                let want: Vec<u8> = model.iter().take(take).copied().collect();
                proptest::prop_assert_eq!(&out[..got], &want[..]);
                i.consume(got);
                model.drain(..got);
                proptest::prop_assert_eq!(i.len(), model.len());
            }
        }
    }
}
