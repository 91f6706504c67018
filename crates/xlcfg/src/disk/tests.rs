use super::*;
use crate::testgen::arb_disk;
use proptest::prelude::*;

fn p(s: &str) -> DiskSpec {
    parse_disk(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn e(s: &str) -> String {
    parse_disk(s).map(|d| format!("{d:?}")).unwrap_err().to_string()
}

#[test]
fn document_examples_disk() {
    let a = p("/dev/vg/guest-volume,,hda");
    assert_eq!(a.target.as_deref(), Some("/dev/vg/guest-volume"));
    assert_eq!((a.format, a.vdev.as_str(), a.devid, a.access), (DiskFormat::Raw, "hda", 768, Access::ReadWrite));
    assert_eq!(a.devtype, DevType::Disk);
    for s in [
        "/dev/vg/guest-volume,raw,hda,rw",
        "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
        "raw:/dev/vg/guest-volume,hda,w",
    ] {
        assert_eq!(p(s), a, "{s}");
    }
}

#[test]
fn document_examples_cdrom() {
    let a = p("/root/image.iso,,hdc,cdrom");
    assert_eq!(a.target.as_deref(), Some("/root/image.iso"));
    assert_eq!((a.format, a.devid, a.access, a.devtype), (DiskFormat::Raw, 5632, Access::ReadOnly, DevType::Cdrom));
    for s in [
        "/root/image.iso,,hdc,,cdrom",
        "/root/image.iso,raw,hdc,devtype=cdrom",
        "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
        "raw:/root/image.iso,hdc:cdrom,ro",
    ] {
        assert_eq!(p(s), a, "{s}");
    }
}

#[test]
fn empty_cdrom() {
    for s in [",hdc:cdrom,r", "vdev=hdc,cdrom", ",,hdc,cdrom", "cdrom,vdev=hdc,format=qcow2"] {
        let d = p(s);
        assert_eq!((d.target, d.format, d.access, d.devid), (None, DiskFormat::Empty, Access::ReadOnly, 5632), "{s}");
    }
}

#[test]
fn legacy_prefixes() {
    let d = p("phy:/dev/loop0,xvda,w");
    assert_eq!(
        (d.legacy, d.target.as_deref(), d.devid, d.access),
        (Some(Legacy::Phy), Some("/dev/loop0"), 51712, Access::ReadWrite)
    );
    let d = p("file:/images/disk.img,xvdb,r");
    assert_eq!(
        (d.legacy, d.target.as_deref(), d.devid, d.access),
        (Some(Legacy::File), Some("/images/disk.img"), 51728, Access::ReadOnly)
    );
    let d = p("tap:aio:/some/path,xvdc,w");
    assert_eq!((d.legacy, d.target.as_deref(), d.format), (None, Some("/some/path"), DiskFormat::Raw));
    let d = p("tap:qcow2:/some/img.qcow2,xvdd,w");
    assert_eq!((d.format, d.target.as_deref()), (DiskFormat::Qcow2, Some("/some/img.qcow2")));
    let d = p("nbd:localhost:1234,xvde,w");
    assert_eq!((d.script.as_deref(), d.target.as_deref()), (Some("block-nbd"), Some("localhost:1234")));
    assert_eq!(p("phy:phy:/dev/sda,xvda,w").legacy, Some(Legacy::Phy));
    assert_eq!(e("phy:file:/x,xvda,w"), "both phy: and file: given");
    assert_eq!(e("foo:/x,xvda,w"), "unknown deprecated prefix 'foo:'");
    assert_eq!(e("raw:qcow2:/x,xvda"), "duplicate parameter format");
}

#[test]
fn keys_and_flags() {
    let d = p("vdev=xvda, backend=drv, backendtype=qdisk, specification=virtio, script=block-iscsi, \
               direct-io-safe, no-discard, untrusted, format=qcow2, access=ro, target=iqn.x,lun=1");
    assert_eq!(d.target.as_deref(), Some("iqn.x,lun=1"));
    assert_eq!(d.backend.as_deref(), Some("drv"));
    assert_eq!(d.backendtype, Some(BackendType::Qdisk));
    assert_eq!(d.specification, Some(Specification::Virtio));
    assert_eq!(d.script.as_deref(), Some("block-iscsi"));
    assert_eq!((d.direct_io_safe, d.discard, d.trusted), (true, Some(false), Some(false)));
    assert_eq!((d.format, d.access), (DiskFormat::Qcow2, Access::ReadOnly));
    assert_eq!(d.target_path().as_deref(), Some("/dev/iqn.x,lun=1"));
    assert_eq!(p("/x,,xvda").target_path().as_deref(), Some("/x"));
    assert_eq!(p("vg/lv,,xvda").target_path().as_deref(), Some("/dev/vg/lv"));
    // One trailing comma of target= is dropped.
    assert_eq!(p("vdev=xvda,target=/a,").target.as_deref(), Some("/a"));
    assert_eq!(p("vdev=xvda,target=/a,,").target.as_deref(), Some("/a,"));
    // A positional target left empty may still be given by name.
    assert_eq!(p(",raw,xvda,rw,target=/t").target.as_deref(), Some("/t"));
    // Empty values take defaults.
    let d = p("/x,,xvda,,backend=,script=,devtype=,backendtype=,specification=");
    assert_eq!((d.format, d.access, d.backend, d.script), (DiskFormat::Raw, Access::ReadWrite, None, None));
    // Blanks before parameters are ignored, after values kept.
    assert_eq!(p("  /x ,  raw,   xvda").target.as_deref(), Some("/x "));
    // A flag is a flag only as a whole parameter.
    assert_eq!(e("/x,,xvda,rw,cdromx"), "too many positional parameters at 'cdromx'");
    assert_eq!(e("/x,,xvda,cdromx"), "access 'cdromx' is not ro/rw (r, ro, w or rw)");
}

#[test]
fn errors() {
    assert_eq!(e("/x,raw"), "vdev missing");
    assert_eq!(e("/x,raw,,rw"), "vdev missing");
    assert_eq!(e(""), "vdev missing");
    assert_eq!(e("vdev=xvda"), "disk 'xvda': no target (only a cdrom may be empty)");
    assert_eq!(e(",,xvda"), "disk 'xvda': no target (only a cdrom may be empty)");
    assert_eq!(e("/x,foo,xvda"), "unknown format 'foo' (raw, qcow, qcow2, vhd, qed)");
    assert_eq!(e("/x,raw,xvda,x"), "access 'x' is not ro/rw (r, ro, w or rw)");
    assert_eq!(e("/x,raw,xvda,vdev=xvdb"), "duplicate parameter vdev");
    assert_eq!(e("/x,vdev=xvdb,format=raw,format=raw"), "duplicate parameter format");
    assert_eq!(e("/x,,xvda,cdrom,devtype=cdrom"), "duplicate parameter devtype");
    assert_eq!(e("/x,,xvda,discard,no-discard"), "duplicate parameter discard");
    assert_eq!(e("/x,,xvda,target=/y"), "duplicate parameter target");
    assert_eq!(e("/x,raw,xyz"), "vdev 'xyz' is not a valid virtual device");
    assert_eq!(e("/x,raw,xvda,rw,more"), "too many positional parameters at 'more'");
    assert_eq!(e("/x,,xvda,access=ro,rw"), "too many positional parameters at 'rw'");
    assert_eq!(e("/x,,xvda,frob=1"), "unknown parameter 'frob'");
    assert_eq!(e("/x,,xvda,/a=b"), "bad disk syntax near '/a=b'");
    assert_eq!(e("/x,,xvda,devtype=tape"), "devtype 'tape' is not disk/cdrom");
    assert_eq!(e("/x,raw,hdc:tape"), "devtype 'tape' is not disk/cdrom");
    assert_eq!(e("/x,hdc:tape"), "unknown format 'hdc:tape' (raw, qcow, qcow2, vhd, qed)");
    assert_eq!(e("/x,,xvda,backendtype=nfs"), "backendtype 'nfs' is not phy/tap/qdisk/standalone");
    assert_eq!(e("/x,,xvda,specification=scsi"), "specification 'scsi' is not xen/virtio");
    assert_eq!(e("/x,,xvda,backend=a b"), "backend 'a b' is not a domain name or id");
    assert_eq!(e("/x,,xvda,colo"), "COLO is not supported");
    assert_eq!(e("/x,,xvda,colo-host=h"), "COLO is not supported");
    assert_eq!(e("/x,,hdc,rw,cdrom"), "disk 'hdc': a cdrom is read-only, access must be ro");
    assert_eq!(e("/x,empty,xvda"), "disk 'xvda': format empty is only for a cdrom without a target");
    assert_eq!(e("/x,,xvda\n"), "control character in disk spec");
    assert_eq!(e(&"x".repeat(MAX_VALUE + 1)), "disk spec longer than 4096 bytes");
    assert_eq!(e(&format!("/{},,xvda", "x".repeat(MAX_PATH))), "target longer than 1024 bytes");
    assert_eq!(e(&format!("/x,,0{}", "0".repeat(MAX_VDEV))), "vdev longer than 32 bytes");
}

#[test]
fn canonical_form() {
    let d = p("phy:/dev/loop0,xvda,w");
    assert_eq!(d.to_string(), "phy:format=raw, vdev=xvda, access=rw, target=/dev/loop0");
    assert_eq!(p(",hdc:cdrom,r").to_string(), "format=empty, vdev=hdc, access=ro, devtype=cdrom");
    let d = p("vdev=xvdb,target=/a,,");
    assert_eq!(d.to_string(), "format=raw, vdev=xvdb, access=rw, target=/a,,");
    assert_eq!(p(&d.to_string()), d);
}

proptest! {
    #[test]
    fn render_then_parse_is_identity(d in arb_disk()) {
        let text = d.to_string();
        prop_assert_eq!(parse_disk(&text), Ok(d), "{}", text);
    }

    #[test]
    fn any_text_gives_spec_or_error(s in "\\PC{0,80}") {
        let _ = parse_disk(&s);
    }

    #[test]
    fn parsed_specs_render_to_themselves(
        s in "([a-z0-9/:= ]{0,8},){0,6}(target=[ -~]{0,10})?"
    ) {
        if let Ok(d) = parse_disk(&s) {
            prop_assert_eq!(d.devid, crate::vdev_to_devid(&d.vdev).unwrap());
            prop_assert_eq!(parse_disk(&d.to_string()), Ok(d));
        }
    }
}
