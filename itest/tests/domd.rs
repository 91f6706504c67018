//! Issue #12: the driver domain. Dom-D (Debian's Linux with xen-blkback and
//! domd-agent) serves disks to Linux DomUs through thindom's XenStore;
//! everything checked from inside the guests.

mod common;

use common::*;
use harness::Session;
use std::time::Duration;

const GUEST: Duration = Duration::from_secs(180);

fn attach(s: &mut Session, dom: &str) {
    check(s, |s| {
        s.send_line(&format!("console {dom}"))?;
        s.expect("\r\n", CMD_TIMEOUT).map(drop)
    });
}

fn detach(s: &mut Session) {
    check(s, |s| {
        s.send_raw(&[0x1d])?;
        s.expect("[detached from the console]", CMD_TIMEOUT)?;
        s.expect(PROMPT, CMD_TIMEOUT).map(drop)
    });
}

/// Runs `line` in the attached guest's shell; returns its output up to a
/// marker it echoes.
fn sh(s: &mut Session, line: &str) -> String {
    check(s, |s| {
        s.send_line(&format!("{line}; echo done-$((6*7))"))?;
        let out = s.expect("\ndone-42", GUEST)?;
        Ok(out.replace('\r', ""))
    })
}

/// Boots with the host device tree that gives the GPIO (and the RTC) away.
fn boot_pt(name: &str) -> Vm {
    let dtb = std::env::var("THINDOM_PT_DTB").expect("THINDOM_PT_DTB: run with `cargo xtask test`");
    boot_with(name, |c| c.dtb = Some(dtb.into()))
}

/// Creates Dom-D and waits for its agent.
fn start_domd(s: &mut Session) {
    let out = cmd(s, "create domd");
    assert!(out.contains("Started domain domd"), "{out}");
    attach(s, "domd");
    check(s, |s| s.expect("domd-agent: ready", GUEST).map(drop));
    detach(s);
}

#[test]
fn a_domu_writes_its_disk_and_reads_it_back_after_re_creation() {
    let mut s = boot_pt("domd-disk");
    start_domd(&mut s);
    let out = cmd(&mut s, "create linux name=user \"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"");
    assert!(out.contains("Started domain user"), "{out}");
    attach(&mut s, "user");
    check(&mut s, |s| s.expect("init done", GUEST).map(drop));
    let out = sh(&mut s, "cat /sys/block/xvda/size");
    assert!(out.contains("\n32768\n"), "16 MiB disk (32768 sectors):\n{out}");
    let out = sh(&mut s, "echo thindom-pattern-$((1000+234)) | dd of=/dev/xvda bs=512 seek=100 conv=fsync 2>/dev/null");
    assert!(!out.contains("error"), "{out}");
    detach(&mut s);
    let out = cmd(&mut s, "destroy user");
    assert!(out.contains("destroyed"), "{out}");
    let out = cmd(&mut s, "create linux name=user \"disk=['backend=domd,vdev=xvda,target=/images/disk0.img']\"");
    assert!(out.contains("Started domain user"), "{out}");
    attach(&mut s, "user");
    check(&mut s, |s| s.expect("init done", GUEST).map(drop));
    let out = sh(&mut s, "dd if=/dev/xvda bs=512 skip=100 count=1 2>/dev/null | head -c 21");
    assert!(out.contains("thindom-pattern-1234"), "{out}");
    detach(&mut s);
}
