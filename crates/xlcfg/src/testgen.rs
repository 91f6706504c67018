//! proptest strategies for valid device specs (tests only).

use crate::disk::{Access, BackendType, DevType, DiskFormat, DiskSpec, Legacy, Specification};
use crate::vdev::{disk_letters, vdev_to_devid};
use crate::vif::{IpSpec, Mac, NicType, Rate, VifSpec};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use proptest::prelude::*;

/// A virtual device name of every form libxl reads.
pub fn arb_vdev() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..800, 0u32..256).prop_map(|(d, p)| {
            let part = if p > 0 { format!("{p}") } else { String::new() };
            format!("xvd{}{part}", disk_letters(d))
        }),
        (0u32..4, 0u32..64).prop_map(|(d, p)| format!(
            "hd{}{}",
            disk_letters(d),
            if p > 0 { format!("{p}") } else { String::new() }
        )),
        (0u32..16, 0u32..16).prop_map(|(d, p)| format!(
            "sd{}{}",
            disk_letters(d),
            if p > 0 { format!("{p}") } else { String::new() }
        )),
        (0u32..(1 << 20), 0u32..256).prop_map(|(d, p)| format!("d{d}p{p}")),
        (0u32..=i32::MAX as u32).prop_map(|n| format!("{n}")),
        (0u32..=0xffff).prop_map(|n| format!("0x{n:x}")),
    ]
}

fn opt<T: core::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

/// A valid disk spec (as `parse_disk` would return it).
pub fn arb_disk() -> impl Strategy<Value = DiskSpec> {
    let names = (
        arb_vdev(),
        any::<bool>(),
        opt("[ -~]{1,40}|\\PC{1,10}"),
        opt("[a-zA-Z0-9_.-]{1,20}"),
        opt("[ -+\\--~]{1,20}"),
        prop_oneof![
            Just(DiskFormat::Raw),
            Just(DiskFormat::Qcow),
            Just(DiskFormat::Qcow2),
            Just(DiskFormat::Vhd),
            Just(DiskFormat::Qed)
        ],
    );
    let flags = (
        any::<bool>(),
        opt(prop_oneof![
            Just(BackendType::Phy),
            Just(BackendType::Tap),
            Just(BackendType::Qdisk),
            Just(BackendType::Standalone)
        ]),
        opt(prop_oneof![Just(Specification::Xen), Just(Specification::Virtio)]),
        any::<bool>(),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(prop_oneof![Just(Legacy::Phy), Just(Legacy::File)]),
    );
    (names, flags).prop_map(|((vdev, cdrom, target, backend, script, format), flags)| {
        let (rw, backendtype, specification, direct_io_safe, discard, trusted, legacy) = flags;
        let target = if cdrom { target } else { Some(target.unwrap_or_else(|| "/dev/vg/x".into())) };
        DiskSpec {
            format: if cdrom && target.is_none() { DiskFormat::Empty } else { format },
            target,
            devid: vdev_to_devid(&vdev).unwrap(),
            vdev,
            access: if rw && !cdrom { Access::ReadWrite } else { Access::ReadOnly },
            devtype: if cdrom { DevType::Cdrom } else { DevType::Disk },
            backend,
            backendtype,
            specification,
            script,
            direct_io_safe,
            discard,
            trusted,
            legacy,
        }
    })
}

fn arb_ip() -> impl Strategy<Value = IpSpec> {
    prop_oneof![
        (any::<u32>(), opt(0u8..=32)).prop_map(|(a, prefix)| IpSpec { addr: IpAddr::V4(Ipv4Addr::from(a)), prefix }),
        (any::<u128>(), opt(0u8..=128)).prop_map(|(a, prefix)| IpSpec { addr: IpAddr::V6(Ipv6Addr::from(a)), prefix }),
    ]
}

/// A rate as `parse_vif` reads it.
pub fn arb_rate() -> impl Strategy<Value = Rate> {
    let units = ["B", "b", "KB", "Kb", "MB", "Mb", "GB", "Gb"];
    let intervals = ["", "s", "ms", "m", "us", "u"];
    (1u64..=u32::MAX as u64, 0..units.len(), opt((1u32..100_000, 0..intervals.len()))).prop_filter_map(
        "overflowing rate",
        move |(n, u, i)| {
            let at = i.map(|(n, u)| format!("@{n}{}", intervals[u])).unwrap_or_default();
            Rate::parse(&format!("{n}{}/s{at}", units[u])).ok()
        },
    )
}

/// A valid vif spec.
pub fn arb_vif() -> impl Strategy<Value = VifSpec> {
    let ifname = "[a-z][a-z0-9_.-]{0,14}";
    let names = (
        opt(any::<[u8; 6]>().prop_map(|mut m| {
            m[0] &= 0xfe;
            m[5] |= 1;
            Mac(m)
        })),
        opt(ifname),
        proptest::collection::vec(arb_ip(), 0..4),
        prop_oneof![Just(NicType::Vif), Just(NicType::Ioemu)],
        opt("[a-zA-Z0-9_-]{1,20}"),
        opt("[a-zA-Z0-9/_.-]{1,30}"),
        opt(ifname),
    );
    let rest = (
        opt("[a-z0-9]{1,10}"),
        opt(arb_rate()),
        opt(68u16..=65535),
        opt(ifname),
        opt("[a-z]{1,8}"),
        opt(0u32..1000),
        opt(any::<bool>()),
    );
    (names, rest).prop_map(|((mac, bridge, ip, nic_type, backend, script, vifname), rest)| {
        let (model, rate, mtu, gatewaydev, accel, devid, trusted) = rest;
        VifSpec {
            mac,
            bridge,
            ip,
            nic_type,
            backend,
            script,
            vifname,
            model,
            rate,
            mtu,
            gatewaydev,
            accel,
            devid,
            trusted,
        }
    })
}

/// Disks with distinct device ids.
pub fn arb_disks(max: usize) -> impl Strategy<Value = Vec<DiskSpec>> {
    proptest::collection::vec(arb_disk(), 0..max).prop_map(|mut v| {
        let mut ids = Vec::new();
        v.retain(|d| {
            let new = !ids.contains(&d.devid);
            ids.push(d.devid);
            new
        });
        v
    })
}

/// Vifs with distinct device ids.
pub fn arb_vifs(max: usize) -> impl Strategy<Value = Vec<VifSpec>> {
    proptest::collection::vec(arb_vif(), 0..max).prop_map(|mut v| {
        for i in 0..v.len() {
            if (0..i).any(|j| v[j].devid_or_index(j) == v[i].devid_or_index(i)) {
                v[i].devid = Some(10_000 + i as u32);
            }
        }
        v
    })
}
