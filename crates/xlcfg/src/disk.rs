//! `disk = [ '<diskspec>', ... ]` entries, as `docs/misc/xl-disk-configuration.txt`
//! and xl's lexer (`tools/libs/util/libxlu_disk_l.l`, Xen 4.17) define them.
//!
//! A spec is a comma-separated series of
//! - `key=value` pairs: `format`, `vdev`, `access`, `devtype`, `backend`,
//!   `backendtype`, `specification`, `script`, and `target`, which takes the
//!   whole rest of the spec (commas included, one trailing comma dropped)
//!   and so must come last;
//! - flags: `cdrom` (= `devtype=cdrom`), `direct-io-safe`, `discard`,
//!   `no-discard`, `trusted`, `untrusted`;
//! - positional parameters (no `=`), which fill `target`, `format`, `vdev`,
//!   `access` in that order, skipping those already given;
//! - deprecated prefixes at the start of a parameter: `raw: qcow: qcow2: vhd:`
//!   (the format), `iscsi: nbd: enbd: drbd:` (`script=block-<name>`) and
//!   `tapdisk: tap: tap2: aio: ioemu: file: phy:` (ignored by xl; thindom
//!   records `phy:` and `file:` in [`DiskSpec::legacy`]). After a prefix, the
//!   positional `format` slot is skipped, giving xend's
//!   `[<prefix>:][<target>],<vdev>[:<devtype>],<access>`; `,hdc:cdrom,r`
//!   (empty target, vdev with devtype) is an empty cdrom drive.
//!
//! Blanks before a parameter are ignored; blanks after a value are part of
//! it, as in xl. A parameter given with an empty value takes its default.
//!
//! Where thindom is stricter than xl (which prints the error and, for some,
//! carries on): each parameter is given at most once, as the document says
//! (xl lets an enum be repeated with the same value and an empty string be
//! overwritten; a positional `target` left empty may still be given by
//! `target=`, as in xl); `access=rw` on a cdrom is an error (xl silently makes
//! it read-only); `format=empty` is only for a cdrom without a target;
//! control characters (tabs and newlines too) are errors; COLO parameters
//! are not supported. An empty `devtype`, `backendtype` or `specification`
//! takes the default as the document says (xl's lexer rejects them).

use crate::fields::{has_control, is_domain_ref, MAX_PATH};
use crate::syntax::MAX_VALUE;
use crate::vdev::vdev_to_devid;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// Longest `vdev` (the longest name libxl reads is about 12 characters,
/// but a number may have any count of leading zeros).
pub const MAX_VDEV: usize = 32;

/// Image format (`format=`; default raw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    Qcow,
    Qcow2,
    Vhd,
    Qed,
    /// A cdrom drive with no medium.
    Empty,
}

impl DiskFormat {
    fn parse(s: &str) -> Result<DiskFormat, DiskError> {
        Ok(match s {
            "" | "raw" => DiskFormat::Raw,
            "qcow" => DiskFormat::Qcow,
            "qcow2" => DiskFormat::Qcow2,
            "vhd" => DiskFormat::Vhd,
            "qed" => DiskFormat::Qed,
            "empty" => DiskFormat::Empty,
            _ => return Err(DiskError::UnknownFormat(s.into())),
        })
    }

    /// The name libxl writes to the store (`libxl__device_disk_string_of_format`).
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow => "qcow",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Qed => "qed",
            DiskFormat::Empty => "empty",
        }
    }
}

/// `access=`: `ro`/`r` or `rw`/`w`; default read-write, read-only for a cdrom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

impl Access {
    fn parse(s: &str) -> Result<Option<Access>, DiskError> {
        match s {
            "" => Ok(None),
            "r" | "ro" => Ok(Some(Access::ReadOnly)),
            "w" | "rw" => Ok(Some(Access::ReadWrite)),
            _ => Err(DiskError::BadAccess(s.into())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "ro",
            Access::ReadWrite => "rw",
        }
    }
}

/// `devtype=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevType {
    Disk,
    Cdrom,
}

/// `backendtype=`: which backend implementation (default: libxl chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendType {
    Phy,
    Tap,
    Qdisk,
    Standalone,
}

impl BackendType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendType::Phy => "phy",
            BackendType::Tap => "tap",
            BackendType::Qdisk => "qdisk",
            BackendType::Standalone => "standalone",
        }
    }
}

/// `specification=`: the protocol the guest sees (default xen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Specification {
    Xen,
    Virtio,
}

