//! `cargo xtask bench boot --compare` and `bench domain --compare`: thindom
//! and the reference Linux Dom0 (Debian's kernel and xl toolstack, see
//! `linux_dom0`) on the same Xen 4.17 and QEMU, booted alternately in one
//! invocation, figures printed side by side as median (min, max).
//!
//! Definitions (the same for both Dom0s):
//! - *Dom0 ready*: QEMU start to the shell prompt with the toolstack usable
//!   (thindom's `thindom>`; the Linux Dom0's prompt after `/init` started
//!   xenstored and xenconsoled and `xl list` succeeded).
//! - *create → first line*: from the create command typed at the prompt
//!   (thindom `create <cfg> -c`, `xl create -c <cfg>`) to the guest's first
//!   console line arriving on the serial port.
//! - *destroy*: from the destroy command to the prompt coming back.
//! - *memory in use*: `dom0_mem` minus what the Dom0 kernel holds free
//!   (thindom: heap size − heap used; Linux: `MemFree`), right after boot.
//! - *smallest dom0_mem*: bisection over `dom0_mem` (MiB, to 2 MiB) for a
//!   boot that reaches ready and creates the 64 MiB Linux guest up to its
//!   shell (with the guest payload in the boot ramdisk/initramfs), and for a
//!   boot that just reaches ready (Dom0 alone: thindom without a ramdisk,
//!   the Linux initramfs without the guests).
//!
//! Both Dom0s carry the same guests (the Rust test guest and Debian's Linux
//! with its busybox initramfs) and the same xl.cfg files, in their boot
//! ramdisk/initramfs: neither has a disk.

use crate::linux_dom0::{self, LinuxDom0};
use crate::stats::spread;
use crate::{build, qemu, setup, util};
use anyhow::{bail, Context, Result};
use harness::{QemuConfig, Session};
use regex::Regex;
use std::time::Duration;

/// One of the two Dom0s under test.
#[derive(Debug, Clone)]
struct Dom0 {
    name: &'static str,
    cfg: QemuConfig,
    /// The same Dom0 without the guest payload.
    bare: QemuConfig,
    /// Appears once the toolstack is usable (before the prompt).
    ready: Regex,
    prompt: &'static str,
    first_line: Regex,
    /// Commands for the Rust test guest and the Linux guest.
    create_testguest: &'static str,
    create_linux: &'static str,
    destroy: fn(&str) -> String,
    /// Prints what the Dom0 kernel holds free; `free_kib` reads it.
    mem_cmd: &'static str,
    free_kib: fn(&str) -> Result<u64>,
    poweroff: &'static str,
    /// Bytes the boot media occupy: (kernel, ramdisk/initramfs without
    /// guests, guest payload in the ramdisk).
    sizes: (u64, u64, u64),
}

const TIMEOUT: Duration = Duration::from_secs(240);
const DETACH: u8 = 0x1d;

fn thindom() -> Result<Dom0> {
    let img = build::build_image(true)?;
    let mut cfg = qemu::config(&img)?;
    let bench_ramdisk = build::build_ramdisk_for(build::Ramdisk::Bench)?;
    let ramdisk = std::fs::metadata(&bench_ramdisk)?.len();
    cfg.ramdisk = Some(bench_ramdisk);
    let mut bare = cfg.clone();
    bare.ramdisk = None;
    // The configuration files alone (what a thin Dom0 needs without guests).
    let cfgs: u64 = std::fs::read_dir(util::root().join("configs"))?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cfg"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    Ok(Dom0 {
        name: "thindom",
        sizes: (std::fs::metadata(&img.image)?.len(), cfgs, ramdisk - cfgs),
        cfg,
        bare,
        ready: Regex::new(r"Type 'help' for commands")?,
        prompt: "thindom> ",
        first_line: Regex::new(r"thindom \d+\.\d+\.\d+ starting")?,
        create_testguest: "create testguest -c extra=action=echo",
        create_linux: "create linux -c",
        destroy: |n| format!("destroy {n}"),
        mem_cmd: "mem",
        free_kib: |out| {
            let c = Regex::new(r"heap: used (\d+) bytes, high-water \d+ bytes, size (\d+) bytes")?
                .captures(out)
                .context("thindom `mem` output")?;
            Ok((c[2].parse::<u64>()? - c[1].parse::<u64>()?) / 1024)
        },
        poweroff: "poweroff",
    })
}

