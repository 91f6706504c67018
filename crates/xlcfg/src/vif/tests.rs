use super::*;
use crate::testgen::{arb_rate, arb_vif};
use alloc::string::ToString;
use proptest::prelude::*;

fn p(s: &str) -> VifSpec {
    parse_vif(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn e(s: &str) -> String {
    parse_vif(s).map(|v| alloc::format!("{v:?}")).unwrap_err().to_string()
}

#[test]
fn document_examples() {
    let v = p("mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0");
    assert_eq!(v.mac, Some(Mac([0x00, 0x16, 0x3e, 0x74, 0x3d, 0x76])));
    assert_eq!((v.model.as_deref(), v.bridge.as_deref()), (Some("rtl8139"), Some("xenbr0")));
    assert_eq!(p("mac=00:16:3E:74:34:32").mac, Some(Mac([0, 0x16, 0x3e, 0x74, 0x34, 0x32])));
    assert_eq!(p(""), VifSpec::default());
    assert_eq!(p("mac=00:16:3e:5f:48:e4,bridge=xenbr1").bridge.as_deref(), Some("xenbr1"));
}

#[test]
fn every_key() {
    let v = p("mac=00:16:3e:00:00:01, bridge=br0, ip=192.0.2.1 10.0.0.0/8 2001:db8::1/64, type=ioemu, backend=net, \
               script=vif-route, vifname=vm1.0, model=e1000, rate=10Mb/s, mtu=9000, gatewaydev=eth0, accel=x, \
               devid=3, untrusted");
    assert_eq!(v.ip.len(), 3);
    assert_eq!(v.ip[1], IpSpec { addr: "10.0.0.0".parse().unwrap(), prefix: Some(8) });
    assert_eq!(v.ip[2].to_string(), "2001:db8::1/64");
    assert_eq!(v.nic_type, NicType::Ioemu);
    assert_eq!((v.backend.as_deref(), v.script.as_deref()), (Some("net"), Some("vif-route")));
    assert_eq!((v.vifname.as_deref(), v.gatewaydev.as_deref()), (Some("vm1.0"), Some("eth0")));
    assert_eq!((v.mtu, v.devid, v.trusted, v.accel.as_deref()), (Some(9000), Some(3), Some(false), Some("x")));
    assert_eq!(p("netdev=eth1").gatewaydev.as_deref(), Some("eth1"));
    assert_eq!(p("type=vif,trusted").nic_type, NicType::Vif);
    assert_eq!(p(",, bridge=br0 ,").bridge.as_deref(), Some("br0"));
}

#[test]
fn rates() {
    let r = |s: &str| Rate::parse(s).unwrap();
    // The document's examples.
    assert_eq!(r("10Mb/s").bytes_per_sec(), 1_250_000);
    assert_eq!(r("10Mb/s").interval_usecs(), 50_000);
    assert_eq!(r("250KB/s").bytes_per_sec(), 250_000);
    let x = r("1MB/s@20ms");
    assert_eq!((x.interval_usecs(), x.bytes_per_interval()), (20_000, 20_000));
    assert_eq!(r("1B/s@2").interval_usecs(), 2_000_000);
    assert_eq!(r("1B/s@5u").interval_usecs(), 5);
    assert_eq!(r("010B/s").bytes_per_sec(), 8);
    assert_eq!(r("1b/s").bytes_per_sec(), 0);
    assert_eq!(r("1b/s").to_string(), "1b/s@50000us");
    assert_eq!(r("1Kb/s").to_string(), "1Kb/s@50000us");
    assert_eq!(r("4294967295GB/s@1us").to_string(), "4294967295GB/s@1us");
    for bad in ["", "10", "10Mb", "10mb/s", "Mb/s", "09MB/s", "1MB/s@", "1MB/s@1x", "1MB/s@1ms@2", "-1MB/s"] {
        assert_eq!(Rate::parse(bad), Err(VifError::BadRate(bad.into())), "{bad:?}");
    }
    for big in ["0B/s", "4294967296B/s", "1B/s@0", "1B/s@4295s", "4294967295GB/s@2s"] {
        assert_eq!(Rate::parse(big), Err(VifError::RateOverflow(big.into())), "{big:?}");
    }
}

#[test]
fn errors() {
    assert_eq!(e("frob=1"), "unknown key 'frob'");
    assert_eq!(e("bridge"), "'bridge' is not key=value, trusted or untrusted");
    assert_eq!(e("trusted=1"), "'trusted=1' is not key=value, trusted or untrusted");
    assert_eq!(e("bridge=a,bridge=b"), "duplicate key bridge");
    assert_eq!(e("gatewaydev=a,netdev=b"), "duplicate key gatewaydev");
    assert_eq!(e("trusted,untrusted"), "duplicate key trusted");
    assert_eq!(e("bridge="), "bridge: empty value");
    assert_eq!(e("mac=00:16:3e:00:00"), "mac '00:16:3e:00:00' is not six hex octets xx:xx:xx:xx:xx:xx");
    assert_eq!(e("mac=00:16:3e:00:00:1"), "mac '00:16:3e:00:00:1' is not six hex octets xx:xx:xx:xx:xx:xx");
    assert_eq!(e("mac=00-16-3e-00-00-01"), "mac '00-16-3e-00-00-01' is not six hex octets xx:xx:xx:xx:xx:xx");
    assert_eq!(e("mac=00:16:3e:00:00:01:02"), "mac '00:16:3e:00:00:01:02' is not six hex octets xx:xx:xx:xx:xx:xx");
    assert_eq!(e("mac=01:00:5e:00:00:01"), "mac '01:00:5e:00:00:01' is a multicast address");
    assert_eq!(e("mac=00:00:00:00:00:00"), "mac 00:00:00:00:00:00 is not an address");
    assert_eq!(e("ip=192.0.2.256"), "ip '192.0.2.256' is not an IPv4 or IPv6 address with optional /prefix");
    assert_eq!(e("ip=192.0.2.1/33"), "ip '192.0.2.1/33' is not an IPv4 or IPv6 address with optional /prefix");
    assert_eq!(e("ip=1.2.3.4 ::1/129"), "ip '::1/129' is not an IPv4 or IPv6 address with optional /prefix");
    assert_eq!(e("ip=1.2.3"), "ip '1.2.3' is not an IPv4 or IPv6 address with optional /prefix");
    assert_eq!(e("type=virtio"), "type 'virtio' is not vif/ioemu");
    let ifname = "is not a network interface name (1 to 15 characters, no '/', ':' or blanks)";
    assert_eq!(e("bridge=a/b"), alloc::format!("bridge 'a/b' {ifname}"));
    assert_eq!(e("vifname=abcdefghijklmnop"), alloc::format!("vifname 'abcdefghijklmnop' {ifname}"));
    assert_eq!(e("gatewaydev=eth0:1"), alloc::format!("gatewaydev 'eth0:1' {ifname}"));
    assert_eq!(e("bridge=a b"), alloc::format!("bridge 'a b' {ifname}"));
    assert_eq!(e("backend=a/b"), "backend 'a/b' is not a domain name or id");
    assert_eq!(e("model=a b"), "model 'a b' is not a device model name");
    assert_eq!(e("rate=fast"), "rate 'fast' is not RATE/s[@INTERVAL] (e.g. 10Mb/s, 1MB/s@20ms)");
    assert_eq!(e("mtu=67"), "mtu '67' is not a number in 68..=65535");
    assert_eq!(e("mtu=+1500"), "mtu '+1500' is not a number in 68..=65535");
    assert_eq!(e("devid=-1"), "devid '-1' is not a number in 0..=2147483647");
    assert_eq!(e("devid=2147483648"), "devid '2147483648' is not a number in 0..=2147483647");
    assert_eq!(e("colo_sock_mirror_id=1"), "COLO is not supported");
    assert_eq!(e("bridge=br0\n"), "control character in vif spec");
    assert_eq!(e(&alloc::format!("script={}", "x".repeat(MAX_PATH + 1))), "script longer than 1024 bytes");
    assert_eq!(e(&alloc::format!("ip={}", "1.2.3.4 ".repeat(MAX_IPS + 1))), "ip: more than 16 addresses");
}

#[test]
fn default_macs_are_stable_and_distinct() {
    let a = default_mac("web", 0);
    assert_eq!(a, default_mac("web", 0));
    assert_eq!(a.0[..3], Mac::XEN_OUI);
    assert_ne!(a, default_mac("web", 1));
    assert_ne!(a, default_mac("web2", 0));
    // Pinned: changing the hash would change guests' addresses.
    assert_eq!(default_mac("web", 0).to_string(), PINNED_WEB_0);
    let v = p("bridge=br0");
    assert_eq!(v.mac_or_default("web", v.devid_or_index(0)), a);
    assert_eq!(p("mac=00:16:3e:00:00:01").mac_or_default("web", 0).to_string(), "00:16:3e:00:00:01");
    assert_eq!(p("devid=7").devid_or_index(0), 7);
    assert_eq!(p("").devid_or_index(2), 2);
}

/// 64-bit FNV-1a of "web", 0, 0u32 LE, folded (computed independently).
const PINNED_WEB_0: &str = "00:16:3e:0f:0e:c2";

#[test]
fn canonical_form() {
    let v = p(" devid=1 , trusted");
    assert_eq!(v.to_string(), "devid=1,trusted");
    let v = p("bridge=br0,mac=00:16:3E:74:3d:76,rate=1MB/s@20ms,ip=::ffff:1.2.3.4");
    assert_eq!(v.to_string(), "mac=00:16:3e:74:3d:76,bridge=br0,ip=::ffff:1.2.3.4,rate=1MB/s@20000us");
}

proptest! {
    #[test]
    fn render_then_parse_is_identity(v in arb_vif()) {
        let text = v.to_string();
        prop_assert_eq!(parse_vif(&text), Ok(v), "{}", text);
    }

    #[test]
    fn rates_render_to_themselves(r in arb_rate()) {
        prop_assert_eq!(Rate::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn any_text_gives_spec_or_error(s in "\\PC{0,80}") {
        let _ = parse_vif(&s);
    }

    #[test]
    fn parsed_specs_render_to_themselves(s in "(((mac|ip|rate|mtu|devid|bridge)=)?[0-9a-fA-F:./@ KMGBbsmu]{0,12},){0,4}") {
        if let Ok(v) = parse_vif(&s) {
            prop_assert_eq!(parse_vif(&v.to_string()), Ok(v));
        }
    }

    #[test]
    fn default_macs_are_unicast(name in "\\PC{0,20}", devid in any::<u32>()) {
        let m = default_mac(&name, devid);
        prop_assert!(!m.is_multicast());
        prop_assert_eq!(&m.0[..3], &Mac::XEN_OUI[..]);
        prop_assert!(m.0[3] < 0x80, "xl's form: 00:16:3e and a fourth octet below 0x80");
    }
}
