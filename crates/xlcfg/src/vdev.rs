//! Virtual block device names and device ids, as libxl computes them
//! (`libxl__device_disk_dev_number` and `libxl__devid_to_vdev` in
//! `tools/libs/light/libxl_device.c` of Xen 4.17; the scheme is
//! `docs/misc/vbd-interface.txt`).
//!
//! A name is tried, in this order, as
//! - `d<N>p<M>` (N < 2^20, M < 256; numbers as C `%i`: decimal, `0x` hex,
//!   `0` octal) or `xvd<letters>[<partition>]` (disk < 2^20, partition
//!   1..=255): `(202 << 8) | (disk << 4) | partition` if both are at most
//!   15, else the extended form `(1 << 28) | (disk << 8) | partition`;
//! - a plain number (decimal, `0x` hex, `0` octal; at most `i32::MAX`),
//!   used as the id;
//! - `hd<letters>[<partition>]` (disk 0..=3, partition 0..=63):
//!   `((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | partition`;
//! - `sd<letters>[<partition>]` (disk and partition 0..=15):
//!   `(8 << 8) | (disk << 4) | partition`.
//!
//! Letters count like spreadsheet columns: `a`..`z` are 0..25, `aa` is 26.
//! A partition has no leading zero.
//!
//! thindom is stricter than libxl where libxl relies on C library leniency:
//! no blanks or signs inside numbers (libxl's `sscanf`/`strtoul` accept
//! them, turning `xvda-1` into an invalid id but `xvda+1` into `xvda1`),
//! and at least one letter (libxl reads a bare `hd` as `hdb`).

use crate::fields::{c_number, decimal};
use alloc::string::String;
use alloc::vec::Vec;

/// Major number of `xvd` devices.
pub const XVD_MAJOR: u32 = 202;
/// The extended-id flag (`docs/misc/vbd-interface.txt`).
pub const EXTENDED: u32 = 1 << 28;
/// Most disks of the `xvd` and `d<N>p<M>` forms (2^20).
pub const MAX_XVD_DISKS: u32 = 1 << 20;

/// `prefix` followed by letters and an optional partition: (disk, partition).
fn lettered(name: &str, prefix: &str, max_disk: u32, max_part: u32) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(prefix)?;
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 {
        return None;
    }
    let mut disk: u32 = 0;
    for (i, b) in rest.bytes().take(letters).enumerate() {
        let digit = u32::from(b - b'a');
        // Bijective base 26: "a" is 0, "z" 25, "aa" 26.
        disk = if i == 0 { digit } else { (disk + 1).checked_mul(26)?.checked_add(digit)? };
        if disk > max_disk {
            return None;
        }
    }
    let part = &rest[letters..];
    if part.is_empty() {
        return Some((disk, 0));
    }
    if part.starts_with('0') {
        return None;
    }
    let p = decimal(part)?;
    (p <= u64::from(max_part)).then_some((disk, p as u32))
}

/// `d<N>p<M>`.
fn dp_form(name: &str) -> Option<(u32, u32)> {
    let (d, p) = name.strip_prefix('d')?.split_once('p')?;
    let (d, p) = (c_number(d)?, c_number(p)?);
    (d < u64::from(MAX_XVD_DISKS) && p < 256).then_some((d as u32, p as u32))
}

/// The device id of a virtual device name, or `None` if libxl would not
/// accept it.
pub fn vdev_to_devid(vdev: &str) -> Option<u32> {
    if let Some((disk, part)) = dp_form(vdev).or_else(|| lettered(vdev, "xvd", MAX_XVD_DISKS - 1, 255)) {
        return Some(if disk <= 15 && part <= 15 {
            (XVD_MAJOR << 8) | (disk << 4) | part
        } else {
            EXTENDED | (disk << 8) | part
        });
    }
    if let Some(n) = c_number(vdev) {
        return (n <= i32::MAX as u64).then_some(n as u32);
    }
    if let Some((disk, part)) = lettered(vdev, "hd", 3, 63) {
        return Some(((if disk < 2 { 3 } else { 22 }) << 8) | ((disk & 1) << 6) | part);
    }
    lettered(vdev, "sd", 15, 15).map(|(disk, part)| (8 << 8) | (disk << 4) | part)
}

/// The letters of disk number `n` (`0` → `a`, `26` → `aa`).
pub fn disk_letters(mut n: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.reverse();
    out.into_iter().map(char::from).collect()
}

