//! Issue #13: PV network from the driver domain. Dom-D runs Debian's
//! xen-netback and a bridge (xenbr0, its own address 10.0.0.1); Linux
//! DomUs with netfront reach it and each other through it. Everything
//! checked from inside the guests and Dom-D.

mod common;
#[path = "common/guest.rs"]
mod guest;

use common::*;
use guest::*;
use harness::Session;

/// A DomU on xenbr0 with address 10.0.0.`n` (128 MiB: it holds a 16 MiB
/// file).
fn vif_user(n: u8) -> String {
    format!("memory=128 \"vif=['backend=domd,bridge=xenbr0,ip=10.0.0.{n}']\"")
}

/// In the attached DomU: gives eth0 address 10.0.0.`n` and checks that
/// Dom-D answers pings; returns eth0's MAC.
fn net_up(s: &mut Session, n: u8) -> String {
    let out = sh(s, "waitfor /sys/class/net/eth0; cat /sys/class/net/eth0/address");
    let mac = out.trim().to_string();
    sh(s, &format!("ip addr add 10.0.0.{n}/24 dev eth0; ip link set eth0 up"));
    ping(s, "10.0.0.1");
    mac
}

/// Pings `addr` from the attached guest until it answers (bounded: the
/// link may still be coming up), then checks three answered in a row.
fn ping(s: &mut Session, addr: &str) {
    let out = sh(s, &format!("ping -c 1 -w 60 {addr} >/dev/null; ping -c 3 {addr}"));
    assert!(out.contains("3 packets received"), "ping {addr}:\n{out}");
}

/// Gives the attached shell a file descriptor 3 that never reads EOF (a
/// FIFO it holds open): busybox's `nc` shuts its sending half down at end
/// of input, so a listener started in the background (input /dev/null)
/// would end every connection at once; with `<&3` it only receives.
fn hold_fd3(s: &mut Session) {
    sh(s, "mkfifo /tmp/hold; exec 3<>/tmp/hold");
}

/// The MAC `network-list` shows for `dom`'s vif 0.
fn listed_mac(s: &mut Session, dom: &str) -> String {
    let out = cmd(s, &format!("network-list {dom}"));
    capture(&out, r"\n0 +\d+ +([0-9a-f:]{17})")
}

/// Waits in the attached Dom-D until `vif` is gone (netback removes it
/// once Dom0 removed the backend), then returns `ip link`'s vif lines.
fn vifs_after_gone(s: &mut Session, vif: &str) -> String {
    sh(s, &format!("until [ ! -e /sys/class/net/{vif} ]; do sleep 1; done"));
    sh(s, "ip -o link | grep -o 'vif[0-9.]*' ; true")
}

#[test]
fn domus_reach_domd_and_each_other_and_keep_their_macs() {
    let mut s = boot_pt("net-bridge");
    start_domd(&mut s);
    attach(&mut s, "domd");
    let out = sh(&mut s, "ip -o addr show xenbr0");
    assert!(out.contains("10.0.0.1/24"), "Dom-D's address on its bridge:\n{out}");
    detach(&mut s);
    let one = start_user(&mut s, "one", &vif_user(2));
    let mac_one = net_up(&mut s, 2);
    detach(&mut s);
    assert_eq!(listed_mac(&mut s, "one"), mac_one, "network-list shows the guest's MAC");
    let out = cmd(&mut s, "network-list one");
    assert!(out.contains(&format!("/local/domain/1/backend/vif/{one}/0")), "{out}");
    let two = start_user(&mut s, "two", &vif_user(3));
    let mac_two = net_up(&mut s, 3);
    assert_ne!(mac_one, mac_two, "two DomUs, two MACs");
    assert!(mac_one.starts_with("00:16:3e:") && mac_two.starts_with("00:16:3e:"), "{mac_one} {mac_two}");
    ping(&mut s, "10.0.0.2");
    detach(&mut s);
    attach(&mut s, "domd");
    let out = sh(&mut s, "ls /sys/class/net/xenbr0/brif");
    assert!(out.contains(&format!("vif{one}.0")) && out.contains(&format!("vif{two}.0")), "bridge ports:\n{out}");
    detach(&mut s);

    // 16 MiB to Dom-D and back, checksums equal.
    attach(&mut s, "one");
    // (fullblock: reads of /dev/urandom may come short)
    sh(&mut s, "dd if=/dev/urandom of=/tmp/tx bs=64k count=256 iflag=fullblock");
    let sent = sh(&mut s, "md5sum </tmp/tx; wc -c </tmp/tx");
    assert!(sent.contains("16777216"), "16 MiB to send:\n{sent}");
    hold_fd3(&mut s);
    sh(&mut s, "(nc -l -p 5002 <&3 | md5sum >/tmp/back.md5 &)");
    detach(&mut s);
    attach(&mut s, "domd");
    // Room for 16 MiB in its RAM file system (half its RAM, the disk
    // images in it too).
    sh(&mut s, "rm /images/disk1.img /images/disk2.img");
    hold_fd3(&mut s);
    sh(&mut s, "(nc -l -p 5001 <&3 >/tmp/rx &)");
    detach(&mut s);
    attach(&mut s, "one");
    sh(&mut s, "nc 10.0.0.1 5001 </tmp/tx");
    detach(&mut s);
    attach(&mut s, "domd");
    let there = sh(&mut s, "md5sum </tmp/rx; ls -l /tmp/rx");
    assert!(there.contains(" 16777216 "), "16 MiB arrived in Dom-D:\n{there}");
    sh(&mut s, "nc 10.0.0.2 5002 </tmp/rx; rm /tmp/rx");
    detach(&mut s);
    attach(&mut s, "one");
    let back = sh(&mut s, "while pidof nc md5sum >/dev/null; do sleep 1; done; cat /tmp/back.md5");
    let sum = |t: &str| t.split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(sum(&sent).len(), 32, "{sent}");
    assert_eq!(sum(&there), sum(&sent), "Dom-D received what `one` sent");
    assert_eq!(sum(&back), sum(&sent), "`one` received it back");
    detach(&mut s);

    // Re-created: the same MAC. The driver domain going takes the vifs
    // away; a new one serves new DomUs.
    cmd(&mut s, "destroy one");
    let one = start_user(&mut s, "one", &vif_user(2));
    assert_eq!(net_up(&mut s, 2), mac_one, "the MAC is stable across re-creation");
    detach(&mut s);
    let out = cmd(&mut s, "destroy domd");
    assert!(out.contains("(domd) destroyed"), "{out}");
    let out = cmd(&mut s, &format!("xenstore-ls /local/domain/{one}/device"));
    assert!(!out.contains("vif"), "the frontend's nodes are gone:\n{out}");
    start_domd(&mut s);
    start_user(&mut s, "three", &vif_user(4));
    net_up(&mut s, 4);
    detach(&mut s);
}