impl Specification {
    pub fn as_str(self) -> &'static str {
        match self {
            Specification::Xen => "xen",
            Specification::Virtio => "virtio",
        }
    }
}

/// A deprecated `phy:` or `file:` prefix: xl ignores it, thindom may use it
/// to tell a block device from an image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    Phy,
    File,
}

/// One `disk` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// The target as written; `None` only for an empty cdrom drive. See
    /// [`DiskSpec::target_path`].
    pub target: Option<String>,
    pub format: DiskFormat,
    /// The virtual device as written (`xvda`, `hdc`, `d0p1`, `51712`...).
    pub vdev: String,
    /// The device id of `vdev` ([`crate::vdev_to_devid`]).
    pub devid: u32,
    pub access: Access,
    pub devtype: DevType,
    /// Backend domain (name or id); `None` is domain 0.
    pub backend: Option<String>,
    pub backendtype: Option<BackendType>,
    pub specification: Option<Specification>,
    /// Hotplug script (`block-<name>` from a deprecated script prefix).
    pub script: Option<String>,
    pub direct_io_safe: bool,
    /// `discard` / `no-discard`; `None` is the backend's default (discard).
    pub discard: Option<bool>,
    /// `trusted` / `untrusted`; `None` is the default (trusted).
    pub trusted: Option<bool>,
    pub legacy: Option<Legacy>,
}

impl DiskSpec {
    /// The target as a path: a target that does not start with '/' has
    /// `/dev/` prepended, as xl does when it uses the target as a path.
    pub fn target_path(&self) -> Option<String> {
        self.target.as_ref().map(|t| if t.starts_with('/') { t.clone() } else { format!("/dev/{t}") })
    }

    pub fn is_cdrom(&self) -> bool {
        self.devtype == DevType::Cdrom
    }

    pub fn readonly(&self) -> bool {
        self.access == Access::ReadOnly
    }
}

/// Canonical form: `[phy:|file:]format=..., vdev=..., access=..., ...,
/// target=...` (parses back to the same spec).
impl fmt::Display for DiskSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.legacy {
            Some(Legacy::Phy) => f.write_str("phy:")?,
            Some(Legacy::File) => f.write_str("file:")?,
            None => {}
        }
        write!(f, "format={}, vdev={}, access={}", self.format.as_str(), self.vdev, self.access.as_str())?;
        if self.devtype == DevType::Cdrom {
            f.write_str(", devtype=cdrom")?;
        }
        if let Some(b) = &self.backend {
            write!(f, ", backend={b}")?;
        }
        if let Some(b) = self.backendtype {
            write!(f, ", backendtype={}", b.as_str())?;
        }
        if let Some(s) = self.specification {
            write!(f, ", specification={}", s.as_str())?;
        }
        if let Some(s) = &self.script {
            write!(f, ", script={s}")?;
        }
        if self.direct_io_safe {
            f.write_str(", direct-io-safe")?;
        }
        match self.discard {
            Some(true) => f.write_str(", discard")?,
            Some(false) => f.write_str(", no-discard")?,
            None => {}
        }
        match self.trusted {
            Some(true) => f.write_str(", trusted")?,
            Some(false) => f.write_str(", untrusted")?,
            None => {}
        }
        if let Some(t) = &self.target {
            // `target=` drops one trailing comma: double it to keep it.
            write!(f, ", target={t}{}", if t.ends_with(',') { "," } else { "" })?;
        }
        Ok(())
    }
}

