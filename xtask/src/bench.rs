//! `cargo xtask bench`: figures printed, never asserted.

use crate::stats::spread;
use crate::{build, qemu, setup, util};
use anyhow::{Context, Result};
use harness::Session;
use regex::Regex;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCmd {
    /// Boot times (QEMU start to Xen banner, to thindom's first line, to the
    /// shell prompt), image size and RAM footprint.
    Boot {
        /// Number of boots (per Dom0 with --compare).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Also boot the reference Linux Dom0 (Debian's xl), alternately, and
        /// print both side by side, with the smallest dom0_mem of each.
        #[arg(long)]
        compare: bool,
        /// With --compare: skip the dom0_mem bisection (it takes minutes).
        #[arg(long)]
        no_bisect: bool,
    },
    /// Time from `create` to the guest's first console line (Rust test
    /// guest and Linux, 64 MiB, 1 vCPU), and `destroy` time.
    Domain {
        /// Creations per guest.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Also measure the reference Linux Dom0 (Debian's xl) and print
        /// both side by side.
        #[arg(long)]
        compare: bool,
    },
    /// PV disk: sequential write and read MB/s (dd, O_DIRECT, bs=1M) on a
    /// Linux DomU's xvda served by the driver domain, and create → disk
    /// visible; with --compare beside the classic layout (blkback in the
    /// reference Linux Dom0, set up by xl).
    Io {
        /// Boots per layout.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Also measure the classic layout, alternately, and print both
        /// side by side with the ratio.
        #[arg(long)]
        compare: bool,
    },
    /// XenStore operations per second and latency, thindom's core against
    /// Debian's C xenstored, over the Unix socket.
    Xenstore {
        /// Operations per measurement.
        #[arg(long, default_value_t = 5000)]
        ops: usize,
    },
}

pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Boot { runs, compare: true, no_bisect } => crate::bench_compare::boot(runs, !no_bisect),
        BenchCmd::Boot { runs, .. } => boot(runs),
        BenchCmd::Domain { runs, compare: true } => crate::bench_compare::domain(runs),
        BenchCmd::Domain { runs, .. } => domain(runs),
        BenchCmd::Io { runs, compare } => crate::bench_io::run(runs, compare),
        BenchCmd::Xenstore { ops } => crate::bench_xenstore::run(ops),
    }
}

fn median(v: &[f64]) -> f64 {
    spread(v).0
}

fn boot(runs: usize) -> Result<()> {
    setup::ensure()?;
    let img = build::build_image(true)?;
    let cfg = qemu::config(&img)?;
    let banner = Regex::new(r"Xen version 4\.17")?;
    let first = Regex::new(r"thindom \d+\.\d+\.\d+ starting")?;
    let prompt = Regex::new(r"thindom> ")?;
    let heap = Regex::new(r"heap: used (\d+) bytes, high-water (\d+) bytes")?;
    let loaded = Regex::new(r"image: (\d+) bytes loaded \(incl. bss\), stack (\d+) bytes")?;
    let (mut t_xen, mut t_first, mut t_prompt, mut hw) = (vec![], vec![], vec![], vec![]);
    let mut resident = 0u64;
    for i in 0..runs {
        let log = util::root().join(format!("target/bench/boot-{i}.log"));
        let mut s = Session::spawn(&cfg, &log)?;
        let to = Duration::from_secs(120);
        let (_, a) = s.expect_re_at(&banner, to)?;
        let (_, b) = s.expect_re_at(&first, to)?;
        let (_, c) = s.expect_re_at(&prompt, to)?;
        s.send_line("mem")?;
        let out = s.expect_re(&heap, to)?;
        let caps = heap.captures(&out).context("heap line")?;
        hw.push(caps[2].parse::<f64>()?);
        let out = s.expect_re(&loaded, to)?;
        resident = loaded.captures(&out).context("image line")?[1].parse()?;
        let secs = |off| s.time_at(off).map(|d| d.as_secs_f64()).unwrap_or(f64::NAN);
        t_xen.push(secs(a));
        t_first.push(secs(b));
        t_prompt.push(secs(c));
        println!(
            "run {}: xen banner {:.3}s, thindom first line {:.3}s, prompt {:.3}s",
            i + 1,
            secs(a),
            secs(b),
            secs(c)
        );
        s.send_line("poweroff")?;
        s.wait_exit(Duration::from_secs(30))?;
    }
    let size = std::fs::metadata(&img.image)?.len();
    println!("\nthindom boot figures over {runs} runs (median), Xen 4.17 + QEMU TCG on this host:");
    println!("  QEMU start -> Xen banner       {:>8.3} s", median(&t_xen));
    println!("  QEMU start -> thindom line 1   {:>8.3} s", median(&t_first));
    println!("  QEMU start -> shell prompt     {:>8.3} s", median(&t_prompt));
    println!("  image size                     {:>8} bytes ({:.1} KiB)", size, size as f64 / 1024.0);
    println!("  heap high-water at prompt      {:>8.0} bytes", median(&hw));
    println!("  image in RAM (incl. bss, stack) {:>7} KiB", resident / 1024);
    Ok(())
}

fn stats(v: &[f64]) -> String {
    let (med, min, max) = spread(v);
    format!("{med:>8.3} s (min {min:.3}, max {max:.3})")
}

/// One guest: `create -c` until `first` shows, then `destroy`.
fn time_guest(s: &mut Session, create: &str, first: &str, name: &str, runs: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let to = Duration::from_secs(180);
    let (mut up, mut down) = (vec![], vec![]);
    let first = Regex::new(&regex::escape(first))?;
    let destroyed = Regex::new(&format!(r"\({name}\) destroyed"))?;
    for _ in 0..runs {
        let t0 = s.elapsed();
        s.send_line(create)?;
        let (_, at) = s.expect_re_at(&first, to)?;
        up.push((s.time_at(at).unwrap_or(t0) - t0).as_secs_f64());
        s.send_raw(&[0x1d])?;
        s.expect("[detached from the console]", to)?;
        s.expect("thindom> ", to)?;
        let t1 = s.elapsed();
        s.send_line(&format!("destroy {name}"))?;
        let (_, at) = s.expect_re_at(&destroyed, to)?;
        down.push((s.time_at(at).unwrap_or(t1) - t1).as_secs_f64());
        s.expect("thindom> ", to)?;
    }
    Ok((up, down))
}

fn domain(runs: usize) -> Result<()> {
    setup::ensure()?;
    let img = build::build_image(true)?;
    let cfg = qemu::config(&img)?;
    let log = util::root().join("target/bench/domain.log");
    let mut s = Session::spawn(&cfg, &log)?;
    s.expect("thindom> ", Duration::from_secs(120))?;
    let (rup, rdown) =
        time_guest(&mut s, "create testguest -c extra=action=echo", "testguest: hello", "testguest", runs)?;
    let (lup, ldown) = time_guest(&mut s, "create linux -c", "Booting Linux on physical CPU", "linux", runs)?;
    s.send_line("poweroff")?;
    s.wait_exit(Duration::from_secs(30))?;
    println!("\nthindom domain figures over {runs} runs (median, min, max), Xen 4.17 + QEMU TCG on this host:");
    println!("  Rust test guest (16 MiB): create -> first console line {}", stats(&rup));
    println!("  Rust test guest (16 MiB): destroy                      {}", stats(&rdown));
    println!("  Linux 6.1 (64 MiB, 1 vCPU): create -> first line       {}", stats(&lup));
    println!("  Linux 6.1 (64 MiB, 1 vCPU): destroy                    {}", stats(&ldown));
    println!("  (serial log: {})", log.display());
    Ok(())
}
