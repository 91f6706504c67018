use super::*;
use crate::testgen::{arb_disks, arb_vifs};
use proptest::prelude::*;

const LINUX: &str = r#"
# A Linux guest
name = "linux"
kernel = "linux/Image"
ramdisk = "linux/initrd.cpio"
memory = 64
vcpus = 1
extra = "console=hvc0 rdinit=/init"
root = "/dev/ram0"
on_crash = "preserve"
on_watchdog = "restart"
iomem = [ "9010,1@22010", "9020,2" ]
irqs = [ 40 ]
dtdev = [ "/pl061@9030000" ]
device_tree = "passthrough.dtb"
autostart = 1
"#;

#[test]
fn reads_every_key() {
    let d = DomainConfig::from_text(LINUX).unwrap();
    assert_eq!(d.name, "linux");
    assert_eq!((d.memory_mib, d.maxmem_mib, d.vcpus), (64, 64, 1));
    assert_eq!(d.ramdisk.as_deref(), Some("linux/initrd.cpio"));
    assert_eq!(d.cmdline, "root=/dev/ram0 console=hvc0 rdinit=/init");
    assert_eq!((d.on_poweroff, d.on_reboot, d.on_crash), (Action::Destroy, Action::Restart, Action::Preserve));
    assert_eq!(d.on_watchdog, Action::Restart);
    assert_eq!(d.iomem, [Iomem { mfn: 0x9010, nr: 1, gfn: 0x22010 }, Iomem { mfn: 0x9020, nr: 2, gfn: 0x9020 }]);
    assert_eq!(d.irqs, [40]);
    assert_eq!(d.dtdev, ["/pl061@9030000"]);
    assert!(d.autostart);
    assert_eq!(d.gic, GicChoice::Native);
}

#[test]
fn cmdline_wins_over_root_and_extra() {
    let d = DomainConfig::from_text("name='a'\nmemory=8\nkernel='k'\ncmdline='x'\nextra='y'").unwrap();
    assert_eq!(d.cmdline, "x");
}

#[test]
fn errors_name_line_and_key() {
    let e = |t: &str| DomainConfig::from_text(t).unwrap_err().to_string();
    let base = "name = \"g\"\nkernel = \"k\"\n";
    assert_eq!(e(&format!("{base}memory = 0")), "line 3: memory: 0 is outside 1..=65536 MiB");
    assert_eq!(e(&format!("{base}memory = \"lots\"")), "line 3: memory: expected a number of MiB");
    assert_eq!(e(&format!("{base}memory = 8\nfrobnicate = 1")), "line 4: frobnicate: unknown key");
    assert_eq!(e(&format!("{base}memory = 8\nvcpus = 0")), "line 4: vcpus: 0 is outside 1..=128 vCPUs");
    assert_eq!(e(&format!("{base}memory = 8\non_crash = \"explode\"")), "line 4: on_crash: unknown action \"explode\"");
    assert_eq!(e(&format!("{base}memory = 8\nirqs = [ 5 ]")), "line 4: irqs: 5 is not an SPI (32..1019)");
    assert!(e(&format!("{base}memory = 8\niomem = [ \"zz\" ]")).starts_with("line 4: iomem: bad entry"));
    assert_eq!(e(&format!("{base}memory = 8\nmaxmem = 4")), "line 4: maxmem: is below memory");
    assert_eq!(e("kernel = \"k\"\nmemory = 8"), "line 0: name: is required");
    assert_eq!(e("name = \"12\""), "line 1: name: must not be all digits (it would read as a domain id)");
    assert_eq!(e("name = \"a/b\""), "line 1: name: must not contain '/', spaces or control characters");
    assert_eq!(
        e(&format!("{base}memory = 8\ngic_version = \"v4\"")),
        "line 4: gic_version: \"v4\" is not one of \"native\", \"v2\", \"v3\""
    );
}

fn arb_config() -> impl Strategy<Value = DomainConfig> {
    (
        "[a-z][a-z0-9_-]{0,20}",
        1u64..4096,
        1u32..8,
        "[ -~]{0,40}",
        proptest::option::of("[a-z/.]{1,20}"),
        proptest::collection::vec(32u32..1019, 0..4),
        proptest::collection::vec((1u64..0xfffff, 1u64..16), 0..3),
        any::<bool>(),
        (arb_disks(4), arb_vifs(3)),
    )
        .prop_map(|(name, mem, vcpus, cmdline, ramdisk, irqs, io, autostart, (disks, vifs))| DomainConfig {
            name,
            memory_mib: mem,
            maxmem_mib: mem + 1,
            vcpus,
            kernel: "k/Image".into(),
            ramdisk,
            cmdline,
            gic: GicChoice::V3,
            on_poweroff: Action::Destroy,
            on_reboot: Action::Restart,
            on_crash: Action::Preserve,
            on_watchdog: Action::CoredumpDestroy,
            iomem: io.into_iter().map(|(m, n)| Iomem { mfn: m, nr: n, gfn: m + 1 }).collect(),
            irqs,
            dtdev: alloc::vec!["/dev@0".into()],
            device_tree: None,
            max_grant_frames: Some(32),
            max_maptrack_frames: None,
            disks,
            vifs,
            driver_domain: autostart,
            autostart,
        })
}

