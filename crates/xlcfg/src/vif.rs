//! `vif = [ '<vifspec>', ... ]` entries, as `docs/man/xl-network-configuration.5.pod`
//! and xl's `parse_nic_config` (`tools/xl/xl_parse.c`, Xen 4.17) define them.
//!
//! A spec is a comma-separated list of `key=value` pairs and the flags
//! `trusted` / `untrusted`; the empty string is a vif with every default.
//! Keys: `mac`, `bridge`, `ip`, `type` (`vif` or `ioemu`; default `vif`),
//! `backend`, `script`, `vifname`, `model`, `rate`, `mtu`, `gatewaydev`
//! (`netdev` is its deprecated alias), `accel` (accepted and, as in xl,
//! without effect) and `devid` (default: the entry's index in the list).
//! Blanks around a parameter are ignored (xl strips only leading blanks).
//!
//! Where thindom is stricter than xl, which prints most errors and goes on
//! with the rest: an unknown key, a key given twice, an empty value, or a
//! bad value is an error; `mac` must be six colon-separated two-digit hex
//! octets of a unicast address (xl reads any separator and 1 or 2 digits);
//! `bridge`, `vifname` and `gatewaydev` must be Linux interface names
//! (1 to 15 characters, no '/', ':' or blanks); `ip` must be a
//! blank-separated list of IPv4/IPv6 addresses, each with an optional
//! `/prefix`; `mtu` must be 68..=65535; numbers are decimal without sign;
//! control characters are errors; COLO keys are not supported.
//!
//! `rate` is `RATE/s[@INTERVAL]` as `tools/libs/util/libxlu_vif.c` reads
//! it: `RATE` a number with an optional `G`, `M` or `K` (powers of 1000) and
//! `B` (bytes) or `b` (bits); `INTERVAL` a number with `s` (or nothing),
//! `ms`/`m` or `us`/`u`; default 50 ms. A number with a leading `0` is
//! octal, as in xl.

use crate::fields::{c_number, decimal, has_control, is_domain_ref, MAX_PATH};
use crate::syntax::MAX_VALUE;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Xen's organizationally unique identifier, 00:16:3e.
    pub const XEN_OUI: [u8; 3] = [0x00, 0x16, 0x3e];

    /// `xx:xx:xx:xx:xx:xx`, hex digits of either case.
    pub fn parse(s: &str) -> Option<Mac> {
        let mut m = [0u8; 6];
        let mut parts = s.split(':');
        for o in &mut m {
            let p = parts.next()?;
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *o = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(m))
    }

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// The MAC thindom gives a vif without `mac=`: Xen's OUI 00:16:3e and three
/// octets from a hash of the domain's name and the vif's devid, so a domain
/// re-created under the same name keeps its addresses (xl picks random
/// octets on every creation).
///
/// The hash is 64-bit FNV-1a over the name's bytes, a 0 byte, and the devid
/// as 4 little-endian bytes, folded as `h ^ (h >> 24) ^ (h >> 48)`; the low
/// three bytes of the fold, most significant first, are the last octets,
/// the first of them with its top bit cleared as xl does
/// (`libxl__device_nic_setdefault`: `r[0] & 0x7f`).
/// Two vifs collide with probability 2^-24 per pair: give `mac=` where
/// many guests share a segment.
pub fn default_mac(domain_name: &str, devid: u32) -> Mac {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in domain_name.bytes().chain([0]).chain(devid.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let f = h ^ (h >> 24) ^ (h >> 48);
    let [o0, o1, o2] = Mac::XEN_OUI;
    Mac([o0, o1, o2, (f >> 16) as u8 & 0x7f, (f >> 8) as u8, f as u8])
}

/// `type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NicType {
    /// Paravirtual only.
    #[default]
    Vif,
    /// Emulated and paravirtual (HVM guests).
    Ioemu,
}

/// One `ip=` address with its optional prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpSpec {
    pub addr: IpAddr,
    pub prefix: Option<u8>,
}

impl IpSpec {
    fn parse(s: &str) -> Option<IpSpec> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => Some(decimal(p).filter(|&n| n <= max)? as u8),
            None => None,
        };
        Some(IpSpec { addr, prefix })
    }
}

impl fmt::Display for IpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        match self.prefix {
            Some(p) => write!(f, "/{p}"),
            None => Ok(()),
        }
    }
}

/// `rate=`: credit-based limit on the vif's outgoing traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    bytes_per_sec: u64,
    interval_usecs: u32,
}

/// The credit interval without `@` (libxlu: 50 ms).
pub const DEFAULT_RATE_INTERVAL_USECS: u32 = 50_000;

