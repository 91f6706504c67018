//! Just enough of the XenStore protocol (docs/misc/xenstore.txt) to read
//! and write keys over the guest's ring (docs/misc/xenstore-ring.txt).

use crate::guest::{xen, yield_until};
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::io::xenstore as r;
use xen_hyp::EventChannels;
use xencons::RingPage;
use xencons::SharedPage as Shared;

pub const XS_READ: u32 = 2;
pub const XS_WRITE: u32 = 11;
pub const XS_ERROR: u32 = 16;

/// The guest's XenStore connection.
pub struct Store {
    page: Shared,
    port: u32,
    next_id: u32,
}

impl Store {
    pub fn new(addr: usize, port: u32) -> Self {
        // SAFETY: the store page is RAM of ours, mapped for our lifetime.
        Store { page: unsafe { Shared::new(addr) }, port, next_id: 1 }
    }

    fn put(&self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            let (cons, prod) = (self.page.load(r::REQ_CONS), self.page.load(r::REQ_PROD));
            let used = prod.wrapping_sub(cons);
            if used > r::RING_SIZE {
                return Err(String::from("request ring corrupt"));
            }
            let n =
                ((r::RING_SIZE - used) as usize).min(data.len()).min((r::RING_SIZE - (prod % r::RING_SIZE)) as usize);
            if n == 0 {
                let _ = xen().send(self.port);
                yield_until(|| self.page.load(r::REQ_CONS) != cons, 5)?;
                continue;
            }
            self.page.write(r::REQ + (prod % r::RING_SIZE) as usize, &data[..n]);
            self.page.store(r::REQ_PROD, prod.wrapping_add(n as u32));
            data = &data[n..];
        }
        xen().send(self.port).map_err(|e| alloc::format!("notify: {e}"))
    }

    fn get(&self, out: &mut [u8]) -> Result<(), String> {
        let mut got = 0;
        while got < out.len() {
            yield_until(|| self.page.load(r::RSP_PROD) != self.page.load(r::RSP_CONS), 5)?;
            let (cons, prod) = (self.page.load(r::RSP_CONS), self.page.load(r::RSP_PROD));
            let avail = prod.wrapping_sub(cons);
            if avail > r::RING_SIZE {
                return Err(String::from("response ring corrupt"));
            }
            let n = (avail as usize).min(out.len() - got).min((r::RING_SIZE - (cons % r::RING_SIZE)) as usize);
            self.page.read(r::RSP + (cons % r::RING_SIZE) as usize, &mut out[got..got + n]);
            self.page.store(r::RSP_CONS, cons.wrapping_add(n as u32));
            got += n;
        }
        let _ = xen().send(self.port);
        Ok(())
    }

    /// Sends a request and returns `(type, payload)` of the reply.
    pub fn request(&mut self, ty: u32, payload: &[u8]) -> Result<(u32, Vec<u8>), String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = Vec::with_capacity(16 + payload.len());
        for w in [ty, id, 0, payload.len() as u32] {
            msg.extend_from_slice(&w.to_le_bytes());
        }
        msg.extend_from_slice(payload);
        self.put(&msg)?;
        let mut hdr = [0u8; 16];
        self.get(&mut hdr)?;
        let w = |i: usize| u32::from_le_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
        let len = w(12) as usize;
        if len > 4096 || w(4) != id {
            return Err(alloc::format!("bad reply header (id {} len {len})", w(4)));
        }
        let mut body = alloc::vec![0u8; len];
        self.get(&mut body)?;
        Ok((w(0), body))
    }

    /// `READ path`: the value, or the error name.
    pub fn read(&mut self, path: &str) -> Result<String, String> {
        let mut p = Vec::from(path.as_bytes());
        p.push(0);
        let (ty, body) = self.request(XS_READ, &p)?;
        let text = String::from_utf8_lossy(body.strip_suffix(&[0]).unwrap_or(&body)).into_owned();
        if ty == XS_ERROR {
            Err(text)
        } else {
            Ok(text)
        }
    }

    /// `WRITE path value`.
    pub fn write(&mut self, path: &str, value: &str) -> Result<(), String> {
        let mut p = Vec::from(path.as_bytes());
        p.push(0);
        p.extend_from_slice(value.as_bytes());
        let (ty, body) = self.request(XS_WRITE, &p)?;
        if ty == XS_ERROR {
            return Err(String::from_utf8_lossy(body.strip_suffix(&[0]).unwrap_or(&body)).into_owned());
        }
        Ok(())
    }
}
