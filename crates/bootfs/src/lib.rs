//! `bootfs`: the boot ramdisk QEMU's guest-loader (or a bootloader) hands
//! thindom: a cpio archive in the "newc" format (`070701`, or `070702` with
//! checksums) holding `*.cfg` domain configurations, kernels and initrds.
//!
//! [`BootDisk`] is what Dom0 reads from it: files by path and the domain
//! configurations (the ramdisk's `*.cfg` over those built into the image).
//!
//! The reader is zero-copy: entries borrow their data from the archive.
//! Threat model: the archive comes from whoever built the boot media. Every
//! header field is parsed as checked hex, every size is bounds-checked
//! against the archive; a malformed archive is an error, never a panic.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

const HEADER: usize = 110;
/// Longest file name accepted.
pub const MAX_NAME: usize = 1024;
/// Most entries read from one archive.
pub const MAX_ENTRIES: usize = 4096;

/// A file in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }
}

/// Why an archive is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    BadMagic { offset: usize },
    BadHex { offset: usize },
    Truncated { offset: usize },
    BadName { offset: usize },
    TooManyEntries,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadMagic { offset } => write!(f, "no cpio newc header at offset {offset}"),
            Error::BadHex { offset } => write!(f, "bad hex field in the cpio header at offset {offset}"),
            Error::Truncated { offset } => write!(f, "cpio entry at offset {offset} runs past the end of the archive"),
            Error::BadName { offset } => write!(f, "bad file name in the cpio entry at offset {offset}"),
            Error::TooManyEntries => write!(f, "more than {MAX_ENTRIES} entries"),
        }
    }
}

fn hex(b: &[u8], at: usize, field: usize) -> Result<usize, Error> {
    let s = b.get(at + 6 + field * 8..at + 6 + field * 8 + 8).ok_or(Error::Truncated { offset: at })?;
    let mut v = 0usize;
    for &c in s {
        let d = (c as char).to_digit(16).ok_or(Error::BadHex { offset: at })?;
        v = (v << 4) | d as usize;
    }
    Ok(v)
}

fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

/// Reads all entries (up to `TRAILER!!!`).
pub fn entries(b: &[u8]) -> Result<Vec<Entry<'_>>, Error> {
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        let magic = b.get(at..at + 6).ok_or(Error::Truncated { offset: at })?;
        if magic != b"070701" && magic != b"070702" {
            return Err(Error::BadMagic { offset: at });
        }
        let mode = hex(b, at, 1)? as u32;
        let size = hex(b, at, 6)?;
        let namesize = hex(b, at, 11)?;
        if namesize == 0 || namesize > MAX_NAME {
            return Err(Error::BadName { offset: at });
        }
        let name_end = (at + HEADER).checked_add(namesize).ok_or(Error::Truncated { offset: at })?;
        let raw = b.get(at + HEADER..name_end).ok_or(Error::Truncated { offset: at })?;
        let name = raw.strip_suffix(&[0]).ok_or(Error::BadName { offset: at })?;
        let name = core::str::from_utf8(name).map_err(|_| Error::BadName { offset: at })?;
        let data_at = align4(name_end).ok_or(Error::Truncated { offset: at })?;
        let data_end = data_at.checked_add(size).ok_or(Error::Truncated { offset: at })?;
        let data = b.get(data_at..data_end).ok_or(Error::Truncated { offset: at })?;
        if name == "TRAILER!!!" {
            return Ok(out);
        }
        if out.len() == MAX_ENTRIES {
            return Err(Error::TooManyEntries);
        }
        out.push(Entry { name: name.trim_start_matches("./"), mode, data });
        at = align4(data_end).ok_or(Error::Truncated { offset: at })?;
    }
}

/// Finds a regular file by path (leading `/` or `./` ignored).
pub fn find<'a>(b: &'a [u8], path: &str) -> Result<Option<Entry<'a>>, Error> {
    let want = path.trim_start_matches('/').trim_start_matches("./");
    Ok(entries(b)?.into_iter().find(|e| e.is_file() && e.name == want))
}

/// Writes a newc archive of regular files (mode 0644).
pub fn write(files: &[(&str, &[u8])]) -> Vec<u8> {
    let with_modes: Vec<(&str, u32, &[u8])> = files.iter().map(|(n, d)| (*n, 0o100644, *d)).collect();
    write_with_modes(&with_modes)
}

/// Writes a newc archive of entries with explicit modes (directories
/// `0o040755`, executables `0o100755`, ...), in the order given.
pub fn write_with_modes(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |name: &str, mode: u32, data: &[u8], ino: usize| {
        let fields = [ino, mode as usize, 0, 0, 1, 0, data.len(), 0, 0, 0, 0, name.len() + 1, 0];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(alloc::format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for (i, (name, mode, data)) in files.iter().enumerate() {
        put(name, *mode, data, i + 1);
    }
    put("TRAILER!!!", 0, &[], 0);
    out
}

/// One domain configuration: its file name, where it came from
/// (`ramdisk` or `built-in`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub name: String,
    pub source: &'static str,
    pub text: String,
}

/// What Dom0 boots with: the boot ramdisk (a newc archive, checked once)
/// and configurations built into the image.
#[derive(Debug, Clone, Copy, Default)]
pub struct BootDisk<'a> {
    ramdisk: Option<&'a [u8]>,
    builtin: &'a [(&'a str, &'a str)],
}

