//! What the agent asks of the system it runs in: what a path is, loop
//! devices, network interfaces and bridges. `LinuxSystem` (in the `linux`
//! module) does it with `stat`, `/sys/class/net` and busybox `losetup`,
//! `brctl` and `ip`; tests use a fake.

use core::fmt;

/// What a path is (after following symbolic links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Nothing there.
    Missing,
    /// A block device with its `st_rdev`.
    Block { rdev: u64 },
    /// A regular file.
    Regular,
    /// Anything else (directory, character device, ...).
    Other,
}

/// The system interface. Errors are human-readable texts; the agent puts
/// them into `hotplug-error` (bounded).
pub trait System {
    /// What `path` is; `Ok(FileKind::Missing)` when it does not exist.
    fn stat(&mut self, path: &str) -> Result<FileKind, String>;
    /// Binds a free loop device to the regular file `file` (read-only when
    /// `read_only`) and returns its path (`/dev/loopN`).
    fn loop_attach(&mut self, file: &str, read_only: bool) -> Result<String, String>;
    /// Frees the loop device `dev` (the kernel defers it while blkback
    /// still holds it open).
    fn loop_detach(&mut self, dev: &str) -> Result<(), String>;
    /// Whether network interface `ifname` exists.
    fn net_exists(&mut self, ifname: &str) -> bool;
    /// Renames the (down) interface `from` to `to`.
    fn net_rename(&mut self, from: &str, to: &str) -> Result<(), String>;
    /// Makes sure bridge `bridge` exists and is up (made if missing).
    fn bridge_ensure(&mut self, bridge: &str) -> Result<(), String>;
    /// Adds `ifname` to `bridge` and brings it up.
    fn bridge_add(&mut self, bridge: &str, ifname: &str) -> Result<(), String>;
    /// Takes `ifname` off `bridge` and down.
    fn bridge_remove(&mut self, bridge: &str, ifname: &str) -> Result<(), String>;
    /// Waits `ms` milliseconds.
    fn sleep_ms(&mut self, ms: u64);
}

/// A device number, split as glibc's `gnu_dev_major`/`gnu_dev_minor`
/// (Linux's 32-bit `dev_t` as user space sees it in `st_rdev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// Splits `st_rdev`.
    pub fn from_rdev(rdev: u64) -> DevNum {
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & 0xffff_f000);
        let minor = (rdev & 0xff) | ((rdev >> 12) & 0xffff_ff00);
        // Both are masked to 32 bits: major takes bits 8..20 and 44..64 of
        // `rdev`, minor bits 0..8 and 20..44.
        DevNum { major: major as u32, minor: minor as u32 }
    }

    /// The `st_rdev` of this number (`gnu_dev_makedev`).
    pub fn to_rdev(self) -> u64 {
        let (major, minor) = (u64::from(self.major), u64::from(self.minor));
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
    }
}

/// `major:minor` in lowercase hex, as blkback parses `physical-device`
/// (`%x:%x`) and the block script writes it.
impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}:{:x}", self.major, self.minor)
    }
}

/// Whether `s` is a loop device path `/dev/loopN` (N decimal, at most 7
/// digits: Linux allows minors below 2^20).
pub fn is_loop_device(s: &str) -> bool {
    s.strip_prefix("/dev/loop")
        .is_some_and(|n| (1..=7).contains(&n.len()) && crate::scope::canonical_number::<u32>(n).is_some())
}

/// The device `losetup -f` printed (`/dev/loopN` and a newline).
pub fn parse_free_loop(stdout: &str) -> Option<&str> {
    let dev = stdout.trim();
    is_loop_device(dev).then_some(dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnum_splits_as_glibc() {
        let d = DevNum::from_rdev(0x0700);
        assert_eq!((d.major, d.minor, d.to_string()), (7, 0, "7:0".to_string()));
        assert_eq!(DevNum::from_rdev(0x0810).to_string(), "8:10");
        // makedev(259, 300): bits spread over both halves.
        let d = DevNum { major: 259, minor: 300 };
        assert_eq!(d.to_rdev(), 0x11_032c);
        assert_eq!(DevNum::from_rdev(0x11_032c), d);
        assert_eq!(d.to_string(), "103:12c");
        let big = DevNum { major: 0xabcde, minor: 0xfffff };
        assert_eq!(DevNum::from_rdev(big.to_rdev()), big);
    }

    #[test]
    fn loop_names() {
        assert_eq!(parse_free_loop("/dev/loop0\n"), Some("/dev/loop0"));
        assert_eq!(parse_free_loop("/dev/loop12"), Some("/dev/loop12"));
        for bad in
            ["", "/dev/loop", "/dev/loop01", "/dev/loop-1", "/dev/loop1x", "loop1", "/dev/sda", "/dev/loop99999999"]
        {
            assert_eq!(parse_free_loop(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn rdev_round_trip(major in proptest::num::u32::ANY, minor in proptest::num::u32::ANY) {
            let d = DevNum { major, minor };
            proptest::prop_assert_eq!(DevNum::from_rdev(d.to_rdev()), d);
        }

        #[test]
        fn from_rdev_never_panics(rdev in proptest::num::u64::ANY) {
            let _ = DevNum::from_rdev(rdev).to_string();
        }
    }
}
