//! Helpers shared by the integration tests.
#![allow(dead_code)]

use anyhow::Result;
use harness::{QemuConfig, Session};
use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;

/// thindom's shell prompt.
pub const PROMPT: &str = "thindom> ";
/// Generous: QEMU emulates every instruction (TCG) and CI machines are slow.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

fn log_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/itest").join(format!("{name}.log"))
}

/// Boots Xen + thindom with `cfg` adjustments and waits for the prompt.
pub fn boot_with(name: &str, adjust: impl FnOnce(&mut QemuConfig)) -> Session {
    let mut cfg = QemuConfig::from_env().expect("integration-test environment");
    adjust(&mut cfg);
    let mut s = Session::spawn(&cfg, &log_path(name)).expect("start QEMU");
    check(&mut s, |s| s.expect(PROMPT, BOOT_TIMEOUT).map(drop));
    s
}

/// Boots with the default configuration.
pub fn boot(name: &str) -> Session {
    boot_with(name, |_| {})
}

/// Runs `f`; on error panics with the error and the tail of the log.
pub fn check<T>(s: &mut Session, f: impl FnOnce(&mut Session) -> Result<T>) -> T {
    match f(s) {
        Ok(v) => v,
        Err(e) => panic!("{e:#}\n--- last 60 lines of {} ---\n{}\n---", s.log_path().display(), s.tail(60)),
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
        let echo = Regex::new(&format!("{}\r*\n", regex::escape(&tail))).expect("echo regex");
        s.expect_re(&echo, CMD_TIMEOUT)?;
        let out = s.expect(PROMPT, CMD_TIMEOUT)?;
        Ok(out.trim_end_matches(PROMPT).replace("\r\n", "\n"))
    })
}

/// First capture of `re` in `text`, or a panic naming both.
pub fn capture(text: &str, re: &str) -> String {
    let r = Regex::new(re).expect("test regex");
    match r.captures(text) {
        Some(c) => c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default(),
        None => panic!("no match for /{re}/ in:\n{text}"),
    }
}