impl<'a> BootDisk<'a> {
    /// Checks `ramdisk` (if any) is an archive; returns the disk and the
    /// number of entries.
    pub fn new(ramdisk: Option<&'a [u8]>, builtin: &'a [(&'a str, &'a str)]) -> Result<(Self, usize), Error> {
        let n = match ramdisk {
            Some(r) => entries(r)?.len(),
            None => 0,
        };
        Ok((BootDisk { ramdisk, builtin }, n))
    }

    /// A file from the ramdisk.
    pub fn file(&self, path: &str) -> Option<&'a [u8]> {
        find(self.ramdisk?, path).ok().flatten().map(|e| e.data)
    }

    /// All configurations: the ramdisk's `*.cfg` first, then built-in ones
    /// not shadowed by a ramdisk file of the same name.
    pub fn configs(&self) -> Vec<Config> {
        let mut out: Vec<Config> = Vec::new();
        if let Some(r) = self.ramdisk {
            for e in entries(r).unwrap_or_default() {
                if e.is_file() && e.name.ends_with(".cfg") {
                    out.push(Config {
                        name: e.name.into(),
                        source: "ramdisk",
                        text: String::from_utf8_lossy(e.data).into_owned(),
                    });
                }
            }
        }
        for (name, text) in self.builtin {
            if !out.iter().any(|c| c.name == *name) {
                out.push(Config { name: (*name).into(), source: "built-in", text: (*text).into() });
            }
        }
        out
    }

    /// The configuration called `name` (with or without `.cfg`).
    pub fn config(&self, name: &str) -> Option<Config> {
        let want = name.trim_start_matches('/');
        self.configs().into_iter().find(|c| c.name == want || c.name.strip_suffix(".cfg") == Some(want))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_find() {
        let a = write(&[("linux.cfg", b"name=\"linux\"\n"), ("linux/Image", &[1, 2, 3, 4, 5])]);
        let e = entries(&a).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(find(&a, "/linux/Image").unwrap().unwrap().data, &[1, 2, 3, 4, 5]);
        assert!(find(&a, "nope").unwrap().is_none());
    }

    #[test]
    fn malformed_archives_are_errors() {
        let a = write(&[("a", b"hello")]);
        assert_eq!(entries(&a[..50]), Err(Error::Truncated { offset: 0 }));
        assert_eq!(entries(b"garbage!"), Err(Error::BadMagic { offset: 0 }));
        let mut bad = a.clone();
        bad[6 + 6 * 8] = b'z';
        assert_eq!(entries(&bad), Err(Error::BadHex { offset: 0 }));
        let mut big = a.clone();
        big[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"7FFFFFFF");
        assert_eq!(entries(&big), Err(Error::Truncated { offset: 0 }));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = entries(&b);
        }

        #[test]
        fn written_archives_read_back(files in proptest::collection::vec(("[a-z/]{1,20}", proptest::collection::vec(any::<u8>(), 0..100)), 0..8)) {
            let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            let a = write(&refs);
            let e = entries(&a).unwrap();
            prop_assert_eq!(e.len(), files.len());
            for (x, (n, d)) in e.iter().zip(&files) {
                prop_assert_eq!(x.name, n.trim_start_matches("./"));
                prop_assert_eq!(x.data, d.as_slice());
            }
        }
    }

    #[test]
    fn bootdisk_configs_shadow_builtin_ones() {
        let a = write(&[("a.cfg", b"name='a'"), ("k/Image", b"kernel"), ("b.cfg", b"name='b2'")]);
        let builtin = [("b.cfg", "name='b'"), ("c.cfg", "name='c'")];
        let (d, n) = BootDisk::new(Some(&a), &builtin).unwrap();
        assert_eq!(n, 3);
        let names: Vec<(String, &str)> = d.configs().into_iter().map(|c| (c.name, c.source)).collect();
        assert_eq!(names, [("a.cfg".into(), "ramdisk"), ("b.cfg".into(), "ramdisk"), ("c.cfg".into(), "built-in")]);
        assert_eq!(d.config("b").unwrap().text, "name='b2'");
        assert_eq!(d.config("/c.cfg").unwrap().source, "built-in");
        assert!(d.config("k/Image").is_none());
        assert_eq!(d.file("k/Image"), Some(&b"kernel"[..]));
        assert!(BootDisk::new(Some(b"junk"), &builtin).is_err());
        assert_eq!(BootDisk::new(None, &builtin).unwrap().0.configs().len(), 2);
    }
}
