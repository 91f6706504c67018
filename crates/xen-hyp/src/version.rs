//! `xen_version` and the interface-version check.

use crate::{addr_mut, Errno, Hypercall, Result, Xen};
use alloc::string::String;
use core::fmt::Write;
use xen_abi::{domctl as dabi, hypercall as hc, sysctl as abi, version as v};

/// The Xen release thindom's ABI mirrors.
pub const XEN_TARGET_MAJOR: u32 = 4;
/// See [`XEN_TARGET_MAJOR`].
pub const XEN_TARGET_MINOR: u32 = 17;

/// What `xen_version` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionInfo {
    pub major: u32,
    pub minor: u32,
    pub extra: String,
    pub changeset: String,
    pub capabilities: String,
    pub compiler: String,
    pub compile_by: String,
    pub compile_domain: String,
    pub compile_date: String,
    pub commandline: String,
    /// `XENVER_pagesize`.
    pub pagesize: u64,
    /// `XENVER_platform_parameters`: where Xen's own mappings start.
    pub virt_start: u64,
    /// `XENVER_build_id` as lower-case hex (empty if Xen refuses it).
    pub build_id: String,
}

/// The sysctl and domctl interface versions one side speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceVersions {
    pub sysctl: u32,
    pub domctl: u32,
}

impl InterfaceVersions {
    /// What thindom's ABI (`xen-abi`) mirrors: Xen 4.17's.
    pub const THINDOM: InterfaceVersions =
        InterfaceVersions { sysctl: abi::XEN_SYSCTL_INTERFACE_VERSION, domctl: dabi::XEN_DOMCTL_INTERFACE_VERSION };

    /// Boot argument making Dom0 claim other sysctl/domctl interface
    /// versions in the boot check (`thindom.interface=0x14`): tests the
    /// check and the disabled commands against a real Xen.
    pub const PRETEND_ARG: &'static str = "thindom.interface=";

    /// The versions to probe Xen with: [`Self::THINDOM`], or what
    /// [`Self::PRETEND_ARG`] on the command line says (`Some` then).
    pub fn to_check(bootargs: &str) -> (InterfaceVersions, Option<u32>) {
        let pretend = bootargs.split_whitespace().find_map(|w| w.strip_prefix(Self::PRETEND_ARG));
        match pretend.and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok()) {
            Some(v) => (InterfaceVersions { sysctl: v, domctl: v }, Some(v)),
            None => (Self::THINDOM, None),
        }
    }
}

/// Interface versions tried when Xen refuses ours, to name the one it
/// speaks (4.17 is 0x15; the range leaves room for many releases).
const PROBE_VERSIONS: core::ops::RangeInclusive<u32> = 0x01..=0x40;

