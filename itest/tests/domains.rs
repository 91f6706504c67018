//! Issue #5: thindom creates, runs and destroys real guests under Xen:
//! the Rust test guest and Debian's arm64 Linux, through thindom's builder,
//! console daemon and XenStore.

mod common;

use common::*;
use harness::Session;
use std::time::Duration;

const GUEST: Duration = Duration::from_secs(120);

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

fn expect(s: &mut Session, pat: &str, t: Duration) -> String {
    check(s, |s| s.expect(pat, t))
}

/// Domain-0 plus these names, as `list` shows them.
fn list_names(s: &mut Session) -> Vec<String> {
    cmd(s, "list")
        .lines()
        .filter(|l| !l.starts_with("Name "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

#[test]
fn rust_guest_full_lifecycle() {
    let mut s = boot("rust-guest");
    let out = cmd(&mut s, "create testguest on_poweroff=preserve");
    assert!(out.contains("Started domain testguest (id=1)"), "{out}");
    expect(&mut s, "domain 1 (testguest) powered off: preserve", GUEST);
    attach(&mut s, "testguest");
    let log = expect(&mut s, "testguest: powering off", CMD_TIMEOUT);
    for line in [
        "testguest: hello from a Rust guest on Xen",
        "testguest: memory 0x40000000 16 MiB, 1 vcpu(s), GICv3, grant table 0x38000000, evtchn PPI 31",
        "testguest: bootargs \"action=poweroff\"",
        "testguest: xenstore domid = 1",
        "testguest: xenstore name = testguest",
        "testguest: xenstore wrote and read back data/greeting = hello-from-testguest",
        "testguest: xenstore read of Dom0's name refused: EACCES",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }
    detach(&mut s);
    let list = cmd(&mut s, "list");
    assert!(list.contains("testguest                                    1    16     1     ---s--"), "{list}");
    assert_eq!(cmd(&mut s, "xenstore-read /local/domain/1/data/greeting").trim(), "hello-from-testguest");
    let ls = cmd(&mut s, "xenstore-ls /local/domain/1");
    assert!(ls.contains("name = \"testguest\"  (n0 r1)") && ls.contains("shutdown = \"\"  (n1)"), "{ls}");
    assert!(cmd(&mut s, "destroy testguest").contains("domain 1 (testguest) destroyed"));
    assert_eq!(list_names(&mut s), ["Domain-0"]);
    assert!(cmd(&mut s, "xenstore").contains("xenstore: 8 nodes, 0 watches, 1 connections"));
}

/// `xl`'s lifecycle verbs on a running guest: pause/unpause, `shutdown`
/// and `reboot` through the guest's PV control interface
/// (`control/shutdown`), `on_reboot=restart` keeping the UUID, and the
/// forced path (`-F`) for a guest without PV control.
#[test]
fn rust_guest_pause_shutdown_reboot() {
    let mut s = boot("rust-guest-control");
    let cl = cmd(&mut s, "config-list");
    assert!(cl.contains("testguest.cfg") && cl.contains("linux.cfg"), "{cl}");
    assert!(cmd(&mut s, "create testguest extra=action=echo").contains("Started domain testguest (id=1)"));
    attach(&mut s, "testguest");
    expect(&mut s, "testguest: PV control: watching control/shutdown", GUEST);
    detach(&mut s);
    // The guest advertised it, as Linux does.
    assert_eq!(cmd(&mut s, "xenstore-read /local/domain/1/control/feature-reboot").trim(), "1");
    let vm = cmd(&mut s, "xenstore-read /local/domain/1/vm").trim().to_string();

    // Paused, it does not echo; unpaused, it does.
    assert_eq!(cmd(&mut s, "pause testguest").trim(), "");
    let list = cmd(&mut s, "list");
    let state = capture(&list, r"testguest +1 +16 +1 +(\S+)");
    assert_eq!(&state[2..], "p---", "{list}");
    assert_eq!(cmd(&mut s, "unpause testguest").trim(), "");
    attach(&mut s, "testguest");
    check(&mut s, |s| s.send_line("still here"));
    expect(&mut s, "testguest: echo: still here", CMD_TIMEOUT);
    detach(&mut s);

    // reboot: asked through control/shutdown; on_reboot=restart brings it
    // back as a new domain with the same UUID.
    let out = cmd(&mut s, "reboot testguest");
    assert!(out.contains("Rebooting domain 1 (asked through its PV control interface)"), "{out}");
    expect(&mut s, "domain 1 (testguest) rebooted: restart", GUEST);
    expect(&mut s, "testguest: restarted as domain 2", GUEST);
    assert_eq!(list_names(&mut s), ["Domain-0", "testguest"]);
    assert_eq!(cmd(&mut s, "xenstore-read /local/domain/2/vm").trim(), vm, "restart changed the UUID");
    attach(&mut s, "testguest");
    expect(&mut s, "testguest: PV control: watching control/shutdown", GUEST);
    detach(&mut s);

    // shutdown: the guest powers itself off on request (on_poweroff=destroy).
    let out = cmd(&mut s, "shutdown testguest");
    assert!(out.contains("Shutting down domain 2 (asked through its PV control interface)"), "{out}");
    expect(&mut s, "domain 2 (testguest) powered off: destroy", GUEST);
    expect(&mut s, "domain 2 (testguest) destroyed", GUEST);
    assert_eq!(list_names(&mut s), ["Domain-0"]);

    // A guest that never ran has no PV control: refused unless forced.
    assert!(cmd(&mut s, "create testguest -p").contains("Started domain testguest (id=3), paused"));
    let out = cmd(&mut s, "shutdown testguest");
    assert!(out.contains("PV control interface not available"), "{out}");
    assert!(cmd(&mut s, "list").contains("testguest"));
    let out = cmd(&mut s, "shutdown -F testguest");
    assert!(out.contains("Shutting down domain 3 (forced by Xen (no PV control interface))"), "{out}");
    expect(&mut s, "domain 3 (testguest) destroyed", GUEST);
    assert_eq!(list_names(&mut s), ["Domain-0"]);
    assert!(cmd(&mut s, "shutdown 0").contains("refusing to shut down Domain-0"));
}

#[test]
fn linux_guest_boots_to_a_shell() {
    let mut s = boot("linux-guest");
    let out = cmd(&mut s, "create linux");
    assert!(out.contains("Started domain linux (id=1)"), "{out}");
    attach(&mut s, "linux");
    expect(&mut s, "thindom-linux-guest: init done, 6.1", GUEST);
    expect(&mut s, "/ #", GUEST);
    check(&mut s, |s| s.send_line("uname -a"));
    let u = expect(&mut s, "GNU/Linux", CMD_TIMEOUT);
    assert!(u.contains("Linux (none) 6.1") && u.contains("aarch64"), "{u}");
    // A 1,000-character line pasted into the guest arrives whole (issue
    // #14: Xen keeps 128 bytes of serial input; the guest's ring 1,024).
    let long: String =
        (0..1000).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + i / 36) % 36] as char).collect();
    // (busybox's line editor keeps 1,023 characters of a line.) At 38400
    // baud: under TCG on a loaded 2-CPU host, Dom0's vCPU can go unrun
    // for longer than Xen's 128 bytes last at 115200 (the bytes are lost
    // in Xen before Dom0 can read them); see console_input.rs.
    check(&mut s, |s| s.send_paced(format!("echo {long} | wc -c\recho pasted-$((6*7))\r").as_bytes(), 38_400));
    let out = expect(&mut s, "pasted-42", CMD_TIMEOUT).replace('\r', "");
    assert!(out.contains("\n1001\n"), "the guest did not get 1,000 characters and a newline: {out}");
    check(&mut s, |s| s.send_line("cat /sys/hypervisor/type; grep -c processor /proc/cpuinfo; echo cpus-listed"));
    let out = expect(&mut s, "\ncpus-listed", CMD_TIMEOUT).replace('\r', "");
    assert!(out.contains("\nxen\n1\n"), "hypervisor type / one processor: {out}");
    // xenbus enumerated the devices the toolstack offers (none but the
    // console, which has no xenbus device here) without error.
    check(&mut s, |s| s.send_line("ls /sys/bus/xen/devices/ && echo xenbus-ok"));
    expect(&mut s, "\nxenbus-ok", CMD_TIMEOUT);
    check(&mut s, |s| s.send_line("cat /sys/hypervisor/uuid; echo done-$((6*7))"));
    let seen = expect(&mut s, "done-42", CMD_TIMEOUT);
    detach(&mut s);
    // The UUID Linux reports is the one thindom gave the domain (Xen's
    // handle) and wrote to its XenStore `vm` path.
    let vm = cmd(&mut s, "xenstore-read /local/domain/1/vm");
    let uuid = vm.trim().trim_start_matches("/vm/").to_string();
    assert_eq!(uuid.len(), 36, "{vm}");
    assert!(seen.contains(&uuid), "guest saw another UUID than {uuid}: {seen}");
    // Linux's xenbus really talks to our store: it wrote its PV control
    // features (drivers/xen/manage.c) into nodes libxl makes writable.
    assert_eq!(cmd(&mut s, "xenstore-read /local/domain/1/control/feature-poweroff").trim(), "1");
    assert!(!s.output().contains("Error -13 writing feature-poweroff"), "the guest could not write its features");
    let list = cmd(&mut s, "list");
    assert!(list.contains("linux                                        1    64     1"), "{list}");
    // A graceful shutdown: Linux sees control/shutdown and powers off.
    let out = cmd(&mut s, "shutdown linux");
    assert!(out.contains("Shutting down domain 1 (asked through its PV control interface)"), "{out}");
    // Linux itself powered off (SCHEDOP_shutdown poweroff), not Xen. Xen
    // may still show the vCPU running when the VIRQ is read: the shutdown
    // flag and reason are what count.
    let off = regex::Regex::new(r"domain 1 is [r-][b-][p-]s-- \(poweroff\)").unwrap();
    check(&mut s, |s| s.expect_re(&off, GUEST));
    expect(&mut s, "domain 1 (linux) powered off: destroy", GUEST);
    expect(&mut s, "domain 1 (linux) destroyed", GUEST);
    assert_eq!(list_names(&mut s), ["Domain-0"]);
}

