//! Network interfaces (`vif`), as Xen's `vif-bridge` hotplug script
//! (tools/hotplug/Linux/vif-bridge) sets them up: netback creates
//! `vif<frontend>.<devid>` when it probes the backend directory; the agent
//! renames it to `vifname` when one is given, makes sure the bridge exists
//! (creating it, up; without STP its ports forward at once), adds the
//! interface to it, brings it up and writes `hotplug-status=connected`,
//! which netback waits for before it connects to the frontend. When the
//! directory goes, netback removes the interface (and with it its bridge
//! port); the agent takes it off the bridge first if it still exists.
//!
//! Only `vif-bridge` is served: a device naming another script
//! (`vif-route`, `vif-nat`, `vif-openvswitch`) is an error, not a bridge
//! port it did not ask for.

use crate::hotplug::{text, HotplugError, CONNECTED, STATUS};
use crate::scope::DeviceId;
use crate::system::System;

/// The script node: which hotplug script libxl names.
pub const SCRIPT: &str = "script";
/// The bridge to join.
pub const BRIDGE: &str = "bridge";
/// The interface's name in the driver domain, when not netback's.
pub const VIFNAME: &str = "vifname";
/// The nodes the agent reads for a vif (besides the common ones).
pub const NODES: &[&str] = &[SCRIPT, BRIDGE, VIFNAME];

/// The one hotplug script served.
pub const VIF_BRIDGE: &str = "vif-bridge";

/// How long the agent waits for netback's interface to appear (it is
/// created while netback probes the directory the agent was told about).
pub const NETDEV_WAIT_MS: u64 = 10_000;
/// How often it looks meanwhile.
pub const NETDEV_POLL_MS: u64 = 50;

/// Longest Linux interface name (`IFNAMSIZ` less the terminating NUL).
pub const MAX_IFNAME: usize = 15;

/// What a vif directory asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub bridge: String,
    pub vifname: Option<String>,
}

/// Whether `s` can name a Linux network interface (`dev_valid_name`):
/// 1 to 15 bytes, not `.` or `..`, no `/`, `:` or blanks; the agent also
/// keeps to printable ASCII so the name is safe on a command line.
pub fn is_ifname(s: &str) -> bool {
    (1..=MAX_IFNAME).contains(&s.len())
        && s != "."
        && s != ".."
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

/// Checks a vif directory's nodes.
pub fn parse(script: Option<&[u8]>, bridge: Option<&[u8]>, vifname: Option<&[u8]>) -> Result<Request, HotplugError> {
    let script = text(SCRIPT, script.ok_or(HotplugError::Missing(SCRIPT))?)?;
    let name = script.rsplit('/').next().unwrap_or(script);
    if name != VIF_BRIDGE {
        return Err(HotplugError::Invalid {
            node: SCRIPT,
            why: format!("is {:?}; the driver domain's agent serves {VIF_BRIDGE} only", crate::bounded(script, 128)),
        });
    }
    let ifname = |node: &'static str, v: &[u8]| -> Result<String, HotplugError> {
        let s = text(node, v)?;
        if !is_ifname(s) {
            return Err(HotplugError::Invalid {
                node,
                why: format!("is {:?}, not an interface name (1 to {MAX_IFNAME} characters)", crate::bounded(s, 64)),
            });
        }
        Ok(s.to_string())
    };
    let bridge = ifname(BRIDGE, bridge.ok_or(HotplugError::Missing(BRIDGE))?)?;
    let vifname = vifname.filter(|v| !v.is_empty()).map(|v| ifname(VIFNAME, v)).transpose()?;
    Ok(Request { bridge, vifname })
}

/// The interface netback makes for device `id`.
pub fn netback_ifname(id: DeviceId) -> String {
    format!("vif{}.{}", id.frontend, id.devid)
}

/// A vif set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugged {
    /// The interface in the driver domain.
    pub ifname: String,
    pub bridge: String,
}

impl Plugged {
    /// The nodes that report it, in the order written.
    pub fn nodes(&self) -> Vec<(&'static str, String)> {
        vec![(STATUS, CONNECTED.to_string())]
    }
}

/// Sets up device `id` as `req` asks: waits (bounded) for netback's
/// interface, renames it, adds it to the bridge (made if missing) and
/// brings it up. On failure nothing it did stays.
pub fn attach<Y: System>(sys: &mut Y, id: DeviceId, req: &Request) -> Result<Plugged, HotplugError> {
    let made = netback_ifname(id);
    let mut waited = 0;
    while !sys.net_exists(&made) {
        if waited >= NETDEV_WAIT_MS {
            return Err(HotplugError::Net(format!(
                "{made} did not appear within {} s (is xen-netback loaded?)",
                NETDEV_WAIT_MS / 1000
            )));
        }
        sys.sleep_ms(NETDEV_POLL_MS);
        waited += NETDEV_POLL_MS;
    }
    let ifname = match &req.vifname {
        Some(n) if *n != made => {
            if sys.net_exists(n) {
                return Err(HotplugError::Net(format!("vifname {n}: an interface of that name exists already")));
            }
            sys.net_rename(&made, n).map_err(HotplugError::Net)?;
            n.clone()
        }
        _ => made,
    };
    sys.bridge_ensure(&req.bridge).map_err(HotplugError::Net)?;
    sys.bridge_add(&req.bridge, &ifname).map_err(HotplugError::Net)?;
    Ok(Plugged { ifname, bridge: req.bridge.clone() })
}