impl Rate {
    /// Parses `RATE/s[@INTERVAL]`.
    pub fn parse(s: &str) -> Result<Rate, VifError> {
        let bad = || VifError::BadRate(s.into());
        let overflow = || VifError::RateOverflow(s.into());
        let (rate, interval) = match s.split_once('@') {
            Some((r, i)) => (r, Some(i)),
            None => (s, None),
        };
        let digits = rate.bytes().take_while(u8::is_ascii_digit).count();
        let (num, unit) = rate.split_at(digits);
        let (mult, bits): (u64, bool) = match unit {
            "B/s" => (1, false),
            "b/s" => (1, true),
            "KB/s" => (1_000, false),
            "Kb/s" => (1_000, true),
            "MB/s" => (1_000_000, false),
            "Mb/s" => (1_000_000, true),
            "GB/s" => (1_000_000_000, false),
            "Gb/s" => (1_000_000_000, true),
            _ => return Err(bad()),
        };
        let n = c_number(num).ok_or_else(bad)?;
        if n == 0 || n > u64::from(u32::MAX) {
            return Err(overflow());
        }
        let bytes_per_sec = if bits { n * mult / 8 } else { n * mult };
        let interval_usecs = match interval {
            None => DEFAULT_RATE_INTERVAL_USECS,
            Some(i) => {
                let digits = i.bytes().take_while(u8::is_ascii_digit).count();
                let (num, unit) = i.split_at(digits);
                let mult: u64 = match unit {
                    "" | "s" => 1_000_000,
                    "m" | "ms" => 1_000,
                    "u" | "us" => 1,
                    _ => return Err(bad()),
                };
                let n = c_number(num).ok_or_else(bad)?;
                if n == 0 || n > u64::from(u32::MAX) {
                    return Err(overflow());
                }
                u32::try_from(n * mult).map_err(|_| overflow())?
            }
        };
        if bytes_per_sec > u64::MAX / u64::from(interval_usecs) {
            return Err(overflow());
        }
        Ok(Rate { bytes_per_sec, interval_usecs })
    }

    pub fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec
    }

    pub fn interval_usecs(&self) -> u32 {
        self.interval_usecs
    }

    /// The credit per interval, as libxl writes it to the store (`rate`
    /// is `<bytes per interval>,<interval µs>`).
    pub fn bytes_per_interval(&self) -> u64 {
        // No overflow: `parse` checked the product.
        self.bytes_per_sec * u64::from(self.interval_usecs) / 1_000_000
    }
}

/// Canonical form `<n><unit>/s@<interval>us`, which parses back to the
/// same rate.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = u128::from(self.bytes_per_sec);
        let ok = |n: u128| (1..=u128::from(u32::MAX)).contains(&n);
        let mut shown = None;
        for (m, p) in [(1_000_000_000u128, "G"), (1_000_000, "M"), (1_000, "K")] {
            if v % m == 0 && ok(v / m) {
                shown = Some((v / m, p, "B"));
            } else if (v * 8) % m == 0 && ok(v * 8 / m) {
                shown = Some((v * 8 / m, p, "b"));
            }
            if shown.is_some() {
                break;
            }
        }
        let (n, p, u) = shown.unwrap_or(if v == 0 { (1, "", "b") } else { (v, "", "B") });
        write!(f, "{n}{p}{u}/s@{}us", self.interval_usecs)
    }
}

/// One `vif` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VifSpec {
    /// `None`: see [`VifSpec::mac_or_default`].
    pub mac: Option<Mac>,
    pub bridge: Option<String>,
    pub ip: Vec<IpSpec>,
    pub nic_type: NicType,
    /// Backend domain (name or id); `None` is domain 0.
    pub backend: Option<String>,
    pub script: Option<String>,
    pub vifname: Option<String>,
    pub model: Option<String>,
    pub rate: Option<Rate>,
    pub mtu: Option<u16>,
    pub gatewaydev: Option<String>,
    pub accel: Option<String>,
    /// `None`: see [`VifSpec::devid_or_index`].
    pub devid: Option<u32>,
    /// `trusted` / `untrusted`; `None` is the default (trusted).
    pub trusted: Option<bool>,
}

impl VifSpec {
    /// The device id: `devid=` if given, else the entry's index in the
    /// `vif` list (as xl numbers them).
    pub fn devid_or_index(&self, index: usize) -> u32 {
        self.devid.unwrap_or(index as u32)
    }

    /// `mac=` if given, else [`default_mac`] of the domain name and devid.
    pub fn mac_or_default(&self, domain_name: &str, devid: u32) -> Mac {
        self.mac.unwrap_or_else(|| default_mac(domain_name, devid))
    }
}