fn linux(d: &LinuxDom0) -> Result<Dom0> {
    let total = std::fs::metadata(&d.initramfs)?.len();
    let base = std::fs::metadata(&d.initramfs_base)?.len();
    let cfg = linux_dom0::config(d)?;
    let mut bare = cfg.clone();
    bare.ramdisk = Some(d.initramfs_base.clone());
    Ok(Dom0 {
        name: "Linux+xl",
        sizes: (std::fs::metadata(&d.kernel)?.len(), base, total - base),
        cfg,
        bare,
        ready: Regex::new(&regex::escape(linux_dom0::READY))?,
        prompt: linux_dom0::PROMPT,
        first_line: Regex::new(r"Booting Linux on physical CPU")?,
        create_testguest: "xl create -c testguest.cfg 'extra=\"action=echo\"'",
        create_linux: "xl create -c linux.cfg",
        destroy: |n| format!("xl destroy {n}"),
        mem_cmd: "grep MemFree /proc/meminfo",
        free_kib: |out| Ok(Regex::new(r"MemFree:\s+(\d+) kB")?.captures(out).context("MemFree")?[1].parse()?),
        poweroff: "poweroff -f",
    })
}

/// Parses `dom0_mem` like "128M" / "1G" into MiB.
fn mib(s: &str) -> Result<u64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().with_context(|| format!("dom0_mem {s:?}"))?;
    Ok(match unit {
        "G" | "g" => n * 1024,
        "M" | "m" | "" => n,
        _ => bail!("dom0_mem {s:?}: unit must be M or G"),
    })
}

/// One boot to ready: (first Dom0 line, ready) in seconds since QEMU start,
/// and memory in use in KiB.
fn boot_once(d: &Dom0, log: &str) -> Result<(Session, f64, f64, u64)> {
    let mut s = Session::spawn(&d.cfg, &util::root().join(format!("target/bench/{log}.log")))?;
    let (_, a) = s.expect_re_at(&d.first_line, TIMEOUT)?;
    s.expect_re(&d.ready, TIMEOUT)?;
    let (_, b) = s.expect_re_at(&Regex::new(&regex::escape(d.prompt))?, TIMEOUT)?;
    let secs = |s: &Session, off| s.time_at(off).map(|t| t.as_secs_f64()).unwrap_or(f64::NAN);
    let (first, ready) = (secs(&s, a), secs(&s, b));
    s.send_line(d.mem_cmd)?;
    let out = s.expect(d.prompt, TIMEOUT)?;
    let dom0_kib = mib(&d.cfg.dom0_mem)? * 1024;
    let free_kib = (d.free_kib)(&out)?;
    Ok((s, first, ready, dom0_kib.saturating_sub(free_kib)))
}

fn stop(d: &Dom0, mut s: Session) {
    let _ = s.send_line(d.poweroff);
    let _ = s.wait_exit(Duration::from_secs(20));
}

fn secs(v: &[f64]) -> String {
    let (m, lo, hi) = spread(v);
    format!("{m:.2} s ({lo:.2}–{hi:.2})")
}

fn row(what: &str, a: &str, b: &str) {
    println!("| {what:<42} | {a:>26} | {b:>26} |");
}

fn header(runs: usize) {
    println!("\nXen 4.17 (Debian arm64) in QEMU TCG on this host, {runs} run(s) each, median (min–max):\n");
    row("", "thindom", "Linux Dom0 + xl");
    println!("|{:-<44}|{:-<28}|{:-<28}|", "", "", "");
}

fn kib(n: u64) -> String {
    if n < 10 * 1024 {
        format!("{n} bytes")
    } else {
        format!("{} KiB", n / 1024)
    }
}

