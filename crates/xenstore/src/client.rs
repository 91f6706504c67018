//! A XenStore client over any [`Transport`]: the guest's ring, a Unix
//! socket on the host, or a direct connection to the server in tests.
//! Watch events that arrive while waiting for a reply are kept for
//! [`Client::next_event`].

use crate::path::Perm;
use crate::wire::{Msg, MsgType, XsError};
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

/// Moves messages to and from the server.
pub trait Transport {
    /// Sends one request.
    fn send(&mut self, m: &Msg) -> Result<(), XsError>;
    /// Waits for the next message from the server.
    fn recv(&mut self) -> Result<Msg, XsError>;
}

/// Most times a transaction is retried on `EAGAIN`.
pub const MAX_RETRIES: usize = 16;

/// A client.
#[derive(Debug)]
pub struct Client<T> {
    t: T,
    next_id: u32,
    events: VecDeque<(String, String)>,
}

fn z(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.push(0);
    }
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b.strip_suffix(&[0]).unwrap_or(b)).into_owned()
}

fn list(b: &[u8]) -> Vec<String> {
    b.split(|&c| c == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

impl<T: Transport> Client<T> {
    pub fn new(t: T) -> Self {
        Client { t, next_id: 1, events: VecDeque::new() }
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    /// One request in transaction `tx` (0 = none); returns the payload.
    pub fn request(&mut self, ty: MsgType, tx: u32, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
        let req_id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.t.send(&Msg { ty, req_id, tx_id: tx, payload })?;
        loop {
            let r = self.t.recv()?;
            if r.ty == MsgType::WatchEvent {
                let a = r.args();
                if a.len() >= 2 {
                    self.events.push_back((text(a[0]), text(a[1])));
                }
                continue;
            }
            if r.req_id != req_id {
                continue;
            }
            if r.ty == MsgType::Error {
                return Err(crate::server::error_from_name(r.payload.strip_suffix(&[0]).unwrap_or(&r.payload)));
            }
            return Ok(r.payload);
        }
    }

    pub fn read(&mut self, tx: u32, path: &str) -> Result<Vec<u8>, XsError> {
        self.request(MsgType::Read, tx, z(&[path.as_bytes()]))
    }

    pub fn read_string(&mut self, tx: u32, path: &str) -> Result<String, XsError> {
        self.read(tx, path).map(|v| text(&v))
    }

    pub fn write(&mut self, tx: u32, path: &str, value: &[u8]) -> Result<(), XsError> {
        let mut p = z(&[path.as_bytes()]);
        p.extend_from_slice(value);
        self.request(MsgType::Write, tx, p).map(drop)
    }

    pub fn mkdir(&mut self, tx: u32, path: &str) -> Result<(), XsError> {
        self.request(MsgType::Mkdir, tx, z(&[path.as_bytes()])).map(drop)
    }

    pub fn rm(&mut self, tx: u32, path: &str) -> Result<(), XsError> {
        self.request(MsgType::Rm, tx, z(&[path.as_bytes()])).map(drop)
    }

    pub fn directory(&mut self, tx: u32, path: &str) -> Result<Vec<String>, XsError> {
        self.request(MsgType::Directory, tx, z(&[path.as_bytes()])).map(|v| list(&v))
    }

    pub fn get_perms(&mut self, tx: u32, path: &str) -> Result<Vec<Perm>, XsError> {
        let v = self.request(MsgType::GetPerms, tx, z(&[path.as_bytes()]))?;
        v.split(|&c| c == 0).filter(|s| !s.is_empty()).map(Perm::parse).collect()
    }

    pub fn set_perms(&mut self, tx: u32, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        let texts: Vec<String> = perms.iter().map(|p| p.to_text()).collect();
        let mut parts: Vec<&[u8]> = alloc::vec![path.as_bytes()];
        parts.extend(texts.iter().map(|t| t.as_bytes()));
        self.request(MsgType::SetPerms, tx, z(&parts)).map(drop)
    }

    pub fn watch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        self.request(MsgType::Watch, 0, z(&[path.as_bytes(), token.as_bytes()])).map(drop)
    }

    pub fn unwatch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        self.request(MsgType::Unwatch, 0, z(&[path.as_bytes(), token.as_bytes()])).map(drop)
    }

    /// The next watch event `(path, token)`, waiting if none is queued.
    pub fn next_event(&mut self) -> Result<(String, String), XsError> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Ok(e);
            }
            let r = self.t.recv()?;
            if r.ty == MsgType::WatchEvent {
                let a = r.args();
                if a.len() >= 2 {
                    self.events.push_back((text(a[0]), text(a[1])));
                }
            }
        }
    }

    /// Runs `f` in a transaction, retrying on `EAGAIN` (at most
    /// [`MAX_RETRIES`] times).
    pub fn transaction<R>(&mut self, mut f: impl FnMut(&mut Self, u32) -> Result<R, XsError>) -> Result<R, XsError> {
        for _ in 0..MAX_RETRIES {
            let id = self.request(MsgType::TransactionStart, 0, z(&[b""]))?;
            let tx: u32 = text(&id).parse().map_err(|_| XsError::EIO)?;
            let r = match f(self, tx) {
                Ok(r) => r,
                Err(e) => {
                    let _ = self.request(MsgType::TransactionEnd, tx, z(&[b"F"]));
                    return Err(e);
                }
            };
            match self.request(MsgType::TransactionEnd, tx, z(&[b"T"])) {
                Ok(_) => return Ok(r),
                Err(XsError::EAGAIN) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(XsError::EAGAIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{ConnId, Server};
    use alloc::rc::Rc;
    use core::cell::RefCell;

    /// A direct connection to a shared server.
    struct Direct {
        s: Rc<RefCell<Server>>,
        c: ConnId,
        inbox: VecDeque<Msg>,
    }

    impl Transport for Direct {
        fn send(&mut self, m: &Msg) -> Result<(), XsError> {
            let mut s = self.s.borrow_mut();
            s.handle(self.c, m);
            let out = s.take_output();
            drop(s);
            for (to, m) in out {
                if to == self.c {
                    self.inbox.push_back(m);
                }
            }
            Ok(())
        }
        fn recv(&mut self) -> Result<Msg, XsError> {
            self.inbox.pop_front().ok_or(XsError::EIO)
        }
    }

    #[test]
    fn client_ops_and_transaction_retry() {
        let s = Rc::new(RefCell::new(Server::default()));
        let c0 = s.borrow_mut().connect(0, true);
        let mut a = Client::new(Direct { s: s.clone(), c: c0, inbox: VecDeque::new() });
        a.write(0, "/t/x", b"1").unwrap();
        assert_eq!(a.read_string(0, "/t/x").unwrap(), "1");
        assert_eq!(a.directory(0, "/t").unwrap(), ["x"]);
        a.watch("/t", "tok").unwrap();
        assert_eq!(a.next_event().unwrap(), ("/t".into(), "tok".into()));
        // A transaction whose first attempt conflicts is retried.
        let s2 = s.clone();
        let mut attempts = 0;
        let v = a
            .transaction(|cl, tx| {
                attempts += 1;
                let v = cl.read_string(tx, "/t/x")?;
                if attempts == 1 {
                    s2.borrow_mut().write_as(c0, "/t/x", b"2").unwrap();
                }
                cl.write(tx, "/t/y", v.as_bytes())?;
                Ok(v)
            })
            .unwrap();
        assert_eq!((attempts, v.as_str()), (2, "2"));
        assert_eq!(a.read_string(0, "/t/y").unwrap(), "2");
        assert_eq!(a.read(0, "/nope"), Err(XsError::ENOENT));
        assert_eq!(a.get_perms(0, "/t/x").unwrap()[0].id, 0);
    }
}