/// Canonical form: `key=value` pairs in a fixed order, joined by `,`.
impl fmt::Display for VifSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut put = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{args}");
            sep = ",";
            r
        };
        if let Some(m) = &self.mac {
            put(f, format_args!("mac={m}"))?;
        }
        if let Some(b) = &self.bridge {
            put(f, format_args!("bridge={b}"))?;
        }
        if !self.ip.is_empty() {
            put(f, format_args!("ip="))?;
            for (i, a) in self.ip.iter().enumerate() {
                write!(f, "{}{a}", if i > 0 { " " } else { "" })?;
            }
        }
        if self.nic_type == NicType::Ioemu {
            put(f, format_args!("type=ioemu"))?;
        }
        let strings =
            [("backend", &self.backend), ("script", &self.script), ("vifname", &self.vifname), ("model", &self.model)];
        for (k, v) in strings {
            if let Some(v) = v {
                put(f, format_args!("{k}={v}"))?;
            }
        }
        if let Some(r) = &self.rate {
            put(f, format_args!("rate={r}"))?;
        }
        if let Some(m) = self.mtu {
            put(f, format_args!("mtu={m}"))?;
        }
        if let Some(g) = &self.gatewaydev {
            put(f, format_args!("gatewaydev={g}"))?;
        }
        if let Some(a) = &self.accel {
            put(f, format_args!("accel={a}"))?;
        }
        if let Some(d) = self.devid {
            put(f, format_args!("devid={d}"))?;
        }
        match self.trusted {
            Some(true) => put(f, format_args!("trusted")),
            Some(false) => put(f, format_args!("untrusted")),
            None => Ok(()),
        }
    }
}

