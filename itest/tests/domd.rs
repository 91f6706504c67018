//! Issue #12: the driver domain. Dom-D (Debian's Linux with xen-blkback and
//! domd-agent) serves disks to Linux DomUs through thindom's XenStore;
//! everything checked from inside the guests.

mod common;
#[path = "common/guest.rs"]
mod guest;

use common::*;
use guest::*;

const DISK0: &str = "\"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"";
const DISK1: &str = "\"disk=['backend=domd,vdev=xvda,target=/images/disk1.img']\"";

#[test]
fn a_domu_writes_its_disk_and_reads_it_back_after_re_creation() {
    let mut s = boot_pt("domd-disk");
    start_domd(&mut s);
    let out = cmd(&mut s, "create linux name=nodisk \"disk=['backend=nosuch,vdev=xvda,target=/x']\"");
    assert!(out.contains("backend domain \"nosuch\" does not exist"), "{out}");
    let out = cmd(&mut s, "create linux name=nodisk \"disk=['backend=domd,vdev=xvda,target=/images/missing.img']\"");
    assert!(out.contains("/images/missing.img does not exist in the driver domain"), "the agent's error:\n{out}");
    let out = cmd(&mut s, "create linux name=user \"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"");
    assert!(out.contains("Started domain user"), "{out}");
    attach(&mut s, "user");
    check(&mut s, |s| s.expect("init done", GUEST).map(drop));
    let out = sh(&mut s, "cat /sys/block/xvda/size");
    assert!(out.contains("32768\n"), "16 MiB disk (32768 sectors):\n{out}");
    sh(&mut s, "p=thindom-pattern-$((1000+234))");
    let out = sh(&mut s, "echo $p | dd of=/dev/xvda seek=100 conv=fsync 2>&1");
    assert!(out.contains("records out"), "{out}");
    detach(&mut s);
    let out = cmd(&mut s, "destroy user");
    assert!(out.contains("destroyed"), "{out}");
    let out = cmd(&mut s, "create linux name=user \"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"");
    assert!(out.contains("Started domain user"), "{out}");
    attach(&mut s, "user");
    check(&mut s, |s| s.expect("init done", GUEST).map(drop));
    let out = sh(&mut s, "dd if=/dev/xvda skip=100 count=1 2>/dev/null | head -c 21");
    assert!(out.contains("thindom-pattern-1234"), "{out}");
    detach(&mut s);
}

#[test]
fn hot_plug_and_isolation_between_two_domus() {
    let mut s = boot_pt("domd-hotplug");
    start_domd(&mut s);
    let one = start_user(&mut s, "one", DISK0);
    detach(&mut s);
    let two = start_user(&mut s, "two", DISK1);
    // Each sees only its own disk, and not the other's nodes.
    let out = sh(&mut s, "ls /sys/block | grep xvd");
    assert!(out.contains("xvda") && !out.contains("xvdb"), "{out}");
    let own = raw_read(&mut s, &format!("/local/domain/{two}/device/vbd/51712/virtual-device"));
    assert!(own.contains("51712"), "its own frontend node:\n{own}");
    let other = raw_read(&mut s, &format!("/local/domain/{one}/device/vbd/51712/backend"));
    assert!(other.contains("EACCES"), "the other's frontend:\n{other}");
    let other = raw_read(&mut s, &format!("/local/domain/1/backend/vbd/{one}/51712/params"));
    assert!(other.contains("EACCES"), "the other's backend:\n{other}");
    detach(&mut s);
    // A second disk into the running guest `one`, used, then taken away.
    let out = cmd(&mut s, "block-attach one backend=domd,vdev=xvdb,target=/images/disk2.img");
    assert!(!out.contains("rror"), "{out}");
    let out = cmd(&mut s, "block-list one");
    assert!(out.contains(&format!("51728 1   {one:<6} ")), "{out}");
    attach(&mut s, "one");
    let out = sh(&mut s, "waitfor /sys/block/xvdb; cat /sys/block/xvdb/size");
    assert!(out.contains("32768"), "{out}");
    sh(&mut s, "echo hot-$((40+2)) | dd of=/dev/xvdb conv=fsync 2>/dev/null");
    let out = sh(&mut s, "dd if=/dev/xvdb bs=7 count=1 2>/dev/null");
    assert_eq!(out, "hot-42\n");
    detach(&mut s);
    let out = cmd(&mut s, "block-detach one xvdb");
    assert!(!out.contains("rror"), "{out}");
    let out = cmd(&mut s, &format!("xenstore-ls /local/domain/1/backend/vbd/{one}"));
    assert!(!out.contains("51728"), "backend nodes gone:\n{out}");
    attach(&mut s, "one");
    let out = sh(&mut s, "waitfor /sys/block/xvdb gone; ls /sys/block | grep xvd");
    assert!(out.contains("xvda") && !out.contains("xvdb"), "gone in the guest:\n{out}");
    detach(&mut s);
    attach(&mut s, "domd");
    // The agent frees it once Dom0 removed the backend: wait for that.
    let out = sh(&mut s, "until ! losetup -a | grep -q disk2; do sleep 1; done; losetup -a");
    assert!(!out.contains("disk2.img"), "the loop device is freed:\n{out}");
    detach(&mut s);
}

#[test]
fn destroying_a_writer_or_the_driver_domain_leaves_things_clean() {
    let mut s = boot_pt("domd-destroy");
    start_domd(&mut s);
    start_user(&mut s, "writer", DISK0);
    sh(&mut s, "(dd if=/dev/zero of=/dev/xvda bs=1M count=16 conv=fsync &)");
    sh(&mut s, "sleep 1");
    detach(&mut s);
    let out = cmd(&mut s, "destroy writer");
    assert!(out.contains("(writer) destroyed") && !out.contains("WARN"), "{out}");
    attach(&mut s, "domd");
    // The agent frees the loop once Dom0 removed the backend: wait for it.
    sh(&mut s, "until ! losetup -a | grep -q disk0; do sleep 1; done");
    let out = sh(&mut s, "losetup -a; dmesg | grep -c -e WARNING -e 'BUG:' -e Oops");
    assert!(!out.contains("disk0.img"), "loop freed:\n{out}");
    assert!(out.lines().last() == Some("0"), "Dom-D's kernel log is clean:\n{out}");
    detach(&mut s);
    let user = start_user(&mut s, "user", DISK1);
    detach(&mut s);
    // The driver domain goes while `user` has its disk.
    let out = cmd(&mut s, "destroy domd");
    assert!(out.contains("(domd) destroyed"), "{out}");
    let out = cmd(&mut s, &format!("xenstore-ls /local/domain/{user}/device"));
    assert!(!out.contains("vbd"), "the frontend's nodes are gone:\n{out}");
    let out = cmd(&mut s, "list");
    assert!(out.contains("user") && !out.contains("domd"), "{out}");
    // A new Dom-D serves a new DomU.
    start_domd(&mut s);
    start_user(&mut s, "again", DISK0);
    let out = sh(&mut s, "cat /sys/block/xvda/size");
    assert!(out.contains("32768"), "{out}");
    detach(&mut s);
}

/// `cargo xtask run --layout domd`: Dom-D and a DomU with a disk it serves
/// start at boot, the DomU's disk waiting for Dom-D's agent (other domains'
/// consoles and store served meanwhile).
#[test]
fn the_layout_autostarts_domd_then_a_domu_with_its_disk() {
    let rd = std::env::var("THINDOM_LAYOUT_RAMDISK").expect("THINDOM_LAYOUT_RAMDISK: run with `cargo xtask test`");
    let dtb = std::env::var("THINDOM_LAYOUT_DTB").expect("THINDOM_LAYOUT_DTB: run with `cargo xtask test`");
    let mut s = boot_with("domd-layout", |c| {
        c.ramdisk = Some(rd.into());
        c.dtb = Some(dtb.into());
    });
    let out = s.output();
    assert!(out.contains("autostart: layout-domd.cfg is domain 1"), "Dom-D first");
    assert!(out.contains("autostart: layout-user.cfg is domain 2"), "then the DomU");
    attach(&mut s, "user");
    check(&mut s, |s| s.expect("init done", GUEST).map(drop));
    let out = sh(&mut s, "waitfor /sys/block/xvda; cat /sys/block/xvda/size");
    assert_eq!(out, "32768\n");
    // Its network: eth0 got its address at boot and reaches Dom-D.
    let out = sh(&mut s, "ping -c 1 -w 60 10.0.0.1 >/dev/null; ping -c 2 10.0.0.1");
    assert!(out.contains("2 packets received"), "ping Dom-D:\n{out}");
    detach(&mut s);
    // The guest uses the disk: both ends are Connected now.
    let out = cmd(&mut s, "block-list user");
    assert!(out.contains("51712 1   2      4"), "connected:\n{out}");
}