#[test]
fn hot_plug_and_destroy_during_a_transfer_leave_domd_clean() {
    let mut s = boot_pt("net-hotplug");
    start_domd(&mut s);
    let one = start_user(&mut s, "one", "");
    let out = sh(&mut s, "ls /sys/class/net");
    assert!(!out.contains("eth"), "no vif yet:\n{out}");
    detach(&mut s);
    let out = cmd(&mut s, "network-attach one backend=domd bridge=xenbr0");
    assert!(!out.contains("rror"), "{out}");
    attach(&mut s, "one");
    net_up(&mut s, 5);
    detach(&mut s);
    let out = cmd(&mut s, "network-list one");
    assert!(out.contains(&format!("/local/domain/1/backend/vif/{one}/0")), "{out}");
    assert!(capture(&out, r"\n0 +1 +\S+ +0 +(\d+) ") == "4", "connected:\n{out}");
    let out = cmd(&mut s, "network-detach one 0");
    assert!(!out.contains("rror") && !out.contains("Unknown"), "{out}");
    attach(&mut s, "one");
    let out = sh(&mut s, "waitfor /sys/class/net/eth0 gone; ls /sys/class/net");
    assert!(!out.contains("eth0"), "gone in the guest:\n{out}");
    detach(&mut s);
    attach(&mut s, "domd");
    let out = vifs_after_gone(&mut s, &format!("vif{one}.0"));
    assert!(!out.contains("vif"), "no vif left in Dom-D:\n{out}");
    hold_fd3(&mut s);
    sh(&mut s, "(nc -l -p 5003 <&3 >/dev/null &)");
    detach(&mut s);

    // Attached again, then destroyed in the middle of a transfer.
    let out = cmd(&mut s, "network-attach one backend=domd");
    assert!(!out.contains("rror"), "{out}");
    attach(&mut s, "one");
    net_up(&mut s, 5);
    sh(&mut s, "(dd if=/dev/zero bs=64k count=4096 | nc 10.0.0.1 5003 &)");
    sh(&mut s, "sleep 2");
    detach(&mut s);
    let out = cmd(&mut s, "destroy one");
    assert!(out.contains("(one) destroyed") && !out.contains("WARN"), "{out}");
    attach(&mut s, "domd");
    let out = vifs_after_gone(&mut s, &format!("vif{one}.0"));
    assert!(!out.contains("vif"), "no stale vif in Dom-D:\n{out}");
    let out = sh(&mut s, "dmesg | grep -c -e WARNING -e 'BUG:' -e Oops");
    assert_eq!(out.trim(), "0", "Dom-D's kernel log is clean");
    detach(&mut s);
    let out = cmd(&mut s, &format!("xenstore-ls /local/domain/1/backend/vif/{one}"));
    assert!(!out.contains("hotplug-status"), "no backend nodes left:\n{out}");
    // Dom-D is healthy: a new DomU gets networking.
    start_user(&mut s, "two", &vif_user(6));
    net_up(&mut s, 6);
    detach(&mut s);
}