/// Takes `p` off its bridge if the interface still exists (netback removes
/// it with the device); errors are logged only.
pub fn release<Y: System>(sys: &mut Y, p: &Plugged) {
    if sys.net_exists(&p.ifname) {
        if let Err(e) = sys.bridge_remove(&p.bridge, &p.ifname) {
            // Netback may remove it between the check and the command.
            if sys.net_exists(&p.ifname) {
                log::warn!("taking {} off {}: {e}", p.ifname, p.bridge);
            }
        }
    }
}

/// A bridge made at start, and the driver domain's own address on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConf {
    pub name: String,
    /// `ADDR/PREFIX`, IPv4 or IPv6.
    pub addr: Option<String>,
}

impl BridgeConf {
    /// `NAME[:ADDR/PREFIX]` (the first `:` separates; IPv6 addresses have
    /// more).
    pub fn parse(s: &str) -> Result<BridgeConf, String> {
        let (name, addr) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        if !is_ifname(name) {
            return Err(format!("bridge {:?}: not an interface name", crate::bounded(name, 32)));
        }
        let addr = addr
            .map(|a| {
                let (ip, prefix) = a.split_once('/').ok_or_else(|| format!("bridge {name}: {a:?} has no /PREFIX"))?;
                let ip: std::net::IpAddr =
                    ip.parse().map_err(|_| format!("bridge {name}: {ip:?} is not an address"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                match crate::scope::canonical_number::<u8>(prefix) {
                    Some(p) if p <= max => Ok(format!("{ip}/{p}")),
                    _ => Err(format!("bridge {name}: prefix {prefix:?} is not in 0..={max}")),
                }
            })
            .transpose()?;
        Ok(BridgeConf { name: name.to_string(), addr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(script: &str, bridge: &str, vifname: Option<&str>) -> Result<Request, HotplugError> {
        parse(Some(script.as_bytes()), Some(bridge.as_bytes()), vifname.map(str::as_bytes))
    }

    #[test]
    fn parses_what_libxl_writes() {
        let r = p("/etc/xen/scripts/vif-bridge", "xenbr0", None).unwrap();
        assert_eq!(r, Request { bridge: "xenbr0".into(), vifname: None });
        assert_eq!(p("vif-bridge", "br1", Some("web0")).unwrap().vifname.as_deref(), Some("web0"));
        assert_eq!(p("vif-bridge", "br1", Some("")).unwrap().vifname, None);
    }

    #[test]
    fn refuses_other_scripts_and_bad_names() {
        let e = |s: &str, b: &str, v: Option<&str>| p(s, b, v).unwrap_err().to_string();
        assert_eq!(
            e("/etc/xen/scripts/vif-route", "xenbr0", None),
            "backend node script is \"/etc/xen/scripts/vif-route\"; the driver domain's agent serves vif-bridge only"
        );
        assert_eq!(
            e("vif-bridge", "a/b", None),
            "backend node bridge is \"a/b\", not an interface name (1 to 15 characters)"
        );
        assert!(e("vif-bridge", "", None).contains("not an interface name"));
        assert!(e("vif-bridge", "x".repeat(16).as_str(), None).contains("not an interface name"));
        assert!(e("vif-bridge", "-d", None).contains("not an interface name"));
        assert!(e("vif-bridge", "br0", Some("a b")).contains("vifname"));
        assert_eq!(e("vif-bridge", "br\n", None), "backend node bridge contains control characters");
        assert_eq!(parse(None, Some(b"b"), None), Err(HotplugError::Missing(SCRIPT)));
        assert_eq!(parse(Some(b"vif-bridge"), None, None), Err(HotplugError::Missing(BRIDGE)));
    }

    #[test]
    fn ifnames() {
        for ok in ["xenbr0", "vif1.0", "a", "br-lan_1", "x".repeat(15).as_str()] {
            assert!(is_ifname(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "-x", "é", "x".repeat(16).as_str()] {
            assert!(!is_ifname(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..20),
            c in proptest::collection::vec(proptest::num::u8::ANY, 0..20),
        ) {
            if let Ok(r) = parse(Some(&a), Some(&b), Some(&c)) {
                proptest::prop_assert!(is_ifname(&r.bridge));
            }
        }
    }
}
