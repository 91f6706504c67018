//! The keys an Arm guest needs, typed.

use crate::disk::{parse_disk, DiskSpec};
use crate::syntax::{parse, Error, Setting, Value};
use crate::vif::{parse_vif, VifSpec};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Most vCPUs a config may ask for.
pub const MAX_VCPUS: u64 = 128;
/// Most memory a config may ask for, in MiB.
pub const MAX_MEMORY_MIB: u64 = 64 * 1024;

/// What to do when the guest powers off, reboots or crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Destroy,
    Restart,
    Preserve,
    RenameRestart,
    CoredumpDestroy,
    CoredumpRestart,
    SoftReset,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "destroy" => Action::Destroy,
            "restart" => Action::Restart,
            "preserve" => Action::Preserve,
            "rename-restart" => Action::RenameRestart,
            "coredump-destroy" => Action::CoredumpDestroy,
            "coredump-restart" => Action::CoredumpRestart,
            "soft-reset" => Action::SoftReset,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Destroy => "destroy",
            Action::Restart => "restart",
            Action::Preserve => "preserve",
            Action::RenameRestart => "rename-restart",
            Action::CoredumpDestroy => "coredump-destroy",
            Action::CoredumpRestart => "coredump-restart",
            Action::SoftReset => "soft-reset",
        }
    }
}

/// `gic_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GicChoice {
    Native,
    V2,
    V3,
}

/// One `iomem` entry: `nr` pages from machine frame `mfn`, at `gfn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iomem {
    pub mfn: u64,
    pub nr: u64,
    pub gfn: u64,
}

/// A domain configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainConfig {
    pub name: String,
    pub memory_mib: u64,
    pub maxmem_mib: u64,
    pub vcpus: u32,
    pub kernel: String,
    pub ramdisk: Option<String>,
    /// The kernel command line as xl builds it (`cmdline`, else
    /// `root=<root> <extra>`).
    pub cmdline: String,
    pub gic: GicChoice,
    pub on_poweroff: Action,
    pub on_reboot: Action,
    pub on_crash: Action,
    /// The guest's watchdog fired (xl's `on_watchdog`, default destroy).
    pub on_watchdog: Action,
    pub iomem: Vec<Iomem>,
    pub irqs: Vec<u32>,
    pub dtdev: Vec<String>,
    pub device_tree: Option<String>,
    pub max_grant_frames: Option<u32>,
    pub max_maptrack_frames: Option<u32>,
    /// `disk = [ ... ]`: no two with the same device id.
    pub disks: Vec<DiskSpec>,
    /// `vif = [ ... ]`: no two with the same device id
    /// ([`VifSpec::devid_or_index`]).
    pub vifs: Vec<VifSpec>,
    /// thindom extension: create at boot.
    pub autostart: bool,
    /// `driver_domain = 1`: the domain runs PV backends for others. (libxl
    /// gives such a domain write access to its `backend/` directory so it
    /// can clean up; thindom's toolstack removes backend nodes itself, so
    /// the flag marks the domain: autostart waits for it before the
    /// domains that use it, and its agent's readiness is awaited.)
    pub driver_domain: bool,
}

struct Ctx<'a>(&'a Setting);

impl Ctx<'_> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error { line: self.0.line, key: Some(self.0.key.clone()), msg: msg.into() }
    }
    fn str(&self) -> Result<String, Error> {
        match &self.0.value {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(self.err("expected a string")),
        }
    }
    fn num(&self, min: u64, max: u64, what: &str) -> Result<u64, Error> {
        match &self.0.value {
            Value::Num(n) if (min..=max).contains(n) => Ok(*n),
            Value::Num(n) => Err(self.err(format!("{n} is outside {min}..={max} {what}"))),
            _ => Err(self.err(format!("expected a number of {what}"))),
        }
    }
    fn list(&self) -> Result<&[Value], Error> {
        match &self.0.value {
            Value::List(l) => Ok(l),
            _ => Err(self.err("expected a list")),
        }
    }
    fn strings(&self) -> Result<Vec<&str>, Error> {
        let strings = self.list()?.iter().map(|v| match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        });
        strings.collect::<Option<_>>().ok_or_else(|| self.err("entries must be strings"))
    }
}

