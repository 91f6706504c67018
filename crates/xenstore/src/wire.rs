//! The wire format: a 16-byte header (`type`, `req_id`, `tx_id`, `len`,
//! little-endian u32) and up to 4096 bytes of payload.

use alloc::vec::Vec;
use core::fmt;

/// `XENSTORE_PAYLOAD_MAX`.
pub const PAYLOAD_MAX: usize = 4096;
/// Header size.
pub const HEADER: usize = 16;

/// `enum xsd_sockmsg_type` (Xen 4.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Control,
    Directory,
    Read,
    GetPerms,
    Watch,
    Unwatch,
    TransactionStart,
    TransactionEnd,
    Introduce,
    Release,
    GetDomainPath,
    Write,
    Mkdir,
    Rm,
    SetPerms,
    WatchEvent,
    Error,
    IsDomainIntroduced,
    Resume,
    SetTarget,
    ResetWatches,
    DirectoryPart,
    /// A number Xen 4.17 does not define (kept, answered with `EINVAL`).
    Unknown(u32),
}

impl MsgType {
    pub fn from_u32(v: u32) -> MsgType {
        use MsgType::*;
        match v {
            0 => Control,
            1 => Directory,
            2 => Read,
            3 => GetPerms,
            4 => Watch,
            5 => Unwatch,
            6 => TransactionStart,
            7 => TransactionEnd,
            8 => Introduce,
            9 => Release,
            10 => GetDomainPath,
            11 => Write,
            12 => Mkdir,
            13 => Rm,
            14 => SetPerms,
            15 => WatchEvent,
            16 => Error,
            17 => IsDomainIntroduced,
            18 => Resume,
            19 => SetTarget,
            21 => ResetWatches,
            22 => DirectoryPart,
            n => Unknown(n),
        }
    }

    pub fn to_u32(self) -> u32 {
        use MsgType::*;
        match self {
            Control => 0,
            Directory => 1,
            Read => 2,
            GetPerms => 3,
            Watch => 4,
            Unwatch => 5,
            TransactionStart => 6,
            TransactionEnd => 7,
            Introduce => 8,
            Release => 9,
            GetDomainPath => 10,
            Write => 11,
            Mkdir => 12,
            Rm => 13,
            SetPerms => 14,
            WatchEvent => 15,
            Error => 16,
            IsDomainIntroduced => 17,
            Resume => 18,
            SetTarget => 19,
            ResetWatches => 21,
            DirectoryPart => 22,
            Unknown(n) => n,
        }
    }
}

/// The errors of `xsd_errors[]`, sent as their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XsError {
    EINVAL,
    EACCES,
    EEXIST,
    EISDIR,
    ENOENT,
    ENOMEM,
    ENOSPC,
    EIO,
    ENOTEMPTY,
    ENOSYS,
    EROFS,
    EBUSY,
    EAGAIN,
    EISCONN,
    E2BIG,
    EPERM,
}

impl XsError {
    pub fn name(self) -> &'static str {
        use XsError::*;
        match self {
            EINVAL => "EINVAL",
            EACCES => "EACCES",
            EEXIST => "EEXIST",
            EISDIR => "EISDIR",
            ENOENT => "ENOENT",
            ENOMEM => "ENOMEM",
            ENOSPC => "ENOSPC",
            EIO => "EIO",
            ENOTEMPTY => "ENOTEMPTY",
            ENOSYS => "ENOSYS",
            EROFS => "EROFS",
            EBUSY => "EBUSY",
            EAGAIN => "EAGAIN",
            EISCONN => "EISCONN",
            E2BIG => "E2BIG",
            EPERM => "EPERM",
        }
    }
}

impl fmt::Display for XsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub ty: MsgType,
    pub req_id: u32,
    pub tx_id: u32,
    pub payload: Vec<u8>,
}

/// Why bytes are not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the header says; wait for more.
    Incomplete,
    /// `len` above [`PAYLOAD_MAX`]: a protocol violation.
    TooLong(u32),
}

fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl Msg {
    /// Length of the message at the start of `b` if its header is there.
    pub fn peek_len(b: &[u8]) -> Result<usize, WireError> {
        if b.len() < HEADER {
            return Err(WireError::Incomplete);
        }
        let len = le32(b, 12);
        if len as usize > PAYLOAD_MAX {
            return Err(WireError::TooLong(len));
        }
        Ok(HEADER + len as usize)
    }

    /// Parses one message from the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Msg, usize), WireError> {
        let n = Msg::peek_len(b)?;
        if b.len() < n {
            return Err(WireError::Incomplete);
        }
        let m = Msg {
            ty: MsgType::from_u32(le32(b, 0)),
            req_id: le32(b, 4),
            tx_id: le32(b, 8),
            payload: b[HEADER..n].to_vec(),
        };
        Ok((m, n))
    }

    /// The bytes on the wire.
    pub fn emit(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.payload.len());
        for w in [self.ty.to_u32(), self.req_id, self.tx_id, self.payload.len() as u32] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.extend_from_slice(&self.payload);
        v
    }

    /// A reply to `self` with `payload`.
    pub fn reply(&self, ty: MsgType, payload: Vec<u8>) -> Msg {
        Msg { ty, req_id: self.req_id, tx_id: self.tx_id, payload }
    }

    /// An error reply.
    pub fn error(&self, e: XsError) -> Msg {
        let mut p = Vec::from(e.name().as_bytes());
        p.push(0);
        self.reply(MsgType::Error, p)
    }

    /// Payload split at NULs into strings (the last one may be unterminated).
    pub fn args(&self) -> Vec<&[u8]> {
        let p = self.payload.strip_suffix(&[0]).unwrap_or(&self.payload);
        if p.is_empty() {
            return Vec::new();
        }
        p.split(|&c| c == 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let m = Msg { ty: MsgType::Write, req_id: 7, tx_id: 0, payload: b"a/b\0v".to_vec() };
        let b = m.emit();
        assert_eq!(Msg::parse(&b), Ok((m.clone(), b.len())));
        assert_eq!(Msg::parse(&b[..10]), Err(WireError::Incomplete));
        let mut big = b.clone();
        big[12..16].copy_from_slice(&5000u32.to_le_bytes());
        assert_eq!(Msg::parse(&big), Err(WireError::TooLong(5000)));
        assert_eq!(m.args(), [b"a/b".as_slice(), b"v".as_slice()]);
        assert_eq!(MsgType::from_u32(20), MsgType::Unknown(20));
        assert_eq!(m.error(XsError::ENOENT).payload, b"ENOENT\0");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Msg::parse(&b);
        }
    }
}
