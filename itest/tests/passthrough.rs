//! Device passthrough under real Xen: QEMU virt's PL031 RTC, marked
//! `xen,passthrough` in the host device tree, given to a Linux guest with
//! xl.cfg's `iomem`, `irqs` and `device_tree` (the partial tree copied into
//! the guest's). Linux in the guest drives the real device: it reads the
//! host's time from it and has its interrupt.

mod common;

use common::*;
use std::time::Duration;

const GUEST: Duration = Duration::from_secs(120);

#[test]
fn linux_guest_drives_a_passed_through_rtc() {
    let dtb = std::env::var("THINDOM_PT_DTB").expect("THINDOM_PT_DTB: run with `cargo xtask test`");
    let mut s = boot_with("passthrough-rtc", |c| c.dtb = Some(dtb.into()));
    // Xen kept the device (and its interrupt) away from Dom0.
    assert!(!s.output().contains("pl031"), "thindom saw the RTC in its DT");
    let out = cmd(&mut s, "create passthrough/linux-rtc");
    assert!(out.contains("Started domain linux-rtc (id=1)"), "{out}");
    check(&mut s, |s| {
        s.send_line("console linux-rtc")?;
        s.expect("thindom-linux-guest: init done", GUEST)?;
        s.expect("/ #", GUEST).map(drop)
    });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    check(&mut s, |s| {
        s.send_line("cat /sys/class/rtc/rtc0/name /sys/class/rtc/rtc0/since_epoch; grep -c pl031 /proc/interrupts; echo rtc-$((40+2))")?;
        let out = s.expect("\nrtc-42", CMD_TIMEOUT)?.replace('\r', "");
        let lines: Vec<&str> = out.lines().collect();
        let at =
            lines.iter().position(|l| l.starts_with("rtc-pl031")).ok_or_else(|| anyhow::anyhow!("no RTC:\n{out}"))?;
        anyhow::ensure!(lines[at].contains("9010000.rtc"), "another device: {}", lines[at]);
        // The guest read the host's wall-clock time from the device.
        let secs: u64 = lines[at + 1].trim().parse()?;
        anyhow::ensure!(secs.abs_diff(now) < 600, "RTC says {secs}, host {now}");
        // Its interrupt is routed to the guest and claimed by the driver.
        anyhow::ensure!(lines[at + 2].trim() == "1", "no pl031 interrupt in /proc/interrupts:\n{out}");
        Ok(())
    });
    check(&mut s, |s| {
        s.send_raw(&[0x1d])?;
        s.expect(PROMPT, CMD_TIMEOUT).map(drop)
    });
    // `destroy` returns once Xen has released what the domain held, so the
    // device can be passed through again at once, again and again.
    for id in 1..=3 {
        let out = cmd(&mut s, "destroy linux-rtc");
        assert!(out.contains(&format!("domain {id} (linux-rtc) destroyed")), "{out}");
        let out = cmd(&mut s, "create passthrough/linux-rtc");
        assert!(out.contains(&format!("Started domain linux-rtc (id={})", id + 1)), "{out}");
    }
}