/// `bench boot --compare`.
pub fn boot(runs: usize, bisect: bool) -> Result<()> {
    setup::ensure()?;
    let setups = [thindom()?, linux(&linux_dom0::build()?)?];
    let mut first = [vec![], vec![]];
    let mut ready = [vec![], vec![]];
    let mut used = [vec![], vec![]];
    for i in 0..runs {
        for (k, d) in setups.iter().enumerate() {
            let (s, f, r, u) = boot_once(d, &format!("compare-boot-{}-{i}", d.name))?;
            println!("run {}: {:<9} first Dom0 line {f:.2} s, ready {r:.2} s, in use {} KiB", i + 1, d.name, u);
            stop(d, s);
            first[k].push(f);
            ready[k].push(r);
            used[k].push(u as f64);
        }
    }
    let mins = if bisect {
        let mut m = Vec::new();
        for (d, r) in setups.iter().zip(&ready) {
            let slowest = spread(r).2;
            m.push((smallest_dom0_mem(d, slowest, Probe::Guest)?, smallest_dom0_mem(d, slowest, Probe::Boot)?));
        }
        Some(m)
    } else {
        None
    };
    header(runs);
    row("QEMU start → Dom0's first line", &secs(&first[0]), &secs(&first[1]));
    row("QEMU start → Dom0 ready (prompt)", &secs(&ready[0]), &secs(&ready[1]));
    let (t, l) = (&setups[0].sizes, &setups[1].sizes);
    row("Dom0 kernel image", &kib(t.0), &kib(l.0));
    row("Dom0 ramdisk/initramfs (no guests)", &kib(t.1), &kib(l.1));
    row("Dom0 boot media total (no guests)", &kib(t.0 + t.1), &kib(l.0 + l.1));
    row("guest payload carried (same guests)", &kib(t.2), &kib(l.2));
    // Memory in use, and the same without the payload's bytes (which both
    // Dom0s hold in RAM: thindom its ramdisk, Linux the unpacked files).
    let u = |v: &[f64], minus: u64| {
        let (m, lo, hi) = spread(v);
        let f = |x: f64| (x - minus as f64 / 1024.0) / 1024.0;
        format!("{:.1} MiB ({:.1}–{:.1})", f(m), f(lo), f(hi))
    };
    let mem = format!("Dom0 memory in use after boot ({}/{})", setups[0].cfg.dom0_mem, setups[1].cfg.dom0_mem);
    row(&mem, &u(&used[0], 0), &u(&used[1], 0));
    row("  of which not the guest payload", &u(&used[0], t.2), &u(&used[1], l.2));
    if let Some(m) = mins {
        row("smallest dom0_mem: boot + 64 MiB guest", &format!("{} MiB", m[0].0), &format!("{} MiB", m[1].0));
        row("smallest dom0_mem: boot alone", &format!("{} MiB", m[0].1), &format!("{} MiB", m[1].1));
    }
    println!("\n(serial logs: target/bench/compare-*.log)");
    Ok(())
}

/// What a `dom0_mem` probe must achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Boot with the guest payload and bring the Linux guest to its shell.
    Guest,
    /// Boot without the guest payload to the ready prompt.
    Boot,
}

/// Does a boot with `dom0_mem = mib` achieve `probe`?
fn works_with(d: &Dom0, mib: u64, boot_timeout: Duration, probe: Probe) -> bool {
    let mut cfg = if probe == Probe::Guest { d.cfg.clone() } else { d.bare.clone() };
    cfg.dom0_mem = format!("{mib}M");
    let log = util::root().join(format!("target/bench/compare-mem-{probe:?}-{}-{mib}.log", d.name));
    let r = (|| -> Result<()> {
        let mut s = Session::spawn(&cfg, &log)?;
        // A Dom0 that runs out of memory says so: no need to wait it out.
        let up = Regex::new(&format!("{}|Kernel panic|Out of memory", d.ready.as_str()))?;
        let out = s.expect_re(&up, boot_timeout)?;
        if !d.ready.is_match(&out) {
            bail!("Dom0 did not come up: {}", out.lines().last().unwrap_or(""));
        }
        s.expect(d.prompt, boot_timeout)?;
        if probe == Probe::Boot {
            s.kill();
            return Ok(());
        }
        s.send_line(d.create_linux)?;
        // The Dom0's prompt coming back first means create failed.
        let done = Regex::new(&format!(
            r"thindom-linux-guest: init done|Kernel panic|Out of memory|\n{}",
            regex::escape(d.prompt)
        ))?;
        let out = s.expect_re(&done, TIMEOUT)?;
        if !out.ends_with("init done") {
            let why = out.lines().rev().find(|l| !l.trim().is_empty() && !l.contains(d.prompt)).unwrap_or("");
            bail!("guest did not boot: {why}");
        }
        s.kill();
        Ok(())
    })();
    println!(
        "  {} with dom0_mem={mib}M: {}",
        d.name,
        if r.is_ok() {
            "ok".into()
        } else {
            format!("fails ({:#})", r.as_ref().err().map(|e| e.to_string()).unwrap_or_default())
        }
    );
    r.is_ok()
}