#[test]
fn two_guests_with_interactive_consoles() {
    let mut s = boot("two-guests");
    assert!(cmd(&mut s, "create testguest name=one extra=action=echo").contains("Started domain one (id=1)"));
    assert!(cmd(&mut s, "create testguest name=two extra=action=echo").contains("Started domain two (id=2)"));
    assert_eq!(list_names(&mut s), ["Domain-0", "one", "two"]);
    attach(&mut s, "one");
    expect(&mut s, "echo mode, type quit to power off", GUEST);
    check(&mut s, |s| s.send_line("hello one"));
    expect(&mut s, "testguest: echo: hello one", CMD_TIMEOUT);
    detach(&mut s);
    attach(&mut s, "two");
    expect(&mut s, "echo mode", GUEST);
    check(&mut s, |s| s.send_line("quit"));
    expect(&mut s, "testguest: echo: quit", CMD_TIMEOUT);
    // on_poweroff=destroy: the guest goes and the console detaches itself.
    expect(&mut s, "[the domain is gone]", GUEST);
    expect(&mut s, PROMPT, CMD_TIMEOUT);
    assert_eq!(list_names(&mut s), ["Domain-0", "one"]);
    let out = cmd(&mut s, "create testguest name=one");
    assert!(out.contains("domain \"one\" already exists (id 1)"), "{out}");
}