proptest! {
    #[test]
    fn render_then_parse_is_identity(c in arb_config()) {
        let text = c.to_string();
        prop_assert_eq!(DomainConfig::from_text(&text).unwrap(), c);
    }

    #[test]
    fn any_text_gives_value_or_error(t in "\\PC{0,200}") {
        let _ = DomainConfig::from_text(&t);
    }

    #[test]
    fn any_bytes_give_value_or_error(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = DomainConfig::from_text(&String::from_utf8_lossy(&b));
    }
}

#[test]
fn overrides_replace_keys() {
    let base = "name = \"g\"\nkernel = \"k\"\nmemory = 8\nextra = \"a\"";
    let d = DomainConfig::from_text_with(base, &["extra=\"action=echo\"", "memory=16"]).unwrap();
    assert_eq!((d.cmdline.as_str(), d.memory_mib), ("action=echo", 16));
    assert_eq!(DomainConfig::from_text_with(base, &["memory=x"]).unwrap_err().line, 0);
}

const DEVICES: &str = r#"
name = "web"
kernel = "k"
memory = 64
disk = [ 'phy:/dev/loop0,xvda,w', 'file:/images/data.img,xvdb,r',
         'format=raw, vdev=xvdc, access=rw, target=/dev/vg/guest-volume' ]
vif = [ 'mac=00:16:3e:74:3d:76,bridge=xenbr0', '' ]
"#;

#[test]
fn reads_disks_and_vifs() {
    let d = DomainConfig::from_text(DEVICES).unwrap();
    assert_eq!(d.disks.len(), 3);
    assert_eq!(d.disks[0].devid, 51712);
    assert_eq!(d.disks[0].legacy, Some(crate::Legacy::Phy));
    assert_eq!(d.disks[1].access, crate::Access::ReadOnly);
    assert_eq!(d.disks[2].target.as_deref(), Some("/dev/vg/guest-volume"));
    assert_eq!(d.vifs.len(), 2);
    assert_eq!(d.vifs[0].bridge.as_deref(), Some("xenbr0"));
    assert_eq!(d.vifs[1], crate::VifSpec::default());
    assert_eq!(DomainConfig::from_text(&d.to_string()).unwrap(), d);
    let none = DomainConfig::from_text("name='a'\nmemory=8\nkernel='k'").unwrap();
    assert!(none.disks.is_empty() && none.vifs.is_empty());
}

#[test]
fn device_errors_name_line_and_key() {
    let e = |t: &str| DomainConfig::from_text(&format!("name='g'\nkernel='k'\nmemory=8\n{t}")).unwrap_err().to_string();
    assert_eq!(
        e("disk = [ '/x,,xvda', '/y,,xvda' ]"),
        "line 4: disk: \"/y,,xvda\": vdev xvda is the same device as xvda (devid 51712)"
    );
    assert_eq!(
        e("disk = [ '/x,,xvda',\n '/y,,d0p0' ]"),
        "line 4: disk: \"/y,,d0p0\": vdev d0p0 is the same device as xvda (devid 51712)"
    );
    assert_eq!(e("disk = [ '/x,raw,xyz' ]"), "line 4: disk: \"/x,raw,xyz\": vdev 'xyz' is not a valid virtual device");
    assert_eq!(
        e("disk = [ 'vdev=xvda' ]"),
        "line 4: disk: \"vdev=xvda\": disk 'xvda': no target (only a cdrom may be empty)"
    );
    assert_eq!(e("disk = '/x,,xvda'"), "line 4: disk: expected a list");
    assert_eq!(e("disk = [ 1 ]"), "line 4: disk: entries must be strings");
    assert_eq!(e("vif = [ 'frob=1' ]"), "line 4: vif: \"frob=1\": unknown key 'frob'");
    assert_eq!(e("vif = [ '', 'devid=0' ]"), "line 4: vif: \"devid=0\": devid 0 is used by an earlier vif");
    assert_eq!(e("vif = [ 'devid=1', '' ]"), "line 4: vif: \"\": devid 1 is used by an earlier vif");
}