/// Bisection over `dom0_mem` in MiB, to a resolution of 2 MiB.
fn smallest_dom0_mem(d: &Dom0, slowest_ready: f64, probe: Probe) -> Result<u64> {
    println!("bisecting dom0_mem for {} ({probe:?}):", d.name);
    let boot_timeout = Duration::from_secs_f64((slowest_ready * 3.0).max(30.0));
    let mut hi = mib(&d.cfg.dom0_mem)?;
    while !works_with(d, hi, boot_timeout, probe) {
        hi *= 2;
        if hi > 1536 {
            bail!("{} does not create the guest even with 1536 MiB", d.name);
        }
    }
    let mut lo = 4;
    while hi - lo > 2 {
        let mid = (lo + hi) / 2;
        if works_with(d, mid, boot_timeout, probe) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// One guest, `runs` times: create with the console attached until its
/// first line, detach, destroy until the prompt.
fn time_guest(
    d: &Dom0,
    s: &mut Session,
    create: &str,
    first: &Regex,
    name: &str,
    runs: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut up, mut down) = (vec![], vec![]);
    for _ in 0..runs {
        s.send_line(create)?;
        let t0 = s.elapsed();
        let (_, at) = s.expect_re_at(first, TIMEOUT)?;
        up.push((s.time_at(at).unwrap_or(t0).saturating_sub(t0)).as_secs_f64());
        // Let the guest finish booting before detaching (no half-read
        // console output left to interleave with the prompt).
        std::thread::sleep(Duration::from_millis(500));
        s.send_raw(&[DETACH])?;
        s.expect(d.prompt, TIMEOUT)?;
        s.send_line(&(d.destroy)(name))?;
        let t1 = s.elapsed();
        let (_, at) = s.expect_re_at(&Regex::new(&regex::escape(d.prompt))?, TIMEOUT)?;
        down.push((s.time_at(at).unwrap_or(t1).saturating_sub(t1)).as_secs_f64());
    }
    Ok((up, down))
}

/// `bench domain --compare`.
pub fn domain(runs: usize) -> Result<()> {
    setup::ensure()?;
    let setups = [thindom()?, linux(&linux_dom0::build()?)?];
    let rust_first = Regex::new(r"testguest: hello")?;
    let linux_first = Regex::new(r"Booting Linux on physical CPU")?;
    let mut figures = Vec::new();
    for d in &setups {
        let (mut s, ..) = boot_once(d, &format!("compare-domain-{}", d.name))?;
        let rust = time_guest(d, &mut s, d.create_testguest, &rust_first, "testguest", runs)?;
        let lin = time_guest(d, &mut s, d.create_linux, &linux_first, "linux", runs)?;
        stop(d, s);
        println!("{}: done", d.name);
        figures.push((rust, lin));
    }
    header(runs);
    let (t, l) = (&figures[0], &figures[1]);
    row("Rust guest 16 MiB: create → 1st line", &secs(&t.0 .0), &secs(&l.0 .0));
    row("Rust guest 16 MiB: destroy", &secs(&t.0 .1), &secs(&l.0 .1));
    row("Linux 64 MiB, 1 vCPU: create → 1st line", &secs(&t.1 .0), &secs(&l.1 .0));
    row("Linux 64 MiB, 1 vCPU: destroy", &secs(&t.1 .1), &secs(&l.1 .1));
    println!("\n(serial logs: target/bench/compare-domain-*.log)");
    Ok(())
}
