//! `xencons`: the Xen PV console ring (`public/io/console.h`,
//! `struct xencons_interface`: `in[1024]`, `out[2048]`, free-running u32
//! indexes) from both ends, and [`ConsoleLog`], the bounded per-domain
//! buffer of Dom0's console daemon.
//!
//! The one `unsafe` module is [`SharedPage`], the accessor for a ring page
//! mapped from another domain.
//!
//! Threat model: the other end is another domain. Every index it writes is
//! read once, and `prod - cons` (wrapping) is checked against the ring size
//! before any byte is touched; a ring that fails the check is reported as
//! [`RingError::Corrupt`] and not used. Bytes are copied out of the shared
//! page before anyone looks at them. How much is drained per call is
//! bounded, so a flooding guest cannot keep Dom0 busy.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

mod daemon;
mod host;
mod log;
mod shared;

pub use daemon::{GuestConsole, DRAIN_PER_EVENT};
pub use host::{RingHost, SimHost};
pub use log::{ConsoleLog, DEFAULT_LOG_LIMIT};
pub use shared::SharedPage;

use xen_abi::io::console as c;

/// Access to a ring page that another domain may write concurrently.
pub trait RingPage {
    /// Reads a u32 index (acquire).
    fn load(&self, offset: usize) -> u32;
    /// Writes a u32 index (release: data written before is visible first).
    fn store(&self, offset: usize, v: u32);
    /// Copies bytes out of the page.
    fn read(&self, offset: usize, out: &mut [u8]);
    /// Copies bytes into the page.
    fn write(&self, offset: usize, data: &[u8]);
}

/// A ring whose indexes cannot be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    Corrupt { prod: u32, cons: u32, size: u32 },
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let RingError::Corrupt { prod, cons, size } = self;
        write!(f, "console ring indexes prod {prod} cons {cons} are more than {size} apart")
    }
}

/// Reads up to `out.len()` bytes from a ring of `size` (a power of two)
/// bytes at `data`, with its indexes at `cons_at`/`prod_at` (shared with
/// the XenStore ring, which has the same shape).
pub fn consume<P: RingPage>(
    p: &P,
    data: usize,
    size: u32,
    cons_at: usize,
    prod_at: usize,
    out: &mut [u8],
) -> Result<usize, RingError> {
    let cons = p.load(cons_at);
    let prod = p.load(prod_at);
    let avail = prod.wrapping_sub(cons);
    if avail > size {
        return Err(RingError::Corrupt { prod, cons, size });
    }
    let n = (avail as usize).min(out.len());
    let mut done = 0;
    while done < n {
        let idx = (cons.wrapping_add(done as u32) & (size - 1)) as usize;
        let chunk = (n - done).min(size as usize - idx);
        p.read(data + idx, &mut out[done..done + chunk]);
        done += chunk;
    }
    p.store(cons_at, cons.wrapping_add(n as u32));
    Ok(n)
}

/// Writes as much of `bytes` as fits in such a ring; returns how much.
pub fn produce<P: RingPage>(
    p: &P,
    data: usize,
    size: u32,
    cons_at: usize,
    prod_at: usize,
    bytes: &[u8],
) -> Result<usize, RingError> {
    let cons = p.load(cons_at);
    let prod = p.load(prod_at);
    let used = prod.wrapping_sub(cons);
    if used > size {
        return Err(RingError::Corrupt { prod, cons, size });
    }
    let n = ((size - used) as usize).min(bytes.len());
    let mut done = 0;
    while done < n {
        let idx = (prod.wrapping_add(done as u32) & (size - 1)) as usize;
        let chunk = (n - done).min(size as usize - idx);
        p.write(data + idx, &bytes[done..done + chunk]);
        done += chunk;
    }
    p.store(prod_at, prod.wrapping_add(n as u32));
    Ok(n)
}

/// Backend (Dom0): takes what the guest wrote to `out`.
pub fn read_output<P: RingPage>(p: &P, buf: &mut [u8]) -> Result<usize, RingError> {
    consume(p, c::OUT, c::OUT_SIZE, c::OUT_CONS, c::OUT_PROD, buf)
}