fn check_name(c: &Ctx<'_>, n: &str) -> Result<(), Error> {
    if n.is_empty() || n.len() > 64 {
        return Err(c.err("must be 1 to 64 characters"));
    }
    if n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(c.err("must not be all digits (it would read as a domain id)"));
    }
    if n.chars().any(|ch| ch == '/' || ch.is_whitespace() || ch.is_control()) {
        return Err(c.err("must not contain '/', spaces or control characters"));
    }
    Ok(())
}

fn parse_disks(c: &Ctx<'_>) -> Result<Vec<DiskSpec>, Error> {
    let mut disks: Vec<DiskSpec> = Vec::new();
    for s in c.strings()? {
        let d = parse_disk(s).map_err(|e| c.err(format!("{s:?}: {e}")))?;
        if let Some(o) = disks.iter().find(|o| o.devid == d.devid) {
            let what = format!("{s:?}: vdev {} is the same device as {} (devid {})", d.vdev, o.vdev, d.devid);
            return Err(c.err(what));
        }
        disks.push(d);
    }
    Ok(disks)
}

fn parse_vifs(c: &Ctx<'_>) -> Result<Vec<VifSpec>, Error> {
    let mut vifs: Vec<VifSpec> = Vec::new();
    for (i, s) in c.strings()?.into_iter().enumerate() {
        let v = parse_vif(s).map_err(|e| c.err(format!("{s:?}: {e}")))?;
        let id = v.devid_or_index(i);
        if vifs.iter().enumerate().any(|(j, o)| o.devid_or_index(j) == id) {
            return Err(c.err(format!("{s:?}: devid {id} is used by an earlier vif")));
        }
        vifs.push(v);
    }
    Ok(vifs)
}

fn parse_iomem(c: &Ctx<'_>, s: &str) -> Result<Iomem, Error> {
    let bad = || c.err(format!("bad entry {s:?}: expected \"IOMEM_START,NUM_PAGES[@GFN]\" in hex"));
    let (range, gfn) = match s.split_once('@') {
        Some((r, g)) => (r, Some(g)),
        None => (s, None),
    };
    let (start, n) = range.split_once(',').ok_or_else(bad)?;
    let hex = |t: &str| u64::from_str_radix(t.trim().trim_start_matches("0x"), 16).map_err(|_| bad());
    let mfn = hex(start)?;
    let nr = hex(n)?;
    if nr == 0 || mfn.checked_add(nr).is_none() {
        return Err(bad());
    }
    Ok(Iomem { mfn, nr, gfn: gfn.map(hex).transpose()?.unwrap_or(mfn) })
}

impl DomainConfig {
    /// Parses a whole file.
    pub fn from_text(text: &str) -> Result<DomainConfig, Error> {
        Self::from_settings(&parse(text)?)
    }

    /// Parses a file with `key=value` overrides from the command line
    /// (as `xl create cfg 'key="value"'`): an override replaces the file's
    /// setting of the same key. Errors in override `i` name line `0`.
    pub fn from_text_with(text: &str, overrides: &[&str]) -> Result<DomainConfig, Error> {
        let mut settings = parse(text)?;
        for o in overrides {
            let mut extra = parse(o).map_err(|e| Error { line: 0, ..e })?;
            for s in &mut extra {
                s.line = 0;
            }
            settings.retain(|s| !extra.iter().any(|x| x.key == s.key));
            settings.extend(extra);
        }
        Self::from_settings(&settings)
    }