/// The `xvd` name of a device id, as `xl block-list` shows it
/// (`libxl__devid_to_vdev`): only the minor number counts, so `hda`'s id
/// 768 reads back as `xvda`.
pub fn devid_to_vdev(devid: u32) -> String {
    let (minor, parts) = if devid & EXTENDED == 0 { (devid & 0xff, 16) } else { (devid & !EXTENDED, 256) };
    let mut s = String::from("xvd");
    s.push_str(&disk_letters(minor / parts));
    if minor % parts != 0 {
        s.push_str(&alloc::format!("{}", minor % parts));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn libxl_examples() {
        let id = |s: &str| vdev_to_devid(s);
        assert_eq!(id("xvda"), Some(51712));
        assert_eq!(id("xvdb"), Some(51728));
        assert_eq!(id("xvda1"), Some(51713));
        assert_eq!(id("xvda15"), Some(51727));
        assert_eq!(id("xvda16"), Some(EXTENDED | 16));
        assert_eq!(id("xvdq"), Some((1 << 28) | (16 << 8)));
        assert_eq!(id("xvdz"), Some(EXTENDED | (25 << 8)));
        assert_eq!(id("xvdaa"), Some(EXTENDED | (26 << 8)));
        assert_eq!(id("hda"), Some(768));
        assert_eq!(id("hdb"), Some(832));
        assert_eq!(id("hdc"), Some(5632));
        assert_eq!(id("hdd1"), Some((22 << 8) | 64 | 1));
        assert_eq!(id("hda63"), Some(768 + 63));
        assert_eq!(id("sda"), Some(2048));
        assert_eq!(id("sdb2"), Some(2048 + 16 + 2));
        assert_eq!(id("51712"), Some(51712));
        assert_eq!(id("0xca00"), Some(51712));
        assert_eq!(id("0"), Some(0));
        assert_eq!(id("2147483647"), Some(i32::MAX as u32));
        assert_eq!(id("d0p0"), Some(51712));
        assert_eq!(id("d1p2"), Some(51712 + 16 + 2));
        assert_eq!(id("d16p0"), Some(EXTENDED | (16 << 8)));
        assert_eq!(id("d0x10p0"), Some(EXTENDED | (16 << 8)));
        assert_eq!(id("d1048575p255"), Some(EXTENDED | (1048575 << 8) | 255));
    }

    #[test]
    fn libxl_rejections() {
        for bad in [
            "",
            "xvd",
            "hd",
            "sd",
            "xvda0",
            "xvda01",
            "xvda256",
            "xvdA",
            "xvda-1",
            "xvda+1",
            "xvda 1",
            "hde",
            "hda64",
            "sdq",
            "sda16",
            "2147483648",
            "-1",
            "d1048576p0",
            "d0p256",
            "d0p",
            "dp0",
            "d0p0x",
            "xyz",
            "xvdbxxxx",
            "vda",
            "/dev/xvda",
        ] {
            assert_eq!(vdev_to_devid(bad), None, "{bad:?}");
        }
        // 26^5 > 2^20: too many letters.
        assert_eq!(vdev_to_devid("xvdzzzzz"), None);
    }

    #[test]
    fn ids_to_names() {
        assert_eq!(devid_to_vdev(51712), "xvda");
        assert_eq!(devid_to_vdev(51713), "xvda1");
        assert_eq!(devid_to_vdev(51728), "xvdb");
        assert_eq!(devid_to_vdev(EXTENDED | (16 << 8)), "xvdq");
        assert_eq!(devid_to_vdev(EXTENDED | (26 << 8) | 3), "xvdaa3");
        assert_eq!(devid_to_vdev(768), "xvda");
        assert_eq!(devid_to_vdev(u32::MAX), "xvd".to_string() + &disk_letters(0xef_ffff) + "255");
        assert_eq!(disk_letters(0), "a");
        assert_eq!(disk_letters(25), "z");
        assert_eq!(disk_letters(26), "aa");
        assert_eq!(disk_letters(701), "zz");
        assert_eq!(disk_letters(702), "aaa");
    }

    proptest! {
        #[test]
        fn xvd_names_round_trip(disk in 0u32..MAX_XVD_DISKS, part in 0u32..256) {
            let mut name = String::from("xvd") + &disk_letters(disk);
            if part > 0 {
                name += &alloc::format!("{part}");
            }
            let id = vdev_to_devid(&name).unwrap();
            prop_assert_eq!(devid_to_vdev(id), name.clone());
            prop_assert_eq!(vdev_to_devid(&alloc::format!("d{disk}p{part}")), Some(id));
        }

        #[test]
        fn any_name_gives_id_or_none(s in prop_oneof!["\\PC{0,16}", "(xvd|hd|sd|d|0x)?[a-z0-9p]{0,7}"]) {
            if let Some(id) = vdev_to_devid(&s) {
                if s.starts_with("xvd") {
                    prop_assert_eq!(devid_to_vdev(id), s);
                }
            }
        }

        #[test]
        fn any_id_has_a_name(id in any::<u32>()) {
            let name = devid_to_vdev(id);
            prop_assert!(name.starts_with("xvd"));
        }
    }
}
