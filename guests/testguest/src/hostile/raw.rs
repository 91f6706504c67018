//! A XenStore client that sends whatever it is told: any message type,
//! any `tx_id`, any payload bytes, and waits for replies as long as it
//! chooses (a missing reply is an observation, not an error). Watch
//! events that arrive meanwhile are kept for the steps that count them.

use crate::store::Ring;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use xenstore::{Msg, MsgType};

/// How long a step waits for Dom0's reply before it says "no reply".
pub const REPLY_SECS: u64 = 20;
/// Watch events kept (the rest are only counted).
const EVENTS_KEPT: usize = 64;
/// Bytes of a token kept with an event.
const TOKEN_KEPT: usize = 16;

/// A watch event: its path, the start of its token and the token's length.
pub struct Event {
    pub path: String,
    pub token: String,
    pub token_len: usize,
}

/// What Dom0 answered.
pub enum Got {
    Ok(Vec<u8>),
    Err(String),
    NoReply,
}

impl Got {
    /// The reply's payload as text (NUL at the end dropped).
    pub fn text(&self) -> Option<String> {
        match self {
            Got::Ok(p) => Some(String::from_utf8_lossy(p.strip_suffix(&[0]).unwrap_or(p)).into_owned()),
            _ => None,
        }
    }
}

impl fmt::Display for Got {
    /// `OK`, the value (at most 40 characters), the error's name, or `no reply`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Ok(_) => {
                let t = self.text().unwrap_or_default();
                let short: String = t.chars().take(40).collect();
                f.write_str(&short)
            }
            Got::Err(e) => f.write_str(e),
            Got::NoReply => f.write_str("no reply"),
        }
    }
}

/// NUL-terminated strings, one after the other (a request's arguments).
pub fn z(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.push(0);
    }
    v
}

/// The raw client over the guest's ring.
pub struct Raw<'a> {
    pub ring: &'a mut Ring,
    next_id: u32,
    /// Events received (at most [`EVENTS_KEPT`]).
    pub events: Vec<Event>,
    /// Events received but not kept.
    pub events_lost: usize,
}

impl<'a> Raw<'a> {
    pub fn new(ring: &'a mut Ring) -> Self {
        Raw { ring, next_id: 0x1000, events: Vec::new(), events_lost: 0 }
    }

    /// A fresh request id.
    pub fn id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Sends a request of type `ty`; returns its id (`None`: the ring
    /// stayed full).
    pub fn send(&mut self, ty: u32, tx: u32, payload: &[u8]) -> Option<u32> {
        let id = self.id();
        let m = Msg { ty: MsgType::from_u32(ty), req_id: id, tx_id: tx, payload: payload.to_vec() };
        self.ring.send_bytes(&m.emit(), REPLY_SECS).ok().map(|()| id)
    }

    /// Keeps a watch event.
    pub fn note(&mut self, m: &Msg) {
        if self.events.len() >= EVENTS_KEPT {
            self.events_lost += 1;
            return;
        }
        let a = m.args();
        let path = a.first().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
        let token = a.get(1).copied().unwrap_or_default();
        let kept = String::from_utf8_lossy(&token[..token.len().min(TOKEN_KEPT)]).into_owned();
        self.events.push(Event { path, token: kept, token_len: token.len() });
    }

    /// Waits (up to `secs`) for the reply to request `id`, keeping the
    /// events that come first and skipping replies to other requests.
    pub fn reply(&mut self, id: u32, secs: u64) -> Got {
        loop {
            let m = match self.ring.recv_within(secs) {
                Ok(m) => m,
                Err(_) => return Got::NoReply,
            };
            match m.ty {
                MsgType::WatchEvent => self.note(&m),
                _ if m.req_id != id => {}
                MsgType::Error => {
                    let name = m.payload.strip_suffix(&[0]).unwrap_or(&m.payload);
                    return Got::Err(String::from_utf8_lossy(name).into_owned());
                }
                _ => return Got::Ok(m.payload),
            }
        }
    }

    /// One request and its reply.
    pub fn ask(&mut self, ty: MsgType, tx: u32, payload: &[u8]) -> Got {
        self.ask_num(ty.to_u32(), tx, payload)
    }

    /// [`Raw::ask`] with the type as a number (types Xen does not define).
    pub fn ask_num(&mut self, ty: u32, tx: u32, payload: &[u8]) -> Got {
        match self.send(ty, tx, payload) {
            Some(id) => self.reply(id, REPLY_SECS),
            None => Got::NoReply,
        }
    }

    /// Reads `domid` and waits for the reply: everything Dom0 queued for
    /// us before it (watch events) has then arrived.
    pub fn sync(&mut self) -> Got {
        self.ask(MsgType::Read, 0, &z(&[b"domid"]))
    }

    /// Events kept whose token starts with `token`.
    pub fn events_for(&self, token: &str) -> impl Iterator<Item = &Event> {
        let token = String::from(token);
        self.events.iter().filter(move |e| e.token.starts_with(&token))
    }
}
