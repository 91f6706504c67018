//! `cargo xtask`: thindom's developer tasks.
//!
//! - `setup`: installs what is missing (rustup target, QEMU, host tools) and
//!   downloads Debian's arm64 packages (Xen, Linux, busybox) into `.cache/`.
//! - `build`: builds the Dom0 image (raw arm64 Image).
//! - `run`: boots Xen + thindom in QEMU with the serial console on the terminal.
//! - `test`: host unit tests, then the QEMU integration tests under real Xen.
//! - `bench`: figures (boot times, sizes), printed, never asserted.

mod agent;
mod bench;
mod bench_compare;
mod bench_io;
mod bench_xenstore;
mod bench_xs_ring;
mod build;
mod debian;
mod domd;
mod fuzz;
mod linux_dom0;
mod linux_guest;
mod passthrough;
mod qemu;
mod setup;
mod soak;
mod stats;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "thindom developer tasks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install missing tools and download Debian's arm64 packages (idempotent).
    Setup,
    /// Build the Dom0 image and print its path and size.
    Build {
        /// Build without optimisations.
        #[arg(long)]
        debug: bool,
    },
    /// Boot Xen + thindom in QEMU with the serial console on this terminal.
    Run(qemu::RunArgs),
    /// Run host unit tests and the QEMU integration tests.
    Test {
        /// Only the host unit tests (no QEMU).
        #[arg(long)]
        host_only: bool,
        /// Only the QEMU integration tests.
        #[arg(long)]
        qemu_only: bool,
        /// Only this integration test file (`itest/tests/<NAME>.rs`).
        #[arg(long)]
        file: Option<String>,
        /// Filter passed to the integration test runner.
        filter: Option<String>,
    },
    /// rustfmt check and clippy (host crates and the aarch64 kernel), warnings denied.
    Lint,
    /// Run the fuzz targets (everything that parses guest or user input).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Stop a target after this many executions (whichever of
        /// `--seconds` and `--runs` comes first).
        #[arg(long)]
        runs: Option<u64>,
        /// Only this target.
        target: Option<String>,
    },
    /// Print figures.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Create/destroy cycles mixing guests, devices and endings; prints what
    /// Dom0 and the driver domain hold before and after, fails on drift.
    Soak {
        /// Cycles after the warm-up.
        #[arg(long, default_value_t = 100)]
        cycles: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Setup => setup::run(),
        Cmd::Build { debug } => {
            let img = build::build_image(!debug)?;
            let meta = std::fs::metadata(&img.image)?;
            println!("image: {} ({} bytes)", img.image.display(), meta.len());
            println!("elf:   {}", img.elf.display());
            Ok(())
        }
        Cmd::Run(args) => qemu::run_interactive(&args),
        Cmd::Test { host_only, qemu_only, file, filter } => test(host_only, qemu_only, file, filter),
        Cmd::Lint => lint(),
        Cmd::Fuzz { seconds, runs, target } => fuzz::run(seconds, runs, target.as_deref()),
        Cmd::Bench(b) => bench::run(b),
        Cmd::Soak { cycles } => soak::run(cycles),
    }
}

/// A short fuzz run per target in `cargo xtask test` (and so in CI).
const FUZZ_SECONDS_IN_TEST: u64 = 10;

fn lint() -> Result<()> {
    util::banner("rustfmt and clippy");
    util::cargo(&["fmt", "--all", "--check"])?;
    util::cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    util::cargo(&["clippy", "-p", "thindom", "--release", "--target", setup::TARGET, "--", "-D", "warnings"])
}

fn test(host_only: bool, qemu_only: bool, file: Option<String>, filter: Option<String>) -> Result<()> {
    setup::ensure()?;
    if !qemu_only {
        lint()?;
        util::banner("host unit tests");
        util::cargo(&["test", "--workspace", "--exclude", "itest"])?;
        fuzz::run(FUZZ_SECONDS_IN_TEST, None, None)?;
    }
    if !host_only {
        let img = build::build_image(true)?;
        build::build_ramdisk()?;
        build::build_demo_ramdisk()?;
        let reference = linux_dom0::build()?;
        let pt_dtb = passthrough::host_dtb(&qemu::config(&img)?)?;
        // `cargo xtask run --layout domd`'s ramdisk, and a host tree for it.
        let layout = build::build_ramdisk_for(build::Ramdisk::DomdLayout)?;
        let mut layout_cfg = qemu::config(&img)?;
        layout_cfg.ramdisk = Some(layout.clone());
        let layout_dtb = passthrough::host_dtb(&layout_cfg)?;
        util::banner("QEMU integration tests under real Xen");
        let mut args = vec!["test", "-p", "itest"];
        if let Some(f) = file.as_deref() {
            args.extend(["--test", f]);
        }
        args.extend(["--", "--test-threads=1"]);
        if let Some(f) = filter.as_deref() {
            args.push(f);
        }
        let mut env = qemu::itest_env(&img, &reference)?;
        env.push(("THINDOM_PT_DTB".into(), pt_dtb.display().to_string()));
        env.push(("THINDOM_LAYOUT_RAMDISK".into(), layout.display().to_string()));
        env.push(("THINDOM_LAYOUT_DTB".into(), layout_dtb.display().to_string()));
        util::cargo_env(&args, &env)?;
    }
    Ok(())
}
