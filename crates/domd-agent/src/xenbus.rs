//! A XenStore [`Transport`] over a byte stream: Linux's `/dev/xen/xenbus`
//! (drivers/xen/xenbus/xenbus_dev_frontend.c) in a guest.
//!
//! Requests are written whole (16-byte header, then the payload) in one
//! `write`. Reads are a byte stream: the kernel queues a reply's header and
//! body as separate buffers and one `read` may return part of a message or
//! several, so messages are reassembled here. At most one partial message
//! and one read's bytes are held.

use std::io::{ErrorKind, Read, Write};
use xenstore::client::Transport;
use xenstore::wire::{Msg, WireError, XsError, HEADER, PAYLOAD_MAX};

/// The transport. `S` is the opened device file (or, in tests, anything
/// that reads and writes bytes).
#[derive(Debug)]
pub struct StreamTransport<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S> StreamTransport<S> {
    pub fn new(stream: S) -> Self {
        StreamTransport { stream, buf: Vec::new() }
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }
}

impl<S: Read + Write> Transport for StreamTransport<S> {
    fn send(&mut self, m: &Msg) -> Result<(), XsError> {
        if m.payload.len() > PAYLOAD_MAX {
            return Err(XsError::E2BIG);
        }
        self.stream.write_all(&m.emit()).map_err(|e| {
            log::error!("xenbus: write: {e}");
            XsError::EIO
        })
    }

    fn recv(&mut self) -> Result<Msg, XsError> {
        loop {
            match Msg::parse(&self.buf) {
                Ok((m, used)) => {
                    self.buf.drain(..used);
                    return Ok(m);
                }
                Err(WireError::Incomplete) => {}
                Err(e @ WireError::TooLong(_)) => {
                    log::error!("xenbus: {e}");
                    return Err(XsError::EIO);
                }
            }
            let mut chunk = [0u8; HEADER + PAYLOAD_MAX];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    log::error!("xenbus: end of file");
                    return Err(XsError::EIO);
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::error!("xenbus: read: {e}");
                    return Err(XsError::EIO);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use xenstore::wire::MsgType;

    /// Hands out scripted read chunks; records writes.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let Some(mut c) = self.reads.pop_front() else { return Ok(0) };
            if c.is_empty() {
                return Err(ErrorKind::Interrupted.into());
            }
            let n = c.len().min(out.len());
            out[..n].copy_from_slice(&c[..n]);
            if n < c.len() {
                self.reads.push_front(c.split_off(n));
            }
            Ok(n)
        }
    }

    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn msg(ty: MsgType, id: u32, p: &[u8]) -> Msg {
        Msg { ty, req_id: id, tx_id: 0, payload: p.to_vec() }
    }

    #[test]
    fn reassembles_split_and_joined_messages() {
        let a = msg(MsgType::Read, 1, b"5");
        let b = msg(MsgType::WatchEvent, 0, b"/p\0tok\0");
        let c = msg(MsgType::Write, 2, b"OK\0");
        let (ea, eb, ec) = (a.emit(), b.emit(), c.emit());
        // The header alone, the body behind an interrupted read, then two
        // messages and a half in one read, then the rest.
        let mut joined = eb.clone();
        joined.extend_from_slice(&ec[..5]);
        let reads =
            VecDeque::from([ea[..HEADER].to_vec(), Vec::new(), ea[HEADER..].to_vec(), joined, ec[5..].to_vec()]);
        let mut t = StreamTransport::new(Script { reads, written: Vec::new() });
        assert_eq!(t.recv(), Ok(a));
        assert_eq!(t.recv(), Ok(b));
        assert_eq!(t.recv(), Ok(c));
        assert_eq!(t.recv(), Err(XsError::EIO), "end of file");
    }

    #[test]
    fn sends_whole_messages_and_refuses_bad_ones() {
        let mut t = StreamTransport::new(Script { reads: VecDeque::new(), written: Vec::new() });
        let m = msg(MsgType::Read, 9, b"domid\0");
        t.send(&m).unwrap();
        assert_eq!(t.stream().written, m.emit());
        assert_eq!(t.send(&msg(MsgType::Write, 1, &[b'x'; PAYLOAD_MAX + 1])), Err(XsError::E2BIG));
        let mut long = m.emit();
        long[12..16].copy_from_slice(&5000u32.to_le_bytes());
        let mut t = StreamTransport::new(Script { reads: VecDeque::from([long]), written: Vec::new() });
        assert_eq!(t.recv(), Err(XsError::EIO));
    }
}
