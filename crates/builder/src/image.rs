//! The arm64 kernel `Image` header.

use alloc::borrow::Cow;
use core::fmt;

/// Largest kernel accepted after decompression.
pub const MAX_KERNEL: usize = 128 << 20;
const MAGIC: u32 = 0x644d_5241; // "ARM\x64"

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    pub text_offset: u64,
    /// Effective size in memory (incl. bss); 0 in pre-3.17 kernels.
    pub image_size: u64,
    pub flags: u64,
}

impl ImageHeader {
    /// Page size the kernel was built for, if the flags say.
    pub fn page_size(&self) -> Option<u32> {
        match (self.flags >> 1) & 3 {
            1 => Some(4096),
            2 => Some(16384),
            3 => Some(65536),
            _ => None,
        }
    }
}

/// Why a kernel was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    TooShort(usize),
    BadMagic,
    BigEndian,
    Truncated { have: usize, need: usize },
    TooLarge(usize),
    Gzip,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooShort(n) => write!(f, "kernel is {n} bytes: too short for an arm64 Image header"),
            ImageError::BadMagic => write!(f, "not an arm64 Image (no \"ARM\\x64\" magic at offset 0x38)"),
            ImageError::BigEndian => write!(f, "big-endian kernels are not supported"),
            ImageError::Truncated { have, need } => {
                write!(f, "kernel image is truncated: {have} bytes, its header describes {need}")
            }
            ImageError::TooLarge(n) => write!(f, "kernel of {n} bytes is larger than the {MAX_KERNEL}-byte limit"),
            ImageError::Gzip => write!(f, "gzip-compressed kernel could not be decompressed"),
        }
    }
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

/// Bytes the PE/COFF section table (Linux's EFI stub) says the file holds.
fn pe_raw_end(b: &[u8]) -> Option<usize> {
    if b.get(0..2)? != b"MZ" {
        return None;
    }
    let pe = le32(b, 0x3c)? as usize;
    if b.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let nsect = le16(b, pe + 6)? as usize;
    let opt_size = le16(b, pe + 20)? as usize;
    let table = pe.checked_add(24)?.checked_add(opt_size)?;
    let mut end = 0usize;
    for i in 0..nsect.min(96) {
        let s = table.checked_add(i * 40)?;
        let raw_size = le32(b, s + 16)? as usize;
        let raw_ptr = le32(b, s + 20)? as usize;
        end = end.max(raw_ptr.checked_add(raw_size)?);
    }
    Some(end)
}

/// Parses (and if gzip-compressed, unpacks) a kernel.
pub fn load(kernel: &[u8]) -> Result<(ImageHeader, Cow<'_, [u8]>), ImageError> {
    let data: Cow<'_, [u8]> = if kernel.starts_with(&[0x1f, 0x8b]) {
        let body = gzip_body(kernel).ok_or(ImageError::Gzip)?;
        let out = miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_KERNEL).map_err(|_| ImageError::Gzip)?;
        Cow::Owned(out)
    } else {
        Cow::Borrowed(kernel)
    };
    let h = parse(&data)?;
    Ok((h, data))
}

/// The deflate stream inside a gzip member (RFC 1952 header skipped).
fn gzip_body(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 18 || b[2] != 8 {
        return None;
    }
    let flg = b[3];
    let mut at = 10usize;
    if flg & 4 != 0 {
        at = at.checked_add(2)?.checked_add(le16(b, at)? as usize)?;
    }
    for bit in [8u8, 16] {
        if flg & bit != 0 {
            at = at.checked_add(b.get(at..)?.iter().position(|&c| c == 0)? + 1)?;
        }
    }
    if flg & 2 != 0 {
        at = at.checked_add(2)?;
    }
    b.get(at..b.len().checked_sub(8)?)
}

/// Checks the header of an uncompressed Image.
pub fn parse(b: &[u8]) -> Result<ImageHeader, ImageError> {
    if b.len() < 64 {
        return Err(ImageError::TooShort(b.len()));
    }
    if b.len() > MAX_KERNEL {
        return Err(ImageError::TooLarge(b.len()));
    }
    if le32(b, 0x38) != Some(MAGIC) {
        return Err(ImageError::BadMagic);
    }
    let h = ImageHeader {
        text_offset: le64(b, 8).unwrap_or(0),
        image_size: le64(b, 16).unwrap_or(0),
        flags: le64(b, 24).unwrap_or(0),
    };
    if h.flags & 1 != 0 {
        return Err(ImageError::BigEndian);
    }
    if let Some(need) = pe_raw_end(b) {
        if b.len() < need {
            return Err(ImageError::Truncated { have: b.len(), need });
        }
    }
    if h.image_size != 0 && (b.len() as u64) > h.image_size {
        return Err(ImageError::Truncated { have: b.len(), need: h.image_size as usize });
    }
    Ok(h)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A minimal Image: header, optional PE header with one section.
    pub(crate) fn image(len: usize, pe_end: Option<u32>) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[8..16].copy_from_slice(&0u64.to_le_bytes());
        b[16..24].copy_from_slice(&((len as u64 + 4096) & !0xfff).to_le_bytes());
        b[24..32].copy_from_slice(&0xau64.to_le_bytes());
        b[0x38..0x3c].copy_from_slice(b"ARM\x64");
        if let Some(end) = pe_end {
            b[0..2].copy_from_slice(b"MZ");
            b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
            b[0x40..0x44].copy_from_slice(b"PE\0\0");
            b[0x46..0x48].copy_from_slice(&1u16.to_le_bytes());
            b[0x54..0x56].copy_from_slice(&0u16.to_le_bytes());
            let s = 0x40 + 24;
            b[s + 16..s + 20].copy_from_slice(&(end - 0x1000).to_le_bytes());
            b[s + 20..s + 24].copy_from_slice(&0x1000u32.to_le_bytes());
        }
        b
    }

    #[test]
    fn accepts_a_good_image() {
        let h = parse(&image(0x3000, Some(0x3000))).unwrap();
        assert_eq!(h.page_size(), Some(4096));
        assert_eq!(h.image_size, 0x4000);
    }

    #[test]
    fn refuses_bad_images() {
        assert_eq!(parse(&[0; 10]), Err(ImageError::TooShort(10)));
        assert_eq!(parse(&[0; 100]), Err(ImageError::BadMagic));
        let full = image(0x3000, Some(0x3000));
        assert_eq!(parse(&full[..0x2000]), Err(ImageError::Truncated { have: 0x2000, need: 0x3000 }));
        let mut be = image(0x3000, None);
        be[24] |= 1;
        assert_eq!(parse(&be), Err(ImageError::BigEndian));
    }

    #[test]
    fn gzip_round_trip() {
        let raw = image(0x3000, Some(0x3000));
        let deflated = miniz_oxide::deflate::compress_to_vec(&raw, 6);
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(&deflated);
        gz.extend_from_slice(&[0; 8]);
        let (h, data) = load(&gz).unwrap();
        assert_eq!(&data[..], &raw[..]);
        assert_eq!(h.image_size, 0x4000);
        assert_eq!(load(&[0x1f, 0x8b, 8, 0, 1, 2]).unwrap_err(), ImageError::Gzip);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = load(&b);
        }
    }
}