/// Why a vif spec was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VifError {
    TooLong,
    /// A value longer than its limit ([`MAX_PATH`] for script,
    /// [`MAX_NAME`] for model and accel, [`MAX_IPS`] addresses for ip).
    ValueTooLong(&'static str, usize),
    ControlCharacter,
    UnknownKey(String),
    NotKeyValue(String),
    Unsupported(&'static str),
    Duplicate(&'static str),
    Empty(&'static str),
    BadMac(String),
    MulticastMac(String),
    ZeroMac,
    BadIp(String),
    BadType(String),
    BadIfname(&'static str, String),
    BadBackend(String),
    BadModel(String),
    BadRate(String),
    RateOverflow(String),
    BadMtu(String),
    BadDevid(String),
}

impl fmt::Display for VifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VifError::*;
        match self {
            TooLong => write!(f, "vif spec longer than {MAX_VALUE} bytes"),
            ValueTooLong(k, n) if *k == "ip" => write!(f, "ip: more than {n} addresses"),
            ValueTooLong(k, n) => write!(f, "{k} longer than {n} bytes"),
            ControlCharacter => f.write_str("control character in vif spec"),
            UnknownKey(k) => write!(f, "unknown key '{k}'"),
            NotKeyValue(t) => write!(f, "'{t}' is not key=value, trusted or untrusted"),
            Unsupported(what) => write!(f, "{what} is not supported"),
            Duplicate(k) => write!(f, "duplicate key {k}"),
            Empty(k) => write!(f, "{k}: empty value"),
            BadMac(s) => write!(f, "mac '{s}' is not six hex octets xx:xx:xx:xx:xx:xx"),
            MulticastMac(s) => write!(f, "mac '{s}' is a multicast address"),
            ZeroMac => f.write_str("mac 00:00:00:00:00:00 is not an address"),
            BadIp(s) => write!(f, "ip '{s}' is not an IPv4 or IPv6 address with optional /prefix"),
            BadType(s) => write!(f, "type '{s}' is not vif/ioemu"),
            BadIfname(k, s) => {
                write!(f, "{k} '{s}' is not a network interface name (1 to 15 characters, no '/', ':' or blanks)")
            }
            BadBackend(s) => write!(f, "backend '{s}' is not a domain name or id"),
            BadModel(s) => write!(f, "model '{s}' is not a device model name"),
            BadRate(s) => write!(f, "rate '{s}' is not RATE/s[@INTERVAL] (e.g. 10Mb/s, 1MB/s@20ms)"),
            RateOverflow(s) => write!(f, "rate '{s}' is out of range"),
            BadMtu(s) => write!(f, "mtu '{s}' is not a number in 68..=65535"),
            BadDevid(s) => write!(f, "devid '{s}' is not a number in 0..={}", i32::MAX),
        }
    }
}

/// Longest `model` or `accel`.
pub const MAX_NAME: usize = 64;
/// Most addresses in `ip`.
pub const MAX_IPS: usize = 16;

/// A Linux network interface name (`dev_valid_name`, ASCII only).
fn is_ifname(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

const KEYS: &[&str] = &[
    "mac",
    "bridge",
    "ip",
    "type",
    "backend",
    "script",
    "vifname",
    "model",
    "rate",
    "mtu",
    "gatewaydev",
    "accel",
    "devid",
    "trusted",
];

fn set<T>(slot: &mut Option<T>, v: T) {
    *slot = Some(v);
}

fn value(spec: &mut VifSpec, key: &'static str, v: &str) -> Result<(), VifError> {
    let s = || String::from(v);
    let max = match key {
        "script" => MAX_PATH,
        "model" | "accel" => MAX_NAME,
        _ => usize::MAX,
    };
    if v.len() > max {
        return Err(VifError::ValueTooLong(key, max));
    }
    match key {
        "mac" => {
            let m = Mac::parse(v).ok_or_else(|| VifError::BadMac(s()))?;
            if m.is_multicast() {
                return Err(VifError::MulticastMac(s()));
            }
            if m.0 == [0; 6] {
                return Err(VifError::ZeroMac);
            }
            set(&mut spec.mac, m);
        }
        "bridge" | "vifname" | "gatewaydev" => {
            if !is_ifname(v) {
                return Err(VifError::BadIfname(key, s()));
            }
            let slot = match key {
                "bridge" => &mut spec.bridge,
                "vifname" => &mut spec.vifname,
                _ => &mut spec.gatewaydev,
            };
            set(slot, s());
        }
        "ip" => {
            for a in v.split(' ').filter(|a| !a.is_empty()) {
                if spec.ip.len() == MAX_IPS {
                    return Err(VifError::ValueTooLong(key, MAX_IPS));
                }
                spec.ip.push(IpSpec::parse(a).ok_or_else(|| VifError::BadIp(a.into()))?);
            }
        }
        "type" => {
            spec.nic_type = match v {
                "vif" => NicType::Vif,
                "ioemu" => NicType::Ioemu,
                _ => return Err(VifError::BadType(s())),
            }
        }
        "backend" => {
            if !is_domain_ref(v) {
                return Err(VifError::BadBackend(s()));
            }
            set(&mut spec.backend, s());
        }
        "script" => set(&mut spec.script, s()),
        "accel" => set(&mut spec.accel, s()),
        "model" => {
            if !v.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(VifError::BadModel(s()));
            }
            set(&mut spec.model, s());
        }
        "rate" => set(&mut spec.rate, Rate::parse(v)?),
        "mtu" => {
            let m = decimal(v).filter(|m| (68..=65535).contains(m)).ok_or_else(|| VifError::BadMtu(s()))?;
            set(&mut spec.mtu, m as u16);
        }
        _ => {
            let d = decimal(v).filter(|&d| d <= i32::MAX as u64).ok_or_else(|| VifError::BadDevid(s()))?;
            set(&mut spec.devid, d as u32);
        }
    }
    Ok(())
}

/// Parses one vif spec.
pub fn parse_vif(spec: &str) -> Result<VifSpec, VifError> {
    if spec.len() > MAX_VALUE {
        return Err(VifError::TooLong);
    }
    if has_control(spec) {
        return Err(VifError::ControlCharacter);
    }
    let mut v = VifSpec::default();
    let mut seen = 0u32;
    for tok in spec.split(',').map(|t| t.trim_matches(' ')).filter(|t| !t.is_empty()) {
        let (key, val) = match tok {
            "trusted" | "untrusted" => ("trusted", tok),
            _ => match tok.split_once('=') {
                // The flags take no value.
                Some(("trusted" | "untrusted", _)) | None => return Err(VifError::NotKeyValue(tok.into())),
                Some(("netdev", val)) => ("gatewaydev", val),
                Some(kv) => kv,
            },
        };
        if key == "forwarddev" || key.starts_with("colo_") {
            return Err(VifError::Unsupported("COLO"));
        }
        let i = KEYS.iter().position(|k| *k == key).ok_or_else(|| VifError::UnknownKey(key.into()))?;
        let key = KEYS[i];
        if seen & (1 << i) != 0 {
            return Err(VifError::Duplicate(key));
        }
        seen |= 1 << i;
        if val.is_empty() {
            return Err(VifError::Empty(key));
        }
        match key {
            "trusted" => v.trusted = Some(val == "trusted"),
            _ => value(&mut v, key, val)?,
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests;
