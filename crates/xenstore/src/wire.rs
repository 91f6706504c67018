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

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Incomplete => f.write_str("incomplete message"),
            WireError::TooLong(n) => write!(f, "payload of {n} bytes (XENSTORE_PAYLOAD_MAX is {PAYLOAD_MAX})"),
        }
    }
}

/// `struct xsd_sockmsg` (`public/io/xs_wire.h`), as a typed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub ty: MsgType,
    pub req_id: u32,
    pub tx_id: u32,
    pub len: u32,
}

/// A checked view of one whole message at the start of a buffer: after
/// [`MsgView::new_checked`] no accessor can panic.
#[derive(Debug, Clone, Copy)]
pub struct MsgView<'a> {
    hdr: &'a [u8; HEADER],
    payload: &'a [u8],
}

fn le32(b: &[u8; HEADER], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(w)
}

impl Header {
    /// The header at the start of `b`: `Incomplete` below 16 bytes,
    /// `TooLong` when `len` is above the payload limit.
    pub fn parse(b: &[u8]) -> Result<Header, WireError> {
        let hdr: &[u8; HEADER] = b.get(..HEADER).and_then(|h| h.try_into().ok()).ok_or(WireError::Incomplete)?;
        let len = le32(hdr, 12);
        if len as usize > PAYLOAD_MAX {
            return Err(WireError::TooLong(len));
        }
        Ok(Header { ty: MsgType::from_u32(le32(hdr, 0)), req_id: le32(hdr, 4), tx_id: le32(hdr, 8), len })
    }

    /// The 16 bytes on the wire.
    pub fn emit(&self) -> [u8; HEADER] {
        let mut b = [0u8; HEADER];
        for (i, w) in [self.ty.to_u32(), self.req_id, self.tx_id, self.len].into_iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
}

impl<'a> MsgView<'a> {
    /// Checks that `b` starts with a header whose `len` is within the limit
    /// and with the whole payload behind it.
    pub fn new_checked(b: &'a [u8]) -> Result<MsgView<'a>, WireError> {
        let h = Header::parse(b)?;
        let hdr: &[u8; HEADER] = b.get(..HEADER).and_then(|h| h.try_into().ok()).ok_or(WireError::Incomplete)?;
        let payload = b.get(HEADER..HEADER + h.len as usize).ok_or(WireError::Incomplete)?;
        Ok(MsgView { hdr, payload })
    }

    pub fn header(&self) -> Header {
        Header { ty: self.ty(), req_id: le32(self.hdr, 4), tx_id: le32(self.hdr, 8), len: self.payload.len() as u32 }
    }

    pub fn ty(&self) -> MsgType {
        MsgType::from_u32(le32(self.hdr, 0))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Bytes the message takes on the wire.
    pub fn total_len(&self) -> usize {
        HEADER + self.payload.len()
    }
}

impl Msg {
    /// Length of the message at the start of `b` if its header is there.
    pub fn peek_len(b: &[u8]) -> Result<usize, WireError> {
        Header::parse(b).map(|h| HEADER + h.len as usize)
    }

    /// Parses one message from the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Msg, usize), WireError> {
        let v = MsgView::new_checked(b)?;
        let h = v.header();
        Ok((Msg { ty: h.ty, req_id: h.req_id, tx_id: h.tx_id, payload: v.payload().to_vec() }, v.total_len()))
    }

    /// The header of this message (`len` saturates; a payload above
    /// [`PAYLOAD_MAX`] is never sent by the server).
    pub fn header(&self) -> Header {
        Header {
            ty: self.ty,
            req_id: self.req_id,
            tx_id: self.tx_id,
            len: self.payload.len().min(u32::MAX as usize) as u32,
        }
    }

    /// Bytes on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER + self.payload.len()
    }

    /// The bytes on the wire.
    pub fn emit(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.payload.len());
        v.extend_from_slice(&self.header().emit());
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
        assert_eq!(WireError::TooLong(5000).to_string(), "payload of 5000 bytes (XENSTORE_PAYLOAD_MAX is 4096)");
        let h = Header::parse(&b).unwrap();
        assert_eq!((h.ty, h.req_id, h.len), (MsgType::Write, 7, 5));
        assert_eq!(h.emit(), b[..HEADER]);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok((m, n)) = Msg::parse(&b) {
                proptest::prop_assert_eq!(&m.emit()[..], &b[..n]);
            }
        }
    }
}