/// Why a disk spec was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskError {
    TooLong,
    /// A parameter longer than its limit ([`MAX_PATH`] for target and
    /// script, [`MAX_VDEV`] for vdev).
    ValueTooLong(&'static str, usize),
    ControlCharacter,
    /// Text no rule reads (e.g. a `=` in a positional parameter).
    Syntax(String),
    UnknownParameter(String),
    UnknownPrefix(String),
    Unsupported(&'static str),
    Duplicate(&'static str),
    TooManyPositional(String),
    UnknownFormat(String),
    BadAccess(String),
    BadDevtype(String),
    BadBackendtype(String),
    BadSpecification(String),
    BadBackend(String),
    ConflictingPrefixes,
    NoVdev,
    BadVdev(String),
    NoTarget(String),
    CdromReadWrite(String),
    EmptyFormat(String),
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DiskError::*;
        match self {
            TooLong => write!(f, "disk spec longer than {MAX_VALUE} bytes"),
            ValueTooLong(p, n) => write!(f, "{p} longer than {n} bytes"),
            ControlCharacter => f.write_str("control character in disk spec"),
            Syntax(s) => write!(f, "bad disk syntax near '{s}'"),
            UnknownParameter(k) => write!(f, "unknown parameter '{k}'"),
            UnknownPrefix(p) => write!(f, "unknown deprecated prefix '{p}:'"),
            Unsupported(what) => write!(f, "{what} is not supported"),
            Duplicate(p) => write!(f, "duplicate parameter {p}"),
            TooManyPositional(s) => write!(f, "too many positional parameters at '{s}'"),
            UnknownFormat(s) => write!(f, "unknown format '{s}' (raw, qcow, qcow2, vhd, qed)"),
            BadAccess(s) => write!(f, "access '{s}' is not ro/rw (r, ro, w or rw)"),
            BadDevtype(s) => write!(f, "devtype '{s}' is not disk/cdrom"),
            BadBackendtype(s) => write!(f, "backendtype '{s}' is not phy/tap/qdisk/standalone"),
            BadSpecification(s) => write!(f, "specification '{s}' is not xen/virtio"),
            BadBackend(s) => write!(f, "backend '{s}' is not a domain name or id"),
            ConflictingPrefixes => f.write_str("both phy: and file: given"),
            NoVdev => f.write_str("vdev missing"),
            BadVdev(v) => write!(f, "vdev '{v}' is not a valid virtual device"),
            NoTarget(v) => write!(f, "disk '{v}': no target (only a cdrom may be empty)"),
            CdromReadWrite(v) => write!(f, "disk '{v}': a cdrom is read-only, access must be ro"),
            EmptyFormat(v) => write!(f, "disk '{v}': format empty is only for a cdrom without a target"),
        }
    }
}

/// The parameters that may be given once.
#[derive(Clone, Copy)]
enum Param {
    Target,
    Format,
    Vdev,
    Access,
    Devtype,
    Backend,
    Backendtype,
    Specification,
    Script,
    DirectIoSafe,
    Discard,
    Trusted,
}

impl Param {
    fn name(self) -> &'static str {
        match self {
            Param::Target => "target",
            Param::Format => "format",
            Param::Vdev => "vdev",
            Param::Access => "access",
            Param::Devtype => "devtype",
            Param::Backend => "backend",
            Param::Backendtype => "backendtype",
            Param::Specification => "specification",
            Param::Script => "script",
            Param::DirectIoSafe => "direct-io-safe",
            Param::Discard => "discard",
            Param::Trusted => "trusted",
        }
    }
}

const FORMAT_PREFIXES: &[&str] = &["raw", "qcow", "qcow2", "vhd"];
const SCRIPT_PREFIXES: &[&str] = &["iscsi", "nbd", "enbd", "drbd"];
const IGNORED_PREFIXES: &[&str] = &["tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy"];

/// The name of a deprecated `name:` prefix at the start of `rest`, if any.
/// As in xl's lexer, an unknown `name:` followed by anything but a letter
/// or digit is an error; followed by one (`hdc:cdrom`) it is a parameter.
fn deprecated_prefix(rest: &str) -> Result<Option<&str>, DiskError> {
    let b = rest.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_lowercase) {
        return Ok(None);
    }
    let n = b.iter().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit()).count();
    if b.get(n) != Some(&b':') {
        return Ok(None);
    }
    let name = &rest[..n];
    if FORMAT_PREFIXES.contains(&name) || SCRIPT_PREFIXES.contains(&name) || IGNORED_PREFIXES.contains(&name) {
        return Ok(Some(name));
    }
    match b.get(n + 1) {
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => Ok(None),
        _ => Err(DiskError::UnknownPrefix(name.into())),
    }
}

/// `[a-z][-a-z0-9]*`: what xl's lexer reads as a parameter name.
fn is_param_name(k: &str) -> bool {
    k.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[derive(Default)]
struct Parser<'a> {
    seen: u32,
    target: Option<&'a str>,
    format: Option<DiskFormat>,
    vdev: Option<&'a str>,
    access: Option<Access>,
    devtype: Option<DevType>,
    backend: Option<&'a str>,
    backendtype: Option<BackendType>,
    specification: Option<Specification>,
    script: Option<String>,
    direct_io_safe: bool,
    discard: Option<bool>,
    trusted: Option<bool>,
    legacy: Option<Legacy>,
    had_prefix: bool,
}

impl<'a> Parser<'a> {
    fn seen(&self, p: Param) -> bool {
        self.seen & (1 << p as u32) != 0
    }

