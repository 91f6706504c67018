//! `cargo xtask fuzz`: runs the `cargo fuzz` targets of `fuzz/` (libFuzzer)
//! for a bounded time each. `cargo xtask test` runs them briefly.

use crate::util::{self, root};
use anyhow::{bail, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Everything that parses guest or user input.
pub const TARGETS: &[&str] =
    &["xenstore_stream", "xlcfg", "disk_spec", "vif_spec", "bootfs", "kernel_image", "console_ring", "agent_nodes"];

fn ensure_cargo_fuzz() -> Result<()> {
    if util::have("cargo-fuzz") {
        return Ok(());
    }
    println!("fuzz: cargo install cargo-fuzz");
    util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// `cargo fuzz` needs a nightly compiler: the installed nightly if there is
/// one, else the stable toolchain with `RUSTC_BOOTSTRAP=1`.
fn fuzz_cmd() -> Command {
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let mut c = Command::new("cargo");
    if nightly {
        c.arg("+nightly");
    } else {
        c.env("RUSTC_BOOTSTRAP", "1");
    }
    c.current_dir(root().join("fuzz"));
    c.arg("fuzz");
    c
}

/// What libFuzzer's last status line said about a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub execs: u64,
    pub seconds: u64,
    pub cov: u64,
    pub ft: u64,
    pub corpus: u64,
}

/// Reads `#N DONE cov: X ft: Y corp: A/Bb ...` and `Done N runs in S
/// second(s)` from libFuzzer's output.
pub fn outcome(log: &str) -> Outcome {
    let mut o = Outcome::default();
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    for line in log.lines() {
        if line.contains("DONE ") && line.starts_with('#') {
            o.cov = field(line, "cov:").unwrap_or(0);
            o.ft = field(line, "ft:").unwrap_or(0);
            o.corpus = field(line, "corp:").unwrap_or(0);
        }
        if let Some(rest) = line.strip_prefix("Done ") {
            o.execs = rest.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            o.seconds = field(rest, " in ").unwrap_or(0);
        }
    }
    o
}

/// Runs each target (or `only`) for `seconds`, or `runs` executions if
/// that comes first; prints a table of executions, coverage and corpus.
pub fn run(seconds: u64, runs: Option<u64>, only: Option<&str>) -> Result<()> {
    ensure_cargo_fuzz()?;
    let mut table = Vec::new();
    for t in TARGETS.iter().filter(|t| only.is_none_or(|o| o == **t)) {
        util::banner(&format!("fuzz {t} for {seconds} s"));
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let mut args = vec![format!("-max_total_time={seconds}"), "-rss_limit_mb=2048".to_string()];
        if let Some(n) = runs {
            args.push(format!("-runs={n}"));
        }
        let mut child =
            fuzz_cmd().args(["run", t]).arg(&corpus).arg("--").args(&args).stderr(Stdio::piped()).spawn()?;
        // libFuzzer reports on stderr: passed through, and kept.
        let mut log = String::new();
        if let Some(err) = child.stderr.take() {
            for line in BufReader::new(err).lines() {
                let line = line?;
                eprintln!("{line}");
                log.push_str(&line);
                log.push('\n');
            }
        }
        if !child.wait()?.success() {
            bail!("fuzz target {t} failed (see fuzz/artifacts/{t})");
        }
        table.push((t, outcome(&log)));
    }
    println!("\n| target | executions | seconds | coverage (edges) | features | corpus | findings |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (t, o) in table {
        println!("| {t} | {} | {} | {} | {} | {} | none |", o.execs, o.seconds, o.cov, o.ft, o.corpus);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_libfuzzers_last_lines() {
        let log = "#14349\tDONE   cov: 1089 ft: 1955 corp: 88/1286b lim: 33 exec/s: 1304 rss: 444Mb\n\
                   Done 14349 runs in 11 second(s)\n";
        let o = super::outcome(log);
        assert_eq!((o.execs, o.seconds, o.cov, o.ft, o.corpus), (14349, 11, 1089, 1955, 88));
    }
}
