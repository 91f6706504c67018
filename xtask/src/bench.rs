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
    /// shell prompt; Xen's hand-over to Dom0 to the prompt, with thindom's
    /// boot steps), image size and RAM footprint.
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
    /// `create -p` and `create` to the prompt back, `create -c` to the
    /// guest's first console line, and `destroy` (Rust test guest and
    /// Linux, 64 MiB, 1 vCPU), with thindom's own per-phase account of
    /// each `create -p`.
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
    /// Debian's C xenstored, over the Unix socket; with --compare, through
    /// a guest's ring: the Rust test guest's mix against thindom's
    /// xenstored and against C xenstored in the reference Linux Dom0.
    Xenstore {
        /// Operations per measurement (default 5000 over the socket; 500
        /// rounds of the guest's mix with --compare).
        #[arg(long)]
        ops: Option<usize>,
        /// Through the test guest's ring, thindom against the reference
        /// Linux Dom0 (C xenstored), booted alternately.
        #[arg(long)]
        compare: bool,
        /// With --compare: boots per Dom0.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// With --compare: more words for the guest's command line (e.g.
        /// `wait=yield`: the guest yields in a loop instead of blocking).
        #[arg(long, default_value = "")]
        guest_args: String,
        /// With --compare: the machine's CPUs (Xen's physical CPUs; 2
        /// otherwise). With 1, Dom0 and the guest share it and no
        /// notification has to wake an idle CPU.
        #[arg(long)]
        cpus: Option<u32>,
        /// With --compare: more words for Xen's command line (e.g.
        /// `vwfi=native`, `sched=credit`).
        #[arg(long, default_value = "")]
        xen_args: String,
    },
}

pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Boot { runs, compare: true, no_bisect } => crate::bench_compare::boot(runs, !no_bisect),
        BenchCmd::Boot { runs, .. } => boot(runs),
        BenchCmd::Domain { runs, compare } => crate::bench_compare::domain(runs, compare),
        BenchCmd::Io { runs, compare } => crate::bench_io::run(runs, compare),
        BenchCmd::Xenstore { ops, compare: false, .. } => crate::bench_xenstore::run(ops.unwrap_or(5000)),
        BenchCmd::Xenstore { ops, compare: true, runs, guest_args, cpus, xen_args } => {
            let machine = crate::bench_xs_ring::Machine { cpus, xen_args };
            crate::bench_xs_ring::run(runs, ops.unwrap_or(500), &guest_args, &machine)
        }
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
    let handover = Regex::new(crate::stats::XEN_HANDOVER)?;
    let first = Regex::new(r"thindom \d+\.\d+\.\d+ starting")?;
    let prompt = Regex::new(r"thindom> ")?;
    let heap = Regex::new(r"heap: used (\d+) bytes, high-water (\d+) bytes")?;
    let loaded = Regex::new(r"image: (\d+) bytes loaded \(incl. bss\), stack (\d+) bytes")?;
    let (mut t_xen, mut t_first, mut t_prompt, mut hw) = (vec![], vec![], vec![], vec![]);
    let (mut own, mut steps) = (vec![], vec![]);
    let mut resident = 0u64;
    for i in 0..runs {
        let log = util::root().join(format!("target/bench/boot-{i}.log"));
        let mut s = Session::spawn(&cfg, &log)?;
        let to = Duration::from_secs(120);
        let (_, a) = s.expect_re_at(&banner, to)?;
        let (_, h) = s.expect_re_at(&handover, to)?;
        let (_, b) = s.expect_re_at(&first, to)?;
        let (_, c) = s.expect_re_at(&prompt, to)?;
        s.send_line("boottime")?;
        steps.push(crate::stats::boot_steps(&s.expect("thindom> ", to)?));
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
        own.push(secs(c) - secs(h));
        println!(
            "run {}: xen banner {:.3}s, thindom first line {:.3}s, prompt {:.3}s, Xen hand-over → prompt {:.1} ms",
            i + 1,
            secs(a),
            secs(b),
            secs(c),
            (secs(c) - secs(h)) * 1e3
        );
        s.send_line("poweroff")?;
        s.wait_exit(Duration::from_secs(30))?;
    }
    let size = std::fs::metadata(&img.image)?.len();
    println!("\nthindom boot figures over {runs} runs (median), Xen 4.17 + QEMU TCG on this host:");
    println!("  QEMU start -> Xen banner       {:>8.3} s", median(&t_xen));
    println!("  QEMU start -> thindom line 1   {:>8.3} s", median(&t_first));
    println!("  QEMU start -> shell prompt     {:>8.3} s", median(&t_prompt));
    let (m, lo, hi) = spread(&own);
    println!("  Xen hands over -> prompt       {:>8.1} ms (min {:.1}, max {:.1})", m * 1e3, lo * 1e3, hi * 1e3);
    println!("  image size                     {:>8} bytes ({:.1} KiB)", size, size as f64 / 1024.0);
    println!("  heap high-water at prompt      {:>8.0} bytes", median(&hw));
    println!("  image in RAM (incl. bss, stack) {:>7} KiB", resident / 1024);
    crate::bench_compare::print_boot_steps(&steps);
    Ok(())
}
