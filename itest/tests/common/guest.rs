//! Helpers for the tests that drive Linux guests (the driver domain and
//! DomUs) through their consoles: shared by `domd.rs` and `net.rs`
//! (included with `#[path]`, next to `mod common`).
#![allow(dead_code)]

use crate::common::*;
use harness::Session;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const GUEST: Duration = Duration::from_secs(180);

pub use crate::common::{console_attach as attach, console_detach as detach};

/// Runs `line` in the attached guest's shell; returns its output: what
/// came after the command line's echo, up to a marker it prints (computed
/// by the shell, and new for every command, so neither the echo nor the
/// console history shown on attach can match it).
pub fn sh(s: &mut Session, line: &str) -> String {
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
pub fn boot_pt(name: &str) -> Vm {
    let dtb = std::env::var("THINDOM_PT_DTB").expect("THINDOM_PT_DTB: run with `cargo xtask test`");
    boot_with(name, |c| c.dtb = Some(dtb.into()))
}

/// Creates Dom-D, waits for its agent, and checks that Linux there drives
/// the GPIO controller it was given (driver bound, a line exported and
/// read through the controller's registers).
pub fn start_domd(s: &mut Session) {
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

/// Creates a Linux DomU `name` with `extra` (quoted overrides) and waits
/// for its shell.
pub fn start_user(s: &mut Session, name: &str, extra: &str) -> u16 {
    let out = cmd(s, &format!("create linux name={name} {extra}"));
    let id = capture(&out, r"Started domain \S+ \(id=(\d+)\)").parse().expect("domid");
    attach(s, name);
    check(s, |s| s.expect("init done", GUEST).map(drop));
    sh(s, "true");
    id
}

/// A raw XenStore read through `/dev/xen/xenbus` in the attached Linux
/// guest (its `xsread`): a value, or an error name (`EACCES`).
pub fn raw_read(s: &mut Session, path: &str) -> String {
    sh(s, &format!("xsread {path}"))
}