/// Text of a NUL-terminated C buffer.
pub(crate) fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl<H: Hypercall> Xen<H> {
    /// `XENVER_version`: `(major, minor)`.
    pub fn version(&self) -> Result<(u32, u32)> {
        // SAFETY: XENVER_version takes no memory argument.
        let r = Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [v::XENVER_VERSION, 0, 0, 0, 0]) })?;
        Ok(((r as u32) >> 16, (r as u32) & 0xffff))
    }

    /// A string sub-command of `xen_version` into a buffer of `N` bytes.
    fn version_str<const N: usize>(&self, cmd: u64) -> Result<String> {
        let mut buf = [0u8; N];
        // SAFETY: every string sub-command writes at most its fixed-size type
        // (`N` bytes, the size from version.h) into `buf`.
        Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [cmd, addr_mut(&mut buf[..]), 0, 0, 0]) })?;
        buf[N - 1] = 0;
        Ok(c_str(&buf))
    }

    /// `XENVER_pagesize`.
    pub fn pagesize(&self) -> Result<u64> {
        // SAFETY: XENVER_pagesize takes no memory argument.
        Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [v::XENVER_PAGESIZE, 0, 0, 0, 0]) }).map(|n| n as u64)
    }

    /// `XENVER_platform_parameters`: `virt_start`.
    pub fn platform_virt_start(&self) -> Result<u64> {
        let mut p = v::PlatformParameters::default();
        // SAFETY: writes one `struct xen_platform_parameters` into `p`.
        Errno::check(unsafe {
            self.h.call(hc::XEN_VERSION, [v::XENVER_PLATFORM_PARAMETERS, addr_mut(&mut p), 0, 0, 0])
        })?;
        Ok(p.virt_start)
    }

    /// `XENVER_build_id`: Xen's build id bytes.
    pub fn build_id(&self) -> Result<alloc::vec::Vec<u8>> {
        let mut b = v::BuildId { len: v::BUILD_ID_MAX as u32, buf: [0; v::BUILD_ID_MAX] };
        // SAFETY: Xen writes at most `len` bytes after the `len` field of
        // `b`, which has room for exactly that many.
        let n = Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [v::XENVER_BUILD_ID, addr_mut(&mut b), 0, 0, 0]) })?;
        Ok(b.buf[..(n as usize).min(v::BUILD_ID_MAX)].to_vec())
    }

    /// Everything `xen_version` tells about this Xen.
    pub fn version_info(&self) -> Result<VersionInfo> {
        let (major, minor) = self.version()?;
        let mut ci =
            v::CompileInfo { compiler: [0; 64], compile_by: [0; 16], compile_domain: [0; 32], compile_date: [0; 32] };
        // SAFETY: XENVER_compile_info writes one `struct xen_compile_info`.
        Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [v::XENVER_COMPILE_INFO, addr_mut(&mut ci), 0, 0, 0]) })?;
        ci.compile_date[31] = 0;
        let mut build_id = String::new();
        // As libxl: a Xen that refuses the build id (XSM) shows none.
        for b in self.build_id().unwrap_or_default() {
            let _ = write!(build_id, "{b:02x}");
        }
        Ok(VersionInfo {
            major,
            minor,
            extra: self.version_str::<{ v::EXTRAVERSION_LEN }>(v::XENVER_EXTRAVERSION)?,
            changeset: self.version_str::<{ v::CHANGESET_LEN }>(v::XENVER_CHANGESET)?,
            capabilities: self.version_str::<{ v::CAPABILITIES_LEN }>(v::XENVER_CAPABILITIES)?,
            commandline: self.version_str::<{ v::COMMANDLINE_LEN }>(v::XENVER_COMMANDLINE)?,
            compiler: c_str(&ci.compiler),
            compile_by: c_str(&ci.compile_by),
            compile_domain: c_str(&ci.compile_domain),
            compile_date: c_str(&ci.compile_date),
            pagesize: self.pagesize()?,
            virt_start: self.platform_virt_start()?,
            build_id,
        })
    }

    /// Checks that this Xen speaks the sysctl/domctl interface versions
    /// thindom was built for ([`InterfaceVersions::THINDOM`]).
    pub fn check_interface(&self) -> core::result::Result<(), String> {
        self.check_interface_as(InterfaceVersions::THINDOM)
    }

    /// Probes whether Xen accepts `ours` (a harmless sysctl and domctl
    /// stamped with them; Xen answers `EACCES` to a version it does not
    /// speak). On a mismatch, finds the versions Xen does speak the same
    /// way and returns a message naming both sides.
    pub fn check_interface_as(&self, ours: InterfaceVersions) -> core::result::Result<(), String> {
        let probe_failed = |what: &str, e: Errno| alloc::format!("{what} interface probe failed: {e}");
        let sysctl_ok = self.sysctl_accepts(ours.sysctl).map_err(|e| probe_failed("sysctl", e))?;
        let domctl_ok = self.domctl_accepts(ours.domctl).map_err(|e| probe_failed("domctl", e))?;
        if sysctl_ok && domctl_ok {
            return Ok(());
        }
        let find = |accepts: &dyn Fn(u32) -> Result<bool>| PROBE_VERSIONS.clone().find(|&v| accepts(v) == Ok(true));
        let theirs_sysctl = if sysctl_ok { Some(ours.sysctl) } else { find(&|v| self.sysctl_accepts(v)) };
        let theirs_domctl = if domctl_ok { Some(ours.domctl) } else { find(&|v| self.domctl_accepts(v)) };
        let name = |v: Option<u32>| {
            v.map_or_else(
                || alloc::format!("none of {:#x}..={:#x}", PROBE_VERSIONS.start(), PROBE_VERSIONS.end()),
                |v| alloc::format!("{v:#x}"),
            )
        };
        let xen = self.version().map_or_else(|_| String::from("this Xen"), |(a, b)| alloc::format!("Xen {a}.{b}"));
        let refused = match (sysctl_ok, domctl_ok) {
            (false, false) => "sysctl and domctl",
            (false, true) => "sysctl",
            _ => "domctl",
        };
        Err(alloc::format!(
            "interface mismatch: thindom speaks sysctl {:#x} / domctl {:#x} (Xen {XEN_TARGET_MAJOR}.{XEN_TARGET_MINOR}), \
             {xen} speaks sysctl {} / domctl {} and refused our {refused} with EACCES: management commands are disabled",
            ours.sysctl,
            ours.domctl,
            name(theirs_sysctl),
            name(theirs_domctl),
        ))
    }
}

#[cfg(test)]
mod pretend_tests {
    use super::*;

    #[test]
    fn the_pretend_argument_overrides_both_versions() {
        assert_eq!(InterfaceVersions::to_check("console=hvc0"), (InterfaceVersions::THINDOM, None));
        let (v, p) = InterfaceVersions::to_check("a thindom.interface=0x14 b");
        assert_eq!((v.sysctl, v.domctl, p), (0x14, 0x14, Some(0x14)));
        assert_eq!(InterfaceVersions::to_check("thindom.interface=zz").1, None);
    }
}
