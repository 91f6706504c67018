//! Issue #2: thindom boots as Dom0 on real Xen 4.17 and its shell returns
//! Xen's real data. Every expectation is checked against what Xen itself
//! printed in the same boot log, not against constants.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn shell_reports_what_xen_says() {
    let mut s = boot_with("shell", |c| c.dom0_mem = "160M".into());
    let log = s.output();
    // Facts from Xen's own boot log.
    let xen_version = capture(&log, r"\(XEN\) Xen version (\S+) \(");
    let xen_compiler = capture(&log, r"\(XEN\) Xen version \S+ \(.*?\) \(\S+\) \((.*?)\) debug=");
    let xen_date = capture(&log, r"\(XEN\) Xen version .* debug=\S+ (.+?)\r?\n");
    // A release Xen does not log its command line: take it from what QEMU
    // was told to pass (`-append`).
    let mut cfg = harness::QemuConfig::from_env().unwrap();
    cfg.dom0_mem = "160M".into();
    let xen_cmdline = cfg.xen_cmdline();
    let dom0_mb = capture(&log, r"Allocating 1:1 mappings totalling (\d+)MB for dom0");
    let ncpus = capture(&log, r"Brought up (\d+) CPUs");
    assert_eq!(dom0_mb, "160", "Xen did not take dom0_mem from its command line");
    assert!(log.contains("thindom 0.1.0 starting"));

    // list: Domain-0 with the memory Xen gave it.
    let list = cmd(&mut s, "list");
    assert!(list.starts_with("Name                                        ID   Mem VCPUs\tState\tTime(s)"), "{list}");
    let row = capture(&list, r"(Domain-0 +0 +\d+ +1 +[r-][b-]----.*)");
    let mem: u64 = capture(&row, r"Domain-0 +0 +(\d+)").parse().unwrap();
    assert_eq!(mem.to_string(), dom0_mb, "list shows {mem} MiB, Xen gave {dom0_mb}");

    // info and version match Xen's banner.
    let info = cmd(&mut s, "info");
    assert_eq!(capture(&info, r"xen_version +: (\S+)"), xen_version);
    assert_eq!(capture(&info, r"nr_cpus +: (\d+)"), ncpus);
    assert_eq!(capture(&info, r"cc_compiler +: (.+?)\n"), xen_compiler);
    assert_eq!(capture(&info, r"cc_compile_date +: (.+?)\n"), xen_date);
    assert_eq!(capture(&info, r"xen_commandline +: (.+?)\n"), xen_cmdline);
    assert_eq!(capture(&info, r"total_memory +: (\d+)"), "2048");
    assert_eq!(capture(&info, r"dom0_memory +: (\d+) MiB"), dom0_mb);
    let free: u64 = capture(&info, r"free_memory +: (\d+)").parse().unwrap();
    assert!(free > 0 && free < 2048 - 160, "free_memory {free}");
    assert!(info.contains("xen_scheduler          : credit2"), "{info}");

    let version = cmd(&mut s, "version");
    assert!(version.contains(&format!("Xen version {xen_version} ")), "{version}");
    assert!(version.contains("capabilities: xen-3.0-aarch64"), "{version}");

    // dmesg returns Xen's console ring: the banner and later lines.
    let dmesg = cmd(&mut s, "dmesg");
    assert!(dmesg.contains(&format!("Xen version {xen_version}")), "dmesg lacks the banner");
    assert!(dmesg.contains(&format!("Brought up {ncpus} CPUs")), "dmesg lacks CPU bring-up");

    // Errors are clear; line editing works.
    let unknown = cmd(&mut s, "frobnicate now");
    assert!(unknown.contains("frobnicate: unknown command (type 'help' for the list)"), "{unknown}");
    let quoted = cmd(&mut s, "list \"oops");
    assert!(quoted.contains("error: unterminated quote"), "{quoted}");
    let edited = cmd(&mut s, "versiox\x7fn");
    assert!(edited.contains("Xen version"), "backspace not applied: {edited}");
    let up = cmd(&mut s, "uptime");
    assert!(up.starts_with("up 00:0"), "{up}");
    let help = cmd(&mut s, "help");
    for c in ["version", "info", "list", "dmesg", "uptime", "poweroff", "reboot", "crash"] {
        assert!(help.contains(&format!("  {c}")), "help lacks {c}");
    }

    // poweroff stops Xen and QEMU cleanly.
    check(&mut s, |s| {
        s.send_line("poweroff")?;
        s.expect("Hardware Dom0 halted: halting machine", CMD_TIMEOUT)?;
        anyhow::ensure!(s.wait_exit(Duration::from_secs(30))?, "QEMU did not exit after poweroff");
        Ok(())
    });
}

#[test]
fn crash_prints_report_and_shuts_down() {
    let mut s = boot("crash");
    check(&mut s, |s| {
        s.send_line("crash")?;
        s.expect("*** thindom crash: Synchronous exception taken at current EL with SPx", CMD_TIMEOUT)?;
        s.expect("EC   0x25 (Data Abort (same EL))", CMD_TIMEOUT)?;
        s.expect("(translation fault, read)", CMD_TIMEOUT)?;
        s.expect("FAR  0x0000dead00000000", CMD_TIMEOUT)?;
        s.expect(" x30 0x", CMD_TIMEOUT)?;
        s.expect("*** thindom: shutting down (SHUTDOWN_crash)", CMD_TIMEOUT)?;
        s.expect("Hardware Dom0 crashed", CMD_TIMEOUT)?;
        anyhow::ensure!(s.wait_exit(Duration::from_secs(60))?, "QEMU did not exit after the crash");
        Ok(())
    });
}

#[test]
fn boots_with_gicv2_and_little_memory() {
    let mut s = boot_with("gicv2", |c| {
        c.gic = 2;
        c.mem_mib = 1024;
        c.dom0_mem = "32M".into();
        // The boot ramdisk (guest kernels) would not fit in 32 MiB: a thin
        // Dom0 with built-in configurations needs none.
        c.ramdisk = None;
    });
    let dt = cmd(&mut s, "dt");
    assert!(dt.contains("gic      v2"), "{dt}");
    assert!(dt.contains("(32 MiB)"), "{dt}");
    let list = cmd(&mut s, "list");
    assert!(list.contains("Domain-0                                     0    32"), "{list}");
    let mem = cmd(&mut s, "mem");
    let total: u64 = capture(&mem, r"size (\d+) bytes").parse().unwrap();
    assert!(total > 16 << 20, "heap did not take the free RAM: {mem}");
    // reboot goes through Xen (SCHEDOP_shutdown reboot); -no-reboot makes
    // QEMU exit at the machine reset.
    check(&mut s, |s| {
        s.send_line("reboot")?;
        s.expect("Hardware Dom0 shutdown: rebooting machine", CMD_TIMEOUT)?;
        anyhow::ensure!(s.wait_exit(Duration::from_secs(60))?, "QEMU did not exit at reboot");
        Ok(())
    });
}
