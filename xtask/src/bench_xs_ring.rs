//! `cargo xtask bench xenstore --compare`: XenStore as guests see it.
//! The Rust test guest runs its `action=xsbench` mix (read, write,
//! directory, watch, transaction; `guests/testguest/src/xsbench.rs`) over
//! its own ring, against thindom's xenstored and against C xenstored in
//! the reference Linux Dom0 (`linux_dom0`), created from the same
//! `testguest.cfg` with the same `extra` in both: thindom's
//! `create testguest -c "extra=action=xsbench ops=N"`, and
//! `xl create -c testguest.cfg 'extra="action=xsbench ops=N"'`.
//!
//! Each run boots thindom, then the Linux Dom0 (alternately, so both see
//! the same host load), creates the guest once in each and reads the
//! figures the guest prints: ops/s and p50/p99 latency per kind of op,
//! timed by the guest on its generic timer. Printed as median (min–max)
//! over the runs, with the ratio; never asserted.

use crate::bench_compare::{self, Dom0, TIMEOUT};
use crate::bench_io::{host_cpu, other_qemus, steal_percent};
use crate::stats::spread;
use crate::{linux_dom0, setup};
use anyhow::{bail, Context, Result};
use harness::Session;
use regex::Regex;

/// The kinds of op, in the order the guest prints them.
const KINDS: [&str; 5] = ["read", "write", "directory", "watch", "transaction"];

/// One kind's figures in one run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Op {
    ops_s: f64,
    p50_us: f64,
    p99_us: f64,
}

/// One run on one Dom0.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    ops: [Op; 5],
    /// Transaction commits answered `EAGAIN` (and started again).
    retries: u64,
    /// The whole mix, by the guest's counter and by the host's clock.
    guest_s: f64,
    host_s: f64,
}

/// The guest's `xsbench:` lines in `out`.
fn parse(out: &str) -> Result<Run> {
    if let Some(c) = Regex::new(r"xsbench: error: ([^\r\n]*)")?.captures(out) {
        bail!("the guest's benchmark failed: {}", &c[1]);
    }
    let re = Regex::new(r"xsbench: (\w+) n=\d+ ops/s=(\d+) p50_us=([\d.]+) p99_us=([\d.]+)(?: retries=(\d+))?")?;
    let mut ops = [None; 5];
    let mut retries = 0;
    for c in re.captures_iter(out) {
        let Some(k) = KINDS.iter().position(|k| *k == &c[1]) else { continue };
        ops[k] = Some(Op { ops_s: c[2].parse()?, p50_us: c[3].parse()?, p99_us: c[4].parse()? });
        if let Some(r) = c.get(5) {
            retries = r.as_str().parse()?;
        }
    }
    let mut all = [Op { ops_s: 0.0, p50_us: 0.0, p99_us: 0.0 }; 5];
    for (k, (slot, op)) in all.iter_mut().zip(ops).enumerate() {
        *slot = op.with_context(|| format!("no `xsbench: {}` line in the guest's output", KINDS[k]))?;
    }
    Ok(Run { ops: all, retries, guest_s: 0.0, host_s: 0.0 })
}

/// Creates the benchmarking guest with its console attached and reads its
/// figures; the guest powers off at the end, which gives the prompt back.
fn guest_run(d: &Dom0, s: &mut Session, ops: usize, more: &str) -> Result<Run> {
    let extra = (d.extra)(format!("action=xsbench ops={ops} {more}").trim_end());
    s.send_line(&(d.create)("testguest", "-c", &extra))?;
    let (_, start) = s.expect_re_at(&Regex::new(r"xsbench: \d+ rounds")?, TIMEOUT)?;
    let (out, end) = s.expect_re_at(&Regex::new(r"xsbench: (done[^\r\n]*|error[^\r\n]*)")?, TIMEOUT)?;
    // The mix's wall time on the host's clock, to check the guest's
    // counter against (the serial line adds a little).
    let host = s.time_at(end).zip(s.time_at(start)).map_or(0.0, |(b, a)| (b.saturating_sub(a)).as_secs_f64());
    s.expect(d.prompt, TIMEOUT)?;
    let mut r = parse(&out)?;
    r.host_s = host;
    r.guest_s = Regex::new(r"done, (\d+) ms in all")?.captures(&out).map_or(0.0, |c| c[1].parse().unwrap_or(0.0) / 1e3);
    Ok(r)
}

/// Changes to the usual machine, the same for both Dom0s.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// The machine's CPUs (Xen's physical CPUs) instead of 2.
    pub cpus: Option<u32>,
    /// Words added to Xen's command line.
    pub xen_args: String,
}

