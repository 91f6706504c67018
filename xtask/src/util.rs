//! Small helpers: running commands, paths.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask has a parent").to_path_buf()
}

/// The git-ignored download and build cache.
pub fn cache() -> PathBuf {
    root().join(".cache")
}

pub fn banner(s: &str) {
    println!("\n==> {s}");
}

/// Runs `cmd`, failing with its name if it does not succeed.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn cargo_cmd() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

pub fn cargo(args: &[&str]) -> Result<()> {
    run(cargo_cmd().args(args))
}

pub fn cargo_env(args: &[&str], env: &[(String, String)]) -> Result<()> {
    let mut c = cargo_cmd();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
