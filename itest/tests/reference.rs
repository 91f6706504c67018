//! Issue #6: the reference setup (Debian's Linux as Dom0 with the xl
//! toolstack, on the same Xen and QEMU) really works: it boots to a shell
//! where xl is usable and creates, with the very xl.cfg file thindom uses,
//! the Rust test guest, whose PV console (served by xenconsoled) and
//! XenStore (C xenstored) answer.

mod common;

use common::*;
use harness::reference::{config_from_env, PROMPT, READY};
use harness::Session;
use regex::Regex;
use std::time::Duration;

/// Linux boots much slower than thindom under TCG.
const REF_BOOT: Duration = Duration::from_secs(300);

fn dom0_cmd(s: &mut Session, line: &str) -> String {
    check(s, |s| {
        s.send_line(line)?;
        let echo = Regex::new(&format!("{}\r*\n", regex::escape(line)))?;
        s.expect_re(&echo, CMD_TIMEOUT)?;
        Ok(s.expect(PROMPT, CMD_TIMEOUT)?.trim_end_matches(PROMPT).replace("\r\n", "\n"))
    })
}

#[test]
fn linux_dom0_with_xl_creates_the_rust_guest() {
    let cfg = config_from_env().expect("integration-test environment");
    let log = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/itest/reference-linux-dom0.log");
    let mut s = Session::spawn(&cfg, &log).expect("start QEMU");
    check(&mut s, |s| {
        s.expect("Booting Linux on physical CPU", REF_BOOT)?;
        s.expect(READY, REF_BOOT)?;
        s.expect(PROMPT, CMD_TIMEOUT).map(drop)
    });
    let list = dom0_cmd(&mut s, "xl list");
    assert!(list.contains("Domain-0                                     0   512     1"), "{list}");
    // The guest powers itself off (action=poweroff); xl's console returns.
    let out = dom0_cmd(&mut s, "xl create -c testguest.cfg");
    for want in [
        "testguest: hello from a Rust guest on Xen",
        // libxl's guest DT (with its nopped memory bank) is read right:
        // grant table at GUEST_GNTTAB_BASE, event channel on PPI 31.
        "grant table 0x38000000, evtchn PPI 31",
        "testguest: xenstore name = testguest",
        "testguest: xenstore wrote and read back data/greeting = hello-from-testguest",
        "testguest: xenstore read of Dom0's name refused: EACCES",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}\n--- log tail ---\n{}", s.tail(40));
    }
    std::thread::sleep(Duration::from_secs(1));
    let list = dom0_cmd(&mut s, "xl list");
    assert!(!list.contains("testguest"), "the guest did not go away: {list}");
    check(&mut s, |s| {
        s.send_line("poweroff -f")?;
        anyhow::ensure!(s.wait_exit(Duration::from_secs(60))?, "QEMU did not exit");
        Ok(())
    });
}

/// `key : value` lines as a map.
fn info_map(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(" : "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// thindom's `info` says what Debian's `xl info` says about the same Xen on
/// the same machine, key by key, for everything that is not about Dom0
/// itself (its uname, its memory, the Xen command line with its dom0_mem).
#[test]
fn info_agrees_with_xl_info() {
    let cfg = config_from_env().expect("integration-test environment");
    let log = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/itest/reference-xl-info.log");
    let mut s = Session::spawn(&cfg, &log).expect("start QEMU");
    check(&mut s, |s| {
        s.expect(READY, REF_BOOT)?;
        s.expect(PROMPT, CMD_TIMEOUT).map(drop)
    });
    let xl = info_map(&dom0_cmd(&mut s, "xl info"));
    let xl_list = dom0_cmd(&mut s, "xl list");
    drop(s);
    let mut t = boot("thindom-info");
    let ours = info_map(&cmd(&mut t, "info"));
    let list = cmd(&mut t, "list");
    let same = [
        "nr_cpus",
        "max_cpu_id",
        "nr_nodes",
        "cores_per_socket",
        "threads_per_core",
        "cpu_mhz",
        "hw_caps",
        "virt_caps",
        "total_memory",
        "sharing_freed_memory",
        "sharing_used_memory",
        "outstanding_claims",
        "free_cpus",
        "xen_major",
        "xen_minor",
        "xen_extra",
        "xen_version",
        "xen_caps",
        "xen_scheduler",
        "xen_pagesize",
        "platform_params",
        "xen_changeset",
        "cc_compiler",
        "cc_compile_by",
        "cc_compile_domain",
        "cc_compile_date",
        "build_id",
        "xend_config_format",
    ];
    assert!(xl.len() >= same.len(), "xl info:\n{xl:?}");
    for k in same {
        assert_eq!(ours.get(k), xl.get(k), "info key {k}: thindom vs xl");
    }
    // Every key xl prints is in thindom's output too.
    let ours_keys: Vec<&String> = ours.keys().collect();
    assert!(xl.keys().all(|k| ours_keys.contains(&k)), "thindom lacks some of {:?}", xl.keys());
    // `list` has xl's header.
    assert_eq!(list.lines().next(), xl_list.lines().next(), "list header");
}