    fn from_settings(settings: &[Setting]) -> Result<DomainConfig, Error> {
        let mut d = DomainConfig {
            name: String::new(),
            memory_mib: 0,
            maxmem_mib: 0,
            vcpus: 1,
            kernel: String::new(),
            ramdisk: None,
            cmdline: String::new(),
            gic: GicChoice::Native,
            on_poweroff: Action::Destroy,
            on_reboot: Action::Restart,
            on_crash: Action::Destroy,
            on_watchdog: Action::Destroy,
            iomem: Vec::new(),
            irqs: Vec::new(),
            dtdev: Vec::new(),
            device_tree: None,
            max_grant_frames: None,
            max_maptrack_frames: None,
            disks: Vec::new(),
            vifs: Vec::new(),
            autostart: false,
            driver_domain: false,
        };
        let (mut cmdline, mut extra, mut root) = (None, None, None);
        for s in settings {
            let c = Ctx(s);
            match s.key.as_str() {
                "name" => {
                    d.name = c.str()?;
                    check_name(&c, &d.name)?;
                }
                "memory" => d.memory_mib = c.num(1, MAX_MEMORY_MIB, "MiB")?,
                "maxmem" => d.maxmem_mib = c.num(1, MAX_MEMORY_MIB, "MiB")?,
                "vcpus" => d.vcpus = c.num(1, MAX_VCPUS, "vCPUs")? as u32,
                "kernel" => d.kernel = c.str()?,
                "ramdisk" => d.ramdisk = Some(c.str()?),
                "cmdline" => cmdline = Some(c.str()?),
                "extra" => extra = Some(c.str()?),
                "root" => root = Some(c.str()?),
                "gic_version" => {
                    d.gic = match c.str()?.as_str() {
                        "native" => GicChoice::Native,
                        "v2" => GicChoice::V2,
                        "v3" => GicChoice::V3,
                        o => return Err(c.err(format!("{o:?} is not one of \"native\", \"v2\", \"v3\""))),
                    }
                }
                k @ ("on_poweroff" | "on_reboot" | "on_crash" | "on_watchdog") => {
                    let v = c.str()?;
                    let a = Action::parse(&v).ok_or_else(|| c.err(format!("unknown action {v:?}")))?;
                    match k {
                        "on_poweroff" => d.on_poweroff = a,
                        "on_reboot" => d.on_reboot = a,
                        "on_watchdog" => d.on_watchdog = a,
                        _ => d.on_crash = a,
                    }
                }
                "iomem" => {
                    for v in c.list()? {
                        let Value::Str(s) = v else { return Err(c.err("entries must be strings")) };
                        d.iomem.push(parse_iomem(&c, s)?);
                    }
                }
                "irqs" => {
                    for v in c.list()? {
                        match v {
                            Value::Num(n) if (32..1020).contains(n) => d.irqs.push(*n as u32),
                            Value::Num(n) => return Err(c.err(format!("{n} is not an SPI (32..1019)"))),
                            _ => return Err(c.err("entries must be numbers")),
                        }
                    }
                }
                "dtdev" => {
                    for v in c.list()? {
                        let Value::Str(s) = v else { return Err(c.err("entries must be strings")) };
                        if !s.starts_with('/') {
                            return Err(c.err(format!("{s:?} is not a device-tree path")));
                        }
                        d.dtdev.push(s.clone());
                    }
                }
                "disk" => d.disks = parse_disks(&c)?,
                "vif" => d.vifs = parse_vifs(&c)?,
                "device_tree" => d.device_tree = Some(c.str()?),
                "max_grant_frames" => d.max_grant_frames = Some(c.num(1, 1024, "frames")? as u32),
                "max_maptrack_frames" => d.max_maptrack_frames = Some(c.num(0, 1024, "frames")? as u32),
                "autostart" => d.autostart = c.num(0, 1, "(0 or 1)")? == 1,
                "driver_domain" => d.driver_domain = c.num(0, 1, "(0 or 1)")? == 1,
                "type" => {
                    let t = c.str()?;
                    if t != "pvh" {
                        return Err(c.err(format!("{t:?}: only \"pvh\" guests exist on Arm")));
                    }
                }
                _ => return Err(c.err("unknown key")),
            }
        }
        let missing = |k: &str| Error { line: 0, key: Some(k.to_string()), msg: "is required".into() };
        if d.name.is_empty() {
            return Err(missing("name"));
        }
        if d.memory_mib == 0 {
            return Err(missing("memory"));
        }
        if d.kernel.is_empty() {
            return Err(missing("kernel"));
        }
        if d.maxmem_mib == 0 {
            d.maxmem_mib = d.memory_mib;
        }
        if d.maxmem_mib < d.memory_mib {
            let s = settings.iter().find(|s| s.key == "maxmem").map_or(0, |s| s.line);
            return Err(Error { line: s, key: Some("maxmem".into()), msg: "is below memory".into() });
        }
        d.cmdline = match (cmdline, root, extra) {
            (Some(c), _, _) => c,
            (None, Some(r), Some(e)) => format!("root={r} {e}"),
            (None, Some(r), None) => format!("root={r}"),
            (None, None, Some(e)) => e,
            (None, None, None) => String::new(),
        };
        Ok(d)
    }
}

fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' | '\\' => {
                o.push('\\');
                o.push(ch);
            }
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Canonical xl.cfg text (parses back to the same config).
impl fmt::Display for DomainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "name = {}", q(&self.name))?;
        writeln!(f, "memory = {}", self.memory_mib)?;
        writeln!(f, "maxmem = {}", self.maxmem_mib)?;
        writeln!(f, "vcpus = {}", self.vcpus)?;
        writeln!(f, "kernel = {}", q(&self.kernel))?;
        if let Some(r) = &self.ramdisk {
            writeln!(f, "ramdisk = {}", q(r))?;
        }
        writeln!(f, "cmdline = {}", q(&self.cmdline))?;
        let gic = match self.gic {
            GicChoice::Native => "native",
            GicChoice::V2 => "v2",
            GicChoice::V3 => "v3",
        };
        writeln!(f, "gic_version = \"{gic}\"")?;
        writeln!(f, "on_poweroff = \"{}\"", self.on_poweroff.as_str())?;
        writeln!(f, "on_reboot = \"{}\"", self.on_reboot.as_str())?;
        writeln!(f, "on_crash = \"{}\"", self.on_crash.as_str())?;
        writeln!(f, "on_watchdog = \"{}\"", self.on_watchdog.as_str())?;
        let io: Vec<String> = self.iomem.iter().map(|i| format!("\"{:x},{:x}@{:x}\"", i.mfn, i.nr, i.gfn)).collect();
        writeln!(f, "iomem = [ {} ]", io.join(", "))?;
        let irqs: Vec<String> = self.irqs.iter().map(|i| i.to_string()).collect();
        writeln!(f, "irqs = [ {} ]", irqs.join(", "))?;
        let dt: Vec<String> = self.dtdev.iter().map(|s| q(s)).collect();
        writeln!(f, "dtdev = [ {} ]", dt.join(", "))?;
        let disks: Vec<String> = self.disks.iter().map(|d| q(&d.to_string())).collect();
        writeln!(f, "disk = [ {} ]", disks.join(", "))?;
        let vifs: Vec<String> = self.vifs.iter().map(|v| q(&v.to_string())).collect();
        writeln!(f, "vif = [ {} ]", vifs.join(", "))?;
        if let Some(t) = &self.device_tree {
            writeln!(f, "device_tree = {}", q(t))?;
        }
        if let Some(n) = self.max_grant_frames {
            writeln!(f, "max_grant_frames = {n}")?;
        }
        if let Some(n) = self.max_maptrack_frames {
            writeln!(f, "max_maptrack_frames = {n}")?;
        }
        writeln!(f, "driver_domain = {}", self.driver_domain as u8)?;
        writeln!(f, "autostart = {}", self.autostart as u8)
    }
}

#[cfg(test)]
mod tests;