    fn mark(&mut self, p: Param) -> Result<(), DiskError> {
        if self.seen(p) {
            return Err(DiskError::Duplicate(p.name()));
        }
        self.seen |= 1 << p as u32;
        Ok(())
    }

    fn set_devtype(&mut self, t: &str) -> Result<(), DiskError> {
        self.mark(Param::Devtype)?;
        self.devtype = match t {
            "" => None,
            "disk" => Some(DevType::Disk),
            "cdrom" => Some(DevType::Cdrom),
            _ => return Err(DiskError::BadDevtype(t.into())),
        };
        Ok(())
    }

    fn prefix(&mut self, name: &str) -> Result<(), DiskError> {
        self.had_prefix = true;
        let legacy = match name {
            "phy" => Legacy::Phy,
            "file" => Legacy::File,
            _ if FORMAT_PREFIXES.contains(&name) => {
                self.mark(Param::Format)?;
                self.format = Some(DiskFormat::parse(name)?);
                return Ok(());
            }
            _ if SCRIPT_PREFIXES.contains(&name) => {
                self.mark(Param::Script)?;
                self.script = Some(format!("block-{name}"));
                return Ok(());
            }
            _ => return Ok(()),
        };
        match self.legacy {
            Some(l) if l != legacy => Err(DiskError::ConflictingPrefixes),
            _ => {
                self.legacy = Some(legacy);
                Ok(())
            }
        }
    }

    /// `target=`: allowed after an empty positional target.
    fn named_target(&mut self, t: &'a str) -> Result<(), DiskError> {
        if self.target.is_some_and(|t| !t.is_empty()) {
            return Err(DiskError::Duplicate("target"));
        }
        self.seen |= 1 << Param::Target as u32;
        self.target = Some(t);
        Ok(())
    }

    fn named(&mut self, seg: &'a str, key: &str, value: &'a str) -> Result<(), DiskError> {
        match key {
            "format" => {
                self.mark(Param::Format)?;
                self.format = Some(DiskFormat::parse(value)?);
            }
            "vdev" => {
                self.mark(Param::Vdev)?;
                self.vdev = Some(value);
            }
            "access" => {
                self.mark(Param::Access)?;
                self.access = Access::parse(value)?;
            }
            "devtype" => self.set_devtype(value)?,
            "backend" => {
                self.mark(Param::Backend)?;
                if !value.is_empty() && !is_domain_ref(value) {
                    return Err(DiskError::BadBackend(value.into()));
                }
                self.backend = nonempty(value);
            }
            "backendtype" => {
                self.mark(Param::Backendtype)?;
                self.backendtype = match value {
                    "" => None,
                    "phy" => Some(BackendType::Phy),
                    "tap" => Some(BackendType::Tap),
                    "qdisk" => Some(BackendType::Qdisk),
                    "standalone" => Some(BackendType::Standalone),
                    _ => return Err(DiskError::BadBackendtype(value.into())),
                };
            }
            "specification" => {
                self.mark(Param::Specification)?;
                self.specification = match value {
                    "" => None,
                    "xen" => Some(Specification::Xen),
                    "virtio" => Some(Specification::Virtio),
                    _ => return Err(DiskError::BadSpecification(value.into())),
                };
            }
            "script" => {
                self.mark(Param::Script)?;
                self.script = nonempty(value).map(String::from);
            }
            "colo-host" | "colo-port" | "colo-export" | "active-disk" | "hidden-disk" => {
                return Err(DiskError::Unsupported("COLO"))
            }
            _ if is_param_name(key) => return Err(DiskError::UnknownParameter(key.into())),
            _ => return Err(DiskError::Syntax(seg.into())),
        }
        Ok(())
    }

    fn flag(&mut self, seg: &str) -> Option<Result<(), DiskError>> {
        let (param, on) = match seg {
            "cdrom" => return Some(self.set_devtype("cdrom")),
            "colo" => return Some(Err(DiskError::Unsupported("COLO"))),
            "no-colo" => return Some(Ok(())),
            "direct-io-safe" => (Param::DirectIoSafe, true),
            "discard" => (Param::Discard, true),
            "no-discard" => (Param::Discard, false),
            "trusted" => (Param::Trusted, true),
            "untrusted" => (Param::Trusted, false),
            _ => return None,
        };
        if let Err(e) = self.mark(param) {
            return Some(Err(e));
        }
        match param {
            Param::DirectIoSafe => self.direct_io_safe = true,
            Param::Discard => self.discard = Some(on),
            _ => self.trusted = Some(on),
        }
        Some(Ok(()))
    }

