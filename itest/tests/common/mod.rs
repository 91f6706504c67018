//! Helpers shared by the integration tests.
#![allow(dead_code)]

use anyhow::Result;
use harness::{QemuConfig, Session};
use regex::Regex;
use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Duration;

/// thindom's shell prompt.
pub const PROMPT: &str = "thindom> ";
/// Generous: QEMU emulates every instruction (TCG) and CI machines are slow.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// A guest booting to a given console line.
pub const GUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Lines of the serial log shown when a test fails.
const TAIL_LINES: usize = 60;

thread_local! {
    /// Set once a failure message already carried the log tail.
    static TAIL_SHOWN: Cell<bool> = const { Cell::new(false) };
}

fn log_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/itest").join(format!("{name}.log"))
}

fn tail_text(s: &Session) -> String {
    format!("--- last {TAIL_LINES} lines of {} ---\n{}\n---", s.log_path().display(), s.tail(TAIL_LINES))
}

/// A booted machine. Derefs to the [`Session`]; when a test panics while
/// it is alive (any `assert!`, `capture`, `unwrap`), the tail of the
/// serial log is printed after the panic message, so every failure shows
/// what Xen and thindom said.
pub struct Vm(Session);

impl Deref for Vm {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl DerefMut for Vm {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.0
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if std::thread::panicking() && !TAIL_SHOWN.with(Cell::get) {
            eprintln!("{}", tail_text(&self.0));
        }
    }
}

/// Boots Xen + thindom with `cfg` adjustments and waits for the prompt.
pub fn boot_with(name: &str, adjust: impl FnOnce(&mut QemuConfig)) -> Vm {
    let mut cfg = QemuConfig::from_env().expect("integration-test environment");
    adjust(&mut cfg);
    let mut s = Vm(Session::spawn(&cfg, &log_path(name)).expect("start QEMU"));
    check(&mut s, |s| s.expect(PROMPT, BOOT_TIMEOUT).map(drop));
    s
}

/// Boots with the default configuration.
pub fn boot(name: &str) -> Vm {
    boot_with(name, |_| {})
}

/// Runs `f`; on error panics with the error and the tail of the log.
pub fn check<T>(s: &mut Session, f: impl FnOnce(&mut Session) -> Result<T>) -> T {
    match f(s) {
        Ok(v) => v,
        Err(e) => fail(s, &format!("{e:#}")),
    }
}

/// Panics with `msg` and the tail of the serial log.
pub fn fail(s: &Session, msg: &str) -> ! {
    TAIL_SHOWN.with(|t| t.set(true));
    panic!("{msg}\n{}", tail_text(s))
}

/// `assert!` that shows the tail of the serial log on failure.
pub fn ensure(s: &Session, ok: bool, msg: impl FnOnce() -> String) {
    if !ok {
        fail(s, &msg());
    }
}

/// `assert_eq!` on text that shows the tail of the serial log on failure.
pub fn ensure_eq(s: &Session, left: impl AsRef<str>, right: impl AsRef<str>, what: &str) {
    let (l, r) = (left.as_ref(), right.as_ref());
    if l != r {
        fail(s, &format!("{what}: {l:?} != {r:?}"));
    }
}

/// Types `line` at the prompt and returns what it printed before the next
/// prompt (without the echoed command line).
pub fn cmd(s: &mut Session, line: &str) -> String {
    check(s, |s| {
        s.send_line(line)?;
        // Wait for the echo of (the end of) the line itself, so output that
        // arrived just before (a log line) is not taken for the command's.
        let tail: String = line.rsplit(|c: char| c.is_control()).next().unwrap_or("").chars().rev().take(12).collect();
        let tail: String = tail.chars().rev().collect();
        s.expect_re(&harness::echo_re(&tail), CMD_TIMEOUT)?;
        let out = s.expect(PROMPT, CMD_TIMEOUT)?;
        Ok(out.trim_end_matches(PROMPT).replace("\r\n", "\n"))
    })
}

/// Waits for the literal `pat` within `t`; returns the text up to it.
pub fn wait_for(s: &mut Session, pat: &str, t: Duration) -> String {
    check(s, |s| s.expect(pat, t))
}

/// Attaches the terminal to `dom`'s console.
pub fn console_attach(s: &mut Session, dom: &str) {
    check(s, |s| {
        s.send_line(&format!("console {dom}"))?;
        s.expect("\r\n", CMD_TIMEOUT).map(drop)
    });
}

/// Detaches with Ctrl-] and waits for the prompt.
pub fn console_detach(s: &mut Session) {
    check(s, |s| {
        s.send_raw(&[0x1d])?;
        s.expect("[detached from the console]", CMD_TIMEOUT)?;
        s.expect(PROMPT, CMD_TIMEOUT).map(drop)
    });
}

/// First capture of `re` in `text`, or a panic naming both.
pub fn capture(text: &str, re: &str) -> String {
    let r = Regex::new(re).expect("test regex");
    match r.captures(text) {
        Some(c) => c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default(),
        None => panic!("no match for /{re}/ in:\n{text}"),
    }
}

/// All captures of `re` in `text`.
pub fn capture_all(text: &str, re: &str) -> Vec<String> {
    let r = Regex::new(re).expect("test regex");
    r.captures_iter(text).filter_map(|c| c.get(1).map(|m| m.as_str().to_string())).collect()
}
