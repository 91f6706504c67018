//! The xl-shaped commands as the shell runs them.

use super::*;
use crate::xl::{Outcome, COMMANDS};

fn run(ts: &mut Ts<'_>, line: &str) -> (Option<Outcome>, String) {
    let words = shell::split(line).unwrap();
    let mut out = String::new();
    let r = ts.xl(&mut out, &words[0], &words[1..]);
    (r, out)
}

#[test]
fn create_list_destroy_as_xl_prints_them() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let (r, out) = run(&mut ts, "create guest -p memory=20");
    assert_eq!(r, Some(Outcome::Done));
    assert_eq!(out, "Parsing config from guest\nStarted domain guest (id=7), paused\n");
    let (_, out) = run(&mut ts, "list");
    assert!(out.starts_with("Name                                        ID   Mem VCPUs\tState\tTime(s)\n"), "{out}");
    assert!(out.contains("\nguest                                        7 "), "{out}");
    assert_eq!(run(&mut ts, "unpause guest").1, "");
    assert_eq!(run(&mut ts, "destroy 7").1, "");
    assert_eq!(run(&mut ts, "destroy guest").1, "destroy: no domain \"guest\"\n");
    assert_eq!(run(&mut ts, "destroy").1, "usage: destroy <dom>\n");
    assert_eq!(run(&mut ts, "destroy Domain-0").1, "destroy: refusing to destroy Domain-0\n");
    let (r, out) = run(&mut ts, "create guest -c");
    assert_eq!(r, Some(Outcome::Attach(8)), "{out}");
    assert_eq!(run(&mut ts, "console guest").0, Some(Outcome::Attach(8)));
    assert_eq!(run(&mut ts, "create").1, "usage: create <cfg> [-p] [-c] [key=value..]\n");
    let (_, out) = run(&mut ts, "create nosuch");
    assert_eq!(out, "Parsing config from nosuch\ncreate: no configuration \"nosuch\" (see config-list)\n");
    assert_eq!(run(&mut ts, "poweroff").0, None);
    assert_eq!(run(&mut ts, "reboot").0, None, "reboot without a domain is the machine's");
}

#[test]
fn host_commands_as_xl_prints_them() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let (_, out) = run(&mut ts, "info");
    assert!(out.contains("\nnr_cpus                : 2\n"), "{out}");
    assert!(out.contains("xen_version            : 4.17.5\n"), "{out}");
    assert!(out.contains("xen_scheduler          : credit2\n"), "{out}");
    assert!(out.starts_with("host                   : thindom\n"), "{out}");
    assert_eq!(run(&mut ts, "dmesg").1, "(XEN) hello\n");
    assert!(run(&mut ts, "version").1.contains("4.17"));
    xen.raw().fail_next(-1);
    assert_eq!(run(&mut ts, "info").1, "info: EPERM (Operation not permitted)\n");
}

#[test]
fn shutdown_reboot_and_flags() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    run(&mut ts, "create guest");
    let (_, out) = run(&mut ts, "shutdown guest");
    assert!(out.starts_with("shutdown: PV control interface not available"), "{out}");
    assert_eq!(run(&mut ts, "reboot -F guest").1, "Rebooting domain 7 (forced by Xen (no PV control interface))\n");
    assert_eq!(run(&mut ts, "shutdown -F").1, "usage: shutdown <dom>\n");
}

#[test]
fn config_list_and_xenstore_commands() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let (_, out) = run(&mut ts, "config-list");
    assert!(out.starts_with("Config                   Source    Name                Mem VCPUs\n"), "{out}");
    assert!(out.contains("guest.cfg                ramdisk   guest                16     1\n"), "{out}");
    assert!(out.contains("bad.cfg                  ramdisk   error: "), "{out}");
    assert_eq!(run(&mut ts, "xenstore-write /tool/x 'a b'").1, "");
    assert_eq!(run(&mut ts, "xenstore-read /tool/x").1, "a b\n");
    assert_eq!(run(&mut ts, "xenstore-ls /tool").1, "x = \"a b\"  (n0)\n");
    assert_eq!(run(&mut ts, "xenstore-rm /tool/x").1, "");
    assert_eq!(run(&mut ts, "xenstore-read /tool/x").1, "xenstore-read: /tool/x: ENOENT\n");
    assert_eq!(run(&mut ts, "xenstore-read").1, "usage: xenstore-read <path>\n");
    assert!(run(&mut ts, "xenstore").1.starts_with("xenstore: "));
    for c in COMMANDS {
        let (r, _) = run(&mut ts, c.name);
        assert!(r.is_some() || c.name == "reboot", "{} dispatches", c.name);
    }
}

#[test]
fn xenstore_ls_is_bounded() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    // 50 directories of 50 nodes (a directory listing is one message,
    // at most 4096 bytes).
    for i in 0..50 {
        for j in 0..50 {
            run(&mut ts, &format!("xenstore-write /tool/d{i}/n{j} v"));
        }
    }
    let (_, out) = run(&mut ts, "xenstore-ls /tool");
    assert_eq!(out.lines().count(), crate::xl::LS_BUDGET + 1);
    assert!(out.ends_with("... (truncated)\n"));
}