    /// `<vdev>:<devtype>` (deprecated).
    fn vdev_and_devtype(&mut self, seg: &'a str) -> Result<(), DiskError> {
        let (vdev, devtype) = seg.rsplit_once(':').unwrap_or((seg, ""));
        self.mark(Param::Vdev)?;
        self.vdev = Some(vdev);
        match devtype {
            "disk" | "cdrom" => self.set_devtype(devtype),
            _ => Err(DiskError::BadDevtype(devtype.into())),
        }
    }

    fn positional(&mut self, seg: &'a str) -> Result<(), DiskError> {
        if !self.seen(Param::Target) {
            self.mark(Param::Target)?;
            self.target = Some(seg);
        } else if !self.had_prefix && !self.seen(Param::Format) {
            if self.target == Some("") && seg.contains(':') {
                // `,hdc:cdrom,r`: xend's empty cdrom drive.
                self.vdev_and_devtype(seg)?;
                self.mark(Param::Format)?;
                self.format = Some(DiskFormat::Empty);
            } else {
                self.mark(Param::Format)?;
                self.format = Some(DiskFormat::parse(seg)?);
            }
        } else if !self.seen(Param::Vdev) {
            if seg.contains(':') {
                self.vdev_and_devtype(seg)?;
            } else {
                self.mark(Param::Vdev)?;
                self.vdev = Some(seg);
            }
        } else if !self.seen(Param::Access) {
            self.mark(Param::Access)?;
            self.access = Access::parse(seg)?;
        } else {
            return Err(DiskError::TooManyPositional(seg.into()));
        }
        Ok(())
    }

    fn finish(self) -> Result<DiskSpec, DiskError> {
        let vdev = self.vdev.filter(|v| !v.is_empty()).ok_or(DiskError::NoVdev)?;
        let limits = [
            ("vdev", Some(vdev), MAX_VDEV),
            ("target", self.target, MAX_PATH),
            ("script", self.script.as_deref(), MAX_PATH),
        ];
        for (name, value, max) in limits {
            if value.is_some_and(|v| v.len() > max) {
                return Err(DiskError::ValueTooLong(name, max));
            }
        }
        let devid = vdev_to_devid(vdev).ok_or_else(|| DiskError::BadVdev(vdev.into()))?;
        let cdrom = self.devtype == Some(DevType::Cdrom);
        let target = self.target.filter(|t| !t.is_empty());
        if target.is_none() && !cdrom {
            return Err(DiskError::NoTarget(vdev.into()));
        }
        let access = match self.access {
            None if cdrom => Access::ReadOnly,
            None => Access::ReadWrite,
            Some(Access::ReadWrite) if cdrom => return Err(DiskError::CdromReadWrite(vdev.into())),
            Some(a) => a,
        };
        let format = match self.format.unwrap_or(DiskFormat::Raw) {
            _ if cdrom && target.is_none() => DiskFormat::Empty,
            DiskFormat::Empty => return Err(DiskError::EmptyFormat(vdev.into())),
            f => f,
        };
        Ok(DiskSpec {
            target: target.map(String::from),
            format,
            vdev: vdev.to_string(),
            devid,
            access,
            devtype: self.devtype.unwrap_or(DevType::Disk),
            backend: self.backend.map(String::from),
            backendtype: self.backendtype,
            specification: self.specification,
            script: self.script,
            direct_io_safe: self.direct_io_safe,
            discard: self.discard,
            trusted: self.trusted,
            legacy: self.legacy,
        })
    }
}

/// Parses one disk spec.
pub fn parse_disk(spec: &str) -> Result<DiskSpec, DiskError> {
    if spec.len() > MAX_VALUE {
        return Err(DiskError::TooLong);
    }
    if has_control(spec) {
        return Err(DiskError::ControlCharacter);
    }
    let mut p = Parser::default();
    let mut rest = spec;
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(t) = rest.strip_prefix("target=") {
            p.named_target(t.strip_suffix(',').unwrap_or(t))?;
            break;
        }
        if let Some(name) = deprecated_prefix(rest)? {
            p.prefix(name)?;
            rest = &rest[name.len() + 1..];
            continue;
        }
        let (seg, next) = rest.split_once(',').unwrap_or((rest, ""));
        match seg.split_once('=') {
            Some((key, value)) => p.named(seg, key, value)?,
            None => match p.flag(seg) {
                Some(r) => r?,
                None => p.positional(seg)?,
            },
        }
        rest = next;
    }
    p.finish()
}

#[cfg(test)]
mod tests;
