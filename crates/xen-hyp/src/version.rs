//! `xen_version` and the interface-version check.

use crate::{addr, Errno, Hypercall, Result, Xen};
use alloc::string::String;
use xen_abi::{hypercall as hc, sysctl as abi, version as v};

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
}

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
        Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [cmd, addr(&buf[..]), 0, 0, 0]) })?;
        buf[N - 1] = 0;
        Ok(c_str(&buf))
    }

    /// Everything `xen_version` tells about this Xen.
    pub fn version_info(&self) -> Result<VersionInfo> {
        let (major, minor) = self.version()?;
        let mut ci =
            v::CompileInfo { compiler: [0; 64], compile_by: [0; 16], compile_domain: [0; 32], compile_date: [0; 32] };
        // SAFETY: XENVER_compile_info writes one `struct xen_compile_info`.
        Errno::check(unsafe { self.h.call(hc::XEN_VERSION, [v::XENVER_COMPILE_INFO, addr(&ci), 0, 0, 0]) })?;
        ci.compile_date[31] = 0;
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
        })
    }

    /// Checks that this Xen speaks the sysctl/domctl interface versions
    /// thindom was built for (Xen 4.17: sysctl and domctl 0x15). Returns a
    /// message naming both sides on mismatch.
    pub fn check_interface(&self) -> core::result::Result<(), String> {
        use core::fmt::Write;
        let mut msg = String::new();
        let (major, minor) = self.version().map_err(|e| alloc::format!("xen_version failed: {e}"))?;
        if (major, minor) != (XEN_TARGET_MAJOR, XEN_TARGET_MINOR) {
            let _ = write!(
                msg,
                "thindom is built for Xen {XEN_TARGET_MAJOR}.{XEN_TARGET_MINOR} (sysctl interface {:#x}, domctl interface {:#x}) but this is Xen {major}.{minor}; ",
                abi::XEN_SYSCTL_INTERFACE_VERSION,
                abi::XEN_DOMCTL_INTERFACE_VERSION
            );
        }
        match self.sched_id() {
            Ok(_) if msg.is_empty() => return Ok(()),
            Ok(_) => msg.push_str("its sysctl interface nevertheless accepted ours"),
            Err(Errno::EACCES) => {
                let _ = write!(
                    msg,
                    "Xen {major}.{minor} rejected sysctl interface version {:#x} (EACCES): management commands are disabled",
                    abi::XEN_SYSCTL_INTERFACE_VERSION
                );
            }
            Err(e) => {
                let _ = write!(msg, "sysctl probe failed: {e}");
            }
        }
        Err(msg)
    }
}
