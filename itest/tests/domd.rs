//! Issue #12: the driver domain. Dom-D (Debian's Linux with xen-blkback and
//! domd-agent) serves disks to Linux DomUs through thindom's XenStore;
//! everything checked from inside the guests.

mod common;

use common::*;
use harness::Session;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const GUEST: Duration = Duration::from_secs(180);

use common::{console_attach as attach, console_detach as detach};

/// Runs `line` in the attached guest's shell; returns its output: what
/// came after the command line's echo, up to a marker it prints (computed
/// by the shell, and new for every command, so neither the echo nor the
/// console history shown on attach can match it).
fn sh(s: &mut Session, line: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    check(s, |s| {
        // Short lines: Xen keeps only a small buffer of Dom0's serial input.
        assert!(line.len() <= 72, "keep typed lines short: {line}");
        s.send_line(&format!("echo B$((2000+{n})); {line}; echo M$((1000+{n}))"))?;
        let out = s.expect(&format!("\nM{}", 1000 + n), GUEST)?.replace('\r', "");
        // What the command printed: between the two markers, each line
        // ending in a newline.
        let begin = format!("B{}\n", 2000 + n);
        let from = out.rfind(&begin).map_or(0, |i| i + begin.len());
        let to = out.rfind(&format!("M{}", 1000 + n)).unwrap_or(out.len()).max(from);
        Ok(out[from..to].to_string())
    })
}

/// Boots with the host device tree that gives the GPIO (and the RTC) away.
fn boot_pt(name: &str) -> Vm {
    let dtb = std::env::var("THINDOM_PT_DTB").expect("THINDOM_PT_DTB: run with `cargo xtask test`");
    boot_with(name, |c| c.dtb = Some(dtb.into()))
}

/// Creates Dom-D, waits for its agent, and checks that Linux there drives
/// the GPIO controller it was given (driver bound, a line exported and
/// read through the controller's registers).
fn start_domd(s: &mut Session) {
    let out = cmd(s, "create domd");
    assert!(out.contains("Started domain domd"), "{out}");
    attach(s, "domd");
    check(s, |s| s.expect("domd-agent: ready", GUEST).map(drop));
    let out = sh(s, "ls /sys/bus/amba/drivers/pl061_gpio/");
    assert!(out.contains("9030000.gpio"), "the PL061 driver owns the GPIO:\n{out}");
    let out = sh(s, "cd /sys/class/gpio; cat gpiochip*/label; b=$(cat gpiochip*/base)");
    assert!(out.contains("9030000.gpio"), "a GPIO chip of it:\n{out}");
    let out = sh(s, "echo $b > export; cat gpio$b/direction gpio$b/value; cd /");
    assert_eq!(out, "in\n0\n", "a GPIO line read through the controller");
    detach(s);
}

const DISK0: &str = "\"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"";
const DISK1: &str = "\"disk=['backend=domd,vdev=xvda,target=/images/disk1.img']\"";

/// Creates a Linux DomU `name` with `disk` (a quoted override) and waits
/// for its shell.
fn start_user(s: &mut Session, name: &str, disk: &str) -> u16 {
    let out = cmd(s, &format!("create linux name={name} {disk}"));
    let id = capture(&out, r"Started domain \S+ \(id=(\d+)\)").parse().expect("domid");
    attach(s, name);
    check(s, |s| s.expect("init done", GUEST).map(drop));
    sh(s, "true");
    id
}

/// A raw XenStore read through `/dev/xen/xenbus` in the attached Linux
/// guest (its `xsread`): a value, or an error name (`EACCES`).
fn raw_read(s: &mut Session, path: &str) -> String {
    sh(s, &format!("xsread {path}"))
}

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
    detach(&mut s);
    // The guest uses the disk: both ends are Connected now.
    let out = cmd(&mut s, "block-list user");
    assert!(out.contains("51712 1   2      4"), "connected:\n{out}");
}