/// Backend (Dom0): gives the guest input through `in`.
pub fn write_input<P: RingPage>(p: &P, bytes: &[u8]) -> Result<usize, RingError> {
    produce(p, c::IN, c::IN_SIZE, c::IN_CONS, c::IN_PROD, bytes)
}

/// Frontend (guest): writes output.
pub fn write_output<P: RingPage>(p: &P, bytes: &[u8]) -> Result<usize, RingError> {
    produce(p, c::OUT, c::OUT_SIZE, c::OUT_CONS, c::OUT_PROD, bytes)
}

/// Frontend (guest): reads input.
pub fn read_input<P: RingPage>(p: &P, buf: &mut [u8]) -> Result<usize, RingError> {
    consume(p, c::IN, c::IN_SIZE, c::IN_CONS, c::IN_PROD, buf)
}

/// A ring page in ordinary memory (tests; a model of the shared page).
#[derive(Debug)]
pub struct MemPage(pub core::cell::RefCell<alloc::vec::Vec<u8>>);

impl Default for MemPage {
    fn default() -> Self {
        MemPage(core::cell::RefCell::new(alloc::vec![0; 4096]))
    }
}

impl RingPage for MemPage {
    fn load(&self, o: usize) -> u32 {
        let b = self.0.borrow();
        u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    }
    fn store(&self, o: usize, v: u32) {
        self.0.borrow_mut()[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn read(&self, o: usize, out: &mut [u8]) {
        out.copy_from_slice(&self.0.borrow()[o..o + out.len()]);
    }
    fn write(&self, o: usize, d: &[u8]) {
        self.0.borrow_mut()[o..o + d.len()].copy_from_slice(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guest_output_reaches_backend_across_wrap() {
        let p = MemPage::default();
        p.store(c::OUT_CONS, u32::MAX - 5);
        p.store(c::OUT_PROD, u32::MAX - 5);
        let msg: alloc::vec::Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        assert_eq!(write_output(&p, &msg), Ok(2048));
        let mut buf = [0u8; 4096];
        assert_eq!(read_output(&p, &mut buf), Ok(2048));
        assert_eq!(&buf[..2048], &msg[..2048]);
        assert_eq!(read_output(&p, &mut buf), Ok(0));
    }

    #[test]
    fn hostile_indexes_are_refused() {
        let p = MemPage::default();
        p.store(c::OUT_PROD, 5000);
        let mut buf = [0u8; 16];
        assert_eq!(read_output(&p, &mut buf), Err(RingError::Corrupt { prod: 5000, cons: 0, size: 2048 }));
        // Producer index behind the consumer: also more than a ring apart.
        p.store(c::OUT_CONS, 10);
        p.store(c::OUT_PROD, 9);
        assert!(read_output(&p, &mut buf).is_err());
        p.store(c::IN_CONS, 100);
        assert!(write_input(&p, b"x").is_err());
    }

    proptest! {
        #[test]
        fn stream_is_preserved(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..30), start in any::<u32>()) {
            let p = MemPage::default();
            p.store(c::IN_CONS, start);
            p.store(c::IN_PROD, start);
            let (mut sent, mut got) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
            for ch in chunks {
                let n = write_input(&p, &ch).unwrap();
                sent.extend_from_slice(&ch[..n]);
                let mut buf = [0u8; 300];
                let m = read_input(&p, &mut buf).unwrap();
                got.extend_from_slice(&buf[..m]);
            }
            let mut buf = [0u8; 1024];
            let m = read_input(&p, &mut buf).unwrap();
            got.extend_from_slice(&buf[..m]);
            prop_assert_eq!(sent, got);
        }

        #[test]
        fn any_indexes_never_panic(cons in any::<u32>(), prod in any::<u32>()) {
            let p = MemPage::default();
            p.store(c::OUT_CONS, cons);
            p.store(c::OUT_PROD, prod);
            let mut buf = [0u8; 4096];
            match read_output(&p, &mut buf) {
                Ok(n) => prop_assert!(n <= 2048 && prod.wrapping_sub(cons) as usize == n),
                Err(_) => prop_assert!(prod.wrapping_sub(cons) > 2048),
            }
        }
    }
}