fn counts(s: &mut Session) -> (String, String, String, String) {
    let info = cmd(s, "info");
    let free = capture(&info, r"free_memory +: (\d+)");
    let ev = cmd(s, "evtchn");
    let ports = ev.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).count();
    let xs = capture(&cmd(s, "xenstore"), r"xenstore: (\d+ nodes, \d+ watches, \d+ connections)");
    let g = cmd(s, "gnttab");
    (free, ports.to_string(), xs, capture(&g, r"mapping space: (\d+) pages free"))
}

#[test]
fn twenty_create_destroy_cycles_leak_nothing() {
    let mut s = boot("cycles");
    let start = counts(&mut s);
    for i in 0..20 {
        let id = i + 1;
        // Every other guest runs: it maps its rings, writes nodes, places a
        // watch and has its console drained before it is destroyed.
        let running = i % 2 == 1;
        let out = cmd(&mut s, if running { "create testguest extra=action=echo" } else { "create testguest -p" });
        assert!(out.contains(&format!("Started domain testguest (id={id})")), "cycle {i}: {out}");
        if running {
            let feature = format!("xenstore-read /local/domain/{id}/control/feature-reboot");
            let mut seen = String::new();
            for _ in 0..100 {
                seen = cmd(&mut s, &feature);
                if seen.trim() == "1" {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(seen.trim(), "1", "cycle {i}: the guest never set up its PV control");
            assert!(cmd(&mut s, "xenstore").contains(" 1 watches"), "cycle {i}: the guest's watch is missing");
        }
        let out = cmd(&mut s, "destroy testguest");
        assert!(out.contains(&format!("domain {id} (testguest) destroyed")), "cycle {i}: {out}");
        // `destroy` returns once the domain is gone from Xen; its memory
        // counts as free again once Xen has scrubbed it, in the background:
        // allow 5 s for that.
        let mut now = counts(&mut s);
        for _ in 0..50 {
            if now == start {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            now = counts(&mut s);
        }
        assert_eq!(now, start, "cycle {i}");
    }
}

#[test]
fn bad_requests_fail_cleanly() {
    let mut s = boot("bad-requests");
    let xs = cmd(&mut s, "xenstore");
    let cases = [
        ("create nope", "create: no configuration \"nope\" (see config-list)"),
        ("create testguest memory=lots", "line 0: memory: expected a number of MiB"),
        ("create testguest vcpus=0", "line 0: vcpus: 0 is outside 1..=128 vCPUs"),
        ("create testguest frobnicate=1", "line 0: frobnicate: unknown key"),
        ("create tests/truncated", "reading the kernel: kernel image is truncated"),
        ("create testguest memory=3000", "populate_physmap (RAM): Xen returned ENOMEM"),
        ("destroy 0", "destroy: refusing to destroy Domain-0"),
        ("console nobody", "console: no domain \"nobody\""),
    ];
    for (c, want) in cases {
        let out = cmd(&mut s, c);
        assert!(out.contains(want), "{c}: {out}");
    }
    assert!(cmd(&mut s, "create testguest memory=3000").contains("(domain 2 destroyed)"));
    // Assigning a host DT device needs an IOMMU protecting it; QEMU virt
    // has none, so Xen refuses, and the half-built domain goes.
    let out = cmd(&mut s, "create testguest 'dtdev=[\"/pl031@9010000\"]'");
    assert!(out.contains("assign_device (dtdev): Xen returned EOPNOTSUPP"), "{out}");
    assert!(out.contains("no IOMMU protects the device") && out.contains("(domain 3 destroyed)"), "{out}");
    let out = cmd(&mut s, "create testguest 'device_tree=\"nowhere.dtb\"'");
    assert!(out.contains("device_tree \"nowhere.dtb\" not found in the boot ramdisk"), "{out}");
    assert_eq!(list_names(&mut s), ["Domain-0"]);
    assert_eq!(cmd(&mut s, "xenstore"), xs);
    // A guest that crashes is reported and cleaned up (on_crash=destroy).
    cmd(&mut s, "create testguest extra=action=crash");
    expect(&mut s, "(testguest) crashed: destroy", GUEST);
    expect(&mut s, "(testguest) destroyed", GUEST);
    // A guest flooding its console cannot starve Dom0.
    cmd(&mut s, "create testguest name=flood extra=action=flood");
    std::thread::sleep(Duration::from_secs(3));
    assert!(cmd(&mut s, "list").contains("flood"));
    assert!(cmd(&mut s, "destroy flood").contains("(flood) destroyed"));
    assert_eq!(list_names(&mut s), ["Domain-0"]);
}

#[test]
fn autostart_creates_domains_at_boot() {
    // The ramdisk `cargo xtask run` uses: demo.cfg has autostart = 1.
    let mut s = boot_with("autostart", |c| {
        let r = c.ramdisk.clone().expect("ramdisk");
        c.ramdisk = Some(r.with_file_name("ramdisk-demo.cpio"));
    });
    assert!(s.output().contains("autostart: demo.cfg is domain 1"), "{}", s.tail(20));
    assert_eq!(list_names(&mut s), ["Domain-0", "demo"]);
    attach(&mut s, "demo");
    expect(&mut s, "echo mode, type quit to power off", GUEST);
    detach(&mut s);
    // The same domain, created the same way on the next boot, gets another
    // UUID: they come from the boot entropy in the device tree.
    let seed = capture(&cmd(&mut s, "dt"), r"seed +(\d+) bytes");
    assert!(seed.parse::<u32>().unwrap() >= 32, "QEMU's rng-seed did not reach Dom0");
    let first = cmd(&mut s, "xenstore-read /local/domain/1/vm");
    drop(s);
    let mut again = boot_with("autostart-again", |c| {
        let r = c.ramdisk.clone().expect("ramdisk");
        c.ramdisk = Some(r.with_file_name("ramdisk-demo.cpio"));
    });
    let second = cmd(&mut again, "xenstore-read /local/domain/1/vm");
    assert!(first.trim().starts_with("/vm/") && second.trim().starts_with("/vm/"), "{first} {second}");
    assert_ne!(first, second, "the same UUID on two boots");
}