/// `bench xenstore --compare`.
pub fn run(runs: usize, ops: usize, guest_args: &str, m: &Machine) -> Result<()> {
    setup::ensure()?;
    let mut setups = [bench_compare::thindom()?, bench_compare::linux(&linux_dom0::build()?)?];
    for d in setups.iter_mut() {
        if let Some(n) = m.cpus {
            d.cfg.cpus = n;
        }
        if !m.xen_args.is_empty() {
            d.cfg.xen_args = format!("{} {}", d.cfg.xen_args, m.xen_args).trim().to_string();
        }
    }
    let mut figs: [Vec<Run>; 2] = [vec![], vec![]];
    for i in 0..runs {
        for (k, d) in setups.iter().enumerate() {
            let others = other_qemus();
            let (mut s, _) = bench_compare::boot_once(d, &format!("xenstore-ring-{}-{i}", d.name))?;
            let cpu0 = host_cpu();
            let r = guest_run(d, &mut s, ops, guest_args);
            let steal = steal_percent(cpu0, host_cpu());
            bench_compare::stop(d, s);
            let r = r.with_context(|| format!("{} run {}", d.name, i + 1))?;
            let each: Vec<String> = KINDS
                .iter()
                .zip(&r.ops)
                .map(|(k, o)| format!("{k} {:.0}/s ({:.1}/{:.1} µs)", o.ops_s, o.p50_us, o.p99_us))
                .collect();
            println!(
                "run {}: {:<9} {}; {} retries; the mix {:.1} s by the guest's counter, {:.1} s by the host's clock; \
                 host steal {steal:.0}%, other QEMUs {}",
                i + 1,
                d.name,
                each.join(", "),
                r.retries,
                r.guest_s,
                r.host_s,
                others
            );
            figs[k].push(r);
        }
    }
    table(&setups, &figs, runs, ops);
    println!("(QEMU -smp {}: Xen's physical CPUs; Xen's own arguments added: {:?})", setups[0].cfg.cpus, m.xen_args);
    if !guest_args.is_empty() {
        println!("(the guest's command line had {guest_args:?} added)");
    }
    Ok(())
}

fn cell(v: &[f64], digits: usize, unit: &str) -> String {
    let (m, lo, hi) = spread(v);
    format!("{m:.digits$}{unit} ({lo:.digits$}–{hi:.digits$})")
}

fn table(setups: &[Dom0; 2], figs: &[Vec<Run>; 2], runs: usize, ops: usize) {
    println!(
        "\nXenStore through the Rust test guest's ring, {ops} timed ops of each kind per run, {runs} run(s) \
         each (Xen 4.17, QEMU TCG on this host), median (min–max) over the runs; the last column is how \
         many times better thindom is (ops/s thindom ÷ C; latency C ÷ thindom):\n"
    );
    println!("| {:<28} | {:>28} | {:>28} | {:>9} |", "", setups[0].name, "Linux Dom0: C xenstored", "thindom ×");
    println!("|{:-<30}|{:->30}:|{:->30}:|{:->10}:|", "", "", "", "");
    type Pick = fn(&Op) -> f64;
    let rows: [(&str, Pick, usize, &str, bool); 3] = [
        ("ops/s", |o| o.ops_s, 0, "", true),
        ("p50", |o| o.p50_us, 1, " µs", false),
        ("p99", |o| o.p99_us, 1, " µs", false),
    ];
    for (k, kind) in KINDS.iter().enumerate() {
        for (what, pick, digits, unit, higher_better) in rows {
            let v: Vec<Vec<f64>> = figs.iter().map(|runs| runs.iter().map(|r| pick(&r.ops[k])).collect()).collect();
            let (t, c) = (spread(&v[0]).0, spread(&v[1]).0);
            let ratio = if higher_better { t / c } else { c / t };
            println!(
                "| {:<28} | {:>28} | {:>28} | {:>9} |",
                format!("{kind}: {what}"),
                cell(&v[0], digits, unit),
                cell(&v[1], digits, unit),
                format!("{ratio:.2}×")
            );
        }
    }
    let retries: Vec<String> =
        figs.iter().map(|runs| runs.iter().map(|r| r.retries.to_string()).collect::<Vec<_>>().join("/")).collect();
    println!("\ntransaction commits answered EAGAIN (per run): thindom {}, C xenstored {}", retries[0], retries[1]);
    println!("(serial logs: target/bench/xenstore-ring-*.log)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_guests_lines() {
        let out = "testguest: bootargs \"action=xsbench ops=5\"\r\n\
                   xsbench: 5 rounds after 5 warm-up rounds, counter 62500000 Hz\r\n\
                   xsbench: read n=5 ops/s=1234 p50_us=12.3 p99_us=45.6\r\n\
                   xsbench: write n=5 ops/s=1000 p50_us=1.0 p99_us=2.0\r\n\
                   xsbench: directory n=5 ops/s=900 p50_us=1.1 p99_us=2.1\r\n\
                   xsbench: watch n=5 ops/s=300 p50_us=3.0 p99_us=9.0\r\n\
                   xsbench: transaction n=5 ops/s=200 p50_us=5.0 p99_us=7.5 retries=2\r\n\
                   xsbench: done\r\n";
        let r = parse(out).unwrap();
        assert_eq!(r.ops[0], Op { ops_s: 1234.0, p50_us: 12.3, p99_us: 45.6 });
        assert_eq!(r.ops[4].p99_us, 7.5);
        assert_eq!(r.retries, 2);
        assert!(parse(&out.replace("xsbench: watch", "xsbench: wotch")).is_err());
        let err = parse("xsbench: error: EACCES\r\n").unwrap_err();
        assert!(format!("{err:#}").contains("EACCES"), "{err:#}");
    }
}
