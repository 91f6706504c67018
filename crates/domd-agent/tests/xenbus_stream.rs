//! The whole stack the binary runs (stream transport, client, agent)
//! against the in-process server behind a byte stream that behaves like
//! Linux's `/dev/xen/xenbus`: a reply's header and body are separate
//! buffers, and one `read` hands out as many bytes as fit.

mod common;

use common::{FakeSys, World, FE, OWN, XVDA};
use domd_agent::store::read_own_domid;
use domd_agent::xenbus::StreamTransport;
use domd_agent::{Agent, Change, FileKind, XsStore};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::rc::Rc;
use xenstore::client::Client;
use xenstore::wire::Msg;
use xenstore::{ConnId, Server};

/// `/dev/xen/xenbus` as the guest sees it. A read with nothing queued
/// returns 0 (end of file), which ends the test's event loop.
struct Device {
    s: Rc<RefCell<Server>>,
    c: ConnId,
    partial: Vec<u8>,
    queue: VecDeque<Vec<u8>>,
    /// Largest read the test's reader asks for at once.
    read_max: usize,
}

impl Write for Device {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(b);
        while let Ok((m, used)) = Msg::parse(&self.partial) {
            self.partial.drain(..used);
            let mut s = self.s.borrow_mut();
            s.handle(self.c, &m);
            while let Some(r) = s.pop_output(self.c) {
                let bytes = r.emit();
                self.queue.push_back(bytes[..16].to_vec());
                self.queue.push_back(bytes[16..].to_vec());
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for Device {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while let Some(r) = self.s.borrow_mut().pop_output(self.c) {
            self.queue.push_back(r.emit());
        }
        let len = out.len().min(self.read_max);
        let mut i = 0;
        while i < len {
            let Some(mut buf) = self.queue.pop_front() else { break };
            let n = buf.len().min(len - i);
            out[i..i + n].copy_from_slice(&buf[..n]);
            i += n;
            if n < buf.len() {
                self.queue.push_front(buf.split_off(n));
            }
        }
        Ok(i)
    }
}

fn device(w: &World, read_max: usize) -> StreamTransport<Device> {
    let c = w.s.borrow_mut().connect(OWN, false);
    StreamTransport::new(Device { s: w.s.clone(), c, partial: Vec::new(), queue: VecDeque::new(), read_max })
}

#[test]
fn agent_over_a_xenbus_like_stream() {
    for read_max in [7, 16, 100, 4112] {
        let w = World::new();
        let mut client = Client::new(device(&w, read_max));
        assert_eq!(read_own_domid(&mut client), Ok(OWN));
        let sys = FakeSys::with_files(&[("/img/a.img", FileKind::Regular)]);
        let mut a = Agent::new(OWN, XsStore::new(client), sys.clone());
        assert_eq!(a.start().unwrap(), []);
        w.add_vbd(FE, XVDA, "/img/a.img", "w");
        let mut changes = Vec::new();
        while let Ok(c) = a.step() {
            changes.extend(c);
        }
        assert!(matches!(changes.as_slice(), [Change::Connected { .. }]), "{read_max}: {changes:?}");
        assert_eq!(w.node(FE, XVDA, "physical-device").as_deref(), Some("7:0"));
        assert_eq!(w.node(FE, XVDA, "hotplug-status").as_deref(), Some("connected"));
        assert_eq!(sys.loops().len(), 1);
    }
}
