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
//! - *smallest dom0_mem*: bisection over `dom0_mem` (MiB, to 1 MiB) for a
//!   boot that reaches ready and creates the 64 MiB Linux guest up to its
//!   shell (with the guest payload in the boot ramdisk/initramfs), and for a
//!   boot that just reaches ready (Dom0 alone: thindom without a ramdisk,
//!   the Linux initramfs without the guests).
//!
//! Both Dom0s carry the same guests (the Rust test guest and Debian's Linux
//! with its busybox initramfs) and the same xl.cfg files, in their boot
//! ramdisk/initramfs: neither has a disk.

use crate::linux_dom0::{self, LinuxDom0};
use crate::stats::{spread, CreateTiming};
use crate::{build, qemu, setup, util};
use anyhow::{bail, Context, Result};
use harness::{QemuConfig, Session};
use regex::Regex;
use std::time::Duration;

/// One of the two Dom0s under test.
#[derive(Debug, Clone)]
pub(crate) struct Dom0 {
    pub(crate) name: &'static str,
    pub(crate) cfg: QemuConfig,
    /// The same Dom0 without the guest payload.
    bare: QemuConfig,
    /// Appears once the toolstack is usable (before the prompt).
    ready: Regex,
    pub(crate) prompt: &'static str,
    first_line: Regex,
    /// The create command for a configuration, with a flag (`-p`, `-c` or
    /// none) and `key=value` overrides.
    pub(crate) create: fn(cfg: &str, flag: &str, overrides: &str) -> String,
    /// The override that makes the Rust test guest echo instead of
    /// powering off (quoted for this Dom0's shell).
    echo_guest: &'static str,
    /// The override setting the guest's `extra` (its command line) to
    /// words that may hold spaces, quoted for this Dom0's shell.
    pub(crate) extra: fn(words: &str) -> String,
    /// Leaves where a create's time went in `/vm/<uuid>/create-timing`,
    /// and its boot's steps in `boottime` (thindom).
    timing: bool,
    destroy: fn(&str) -> String,
    /// Prints what the Dom0 kernel holds free; `free_kib` reads it.
    mem_cmd: &'static str,
    free_kib: fn(&str) -> Result<u64>,
    poweroff: &'static str,
    /// Bytes the boot media occupy: (kernel, ramdisk/initramfs without
    /// guests, guest payload in the ramdisk).
    sizes: (u64, u64, u64),
}

pub(crate) const TIMEOUT: Duration = Duration::from_secs(240);
/// Pause before each timed create.
const SETTLE: Duration = Duration::from_secs(1);
const DETACH: u8 = 0x1d;

pub(crate) fn thindom() -> Result<Dom0> {
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
        create: |cfg, flag, ov| format!("create {cfg} {flag} {ov}"),
        echo_guest: "extra=action=echo",
        extra: |w| format!("\"extra={w}\""),
        timing: true,
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

pub(crate) fn linux(d: &LinuxDom0) -> Result<Dom0> {
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
        create: |cfg, flag, ov| format!("xl create {flag} {cfg}.cfg {ov}"),
        echo_guest: "'extra=\"action=echo\"'",
        extra: |w| format!("'extra=\"{w}\"'"),
        timing: false,
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

/// One boot to ready: (first Dom0 line, ready) in seconds since QEMU
/// start, Xen's hand-over to Dom0 → ready in seconds, and memory in use in
/// KiB.
pub(crate) fn boot_once(d: &Dom0, log: &str) -> Result<(Session, Boot)> {
    let mut s = Session::spawn(&d.cfg, &util::root().join(format!("target/bench/{log}.log")))?;
    let (_, h) = s.expect_re_at(&Regex::new(crate::stats::XEN_HANDOVER)?, TIMEOUT)?;
    let (_, a) = s.expect_re_at(&d.first_line, TIMEOUT)?;
    s.expect_re(&d.ready, TIMEOUT)?;
    let (_, b) = s.expect_re_at(&Regex::new(&regex::escape(d.prompt))?, TIMEOUT)?;
    let secs = |s: &Session, off| s.time_at(off).map(|t| t.as_secs_f64()).unwrap_or(f64::NAN);
    let (handover, first, ready) = (secs(&s, h), secs(&s, a), secs(&s, b));
    let steps = if d.timing {
        s.send_line("boottime")?;
        crate::stats::boot_steps(&s.expect(d.prompt, TIMEOUT)?)
    } else {
        Vec::new()
    };
    s.send_line(d.mem_cmd)?;
    let out = s.expect(d.prompt, TIMEOUT)?;
    let dom0_kib = mib(&d.cfg.dom0_mem)? * 1024;
    let free_kib = (d.free_kib)(&out)?;
    let used = dom0_kib.saturating_sub(free_kib);
    Ok((s, Boot { first, ready, own: ready - handover, used, steps, mem: out }))
}

/// One boot's figures.
pub(crate) struct Boot {
    first: f64,
    ready: f64,
    /// Xen's hand-over line → ready.
    own: f64,
    used: u64,
    /// thindom's boot steps (ms since its first instruction).
    steps: Vec<(String, f64)>,
    /// What the Dom0's memory command printed.
    mem: String,
}

/// thindom's own part of its memory after boot, in KiB: its image in RAM
/// (with .bss and stack) and its heap's high-water mark, from `mem`.
fn thindom_own_kib(mem: &str) -> Option<u64> {
    let n = |re: &str| -> Option<u64> { Regex::new(re).ok()?.captures(mem)?[1].parse().ok() };
    Some((n(r"image: (\d+) bytes loaded")? + n(r"high-water (\d+) bytes")?).div_ceil(1024))
}

pub(crate) fn stop(d: &Dom0, mut s: Session) {
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
    let mut own = [vec![], vec![]];
    let mut used = [vec![], vec![]];
    let mut steps = vec![];
    let mut own_part = None;
    for i in 0..runs {
        for (k, d) in setups.iter().enumerate() {
            let (s, b) = boot_once(d, &format!("compare-boot-{}-{i}", d.name))?;
            println!(
                "run {}: {:<9} first Dom0 line {:.2} s, ready {:.2} s, Xen hand-over → ready {:.3} s, in use {} KiB",
                i + 1,
                d.name,
                b.first,
                b.ready,
                b.own,
                b.used
            );
            stop(d, s);
            first[k].push(b.first);
            ready[k].push(b.ready);
            own[k].push(b.own);
            used[k].push(b.used as f64);
            if k == 0 {
                steps.push(b.steps);
                own_part = thindom_own_kib(&b.mem);
            }
        }
    }
    let mins = if bisect {
        let mut m = Vec::new();
        for (d, r) in setups.iter().zip(&ready) {
            let slowest = spread(r).2;
            let guest = smallest_dom0_mem(d, slowest, Probe::Guest, mib(&d.cfg.dom0_mem)?)?;
            // Booting alone needs no more than booting and creating.
            m.push((guest, smallest_dom0_mem(d, slowest, Probe::Boot, guest)?));
        }
        Some(m)
    } else {
        None
    };
    header(runs);
    row("QEMU start → Dom0's first line", &secs(&first[0]), &secs(&first[1]));
    row("QEMU start → Dom0 ready (prompt)", &secs(&ready[0]), &secs(&ready[1]));
    let ms = |v: &[f64]| {
        let (m, lo, hi) = spread(v);
        format!("{:.1} ms ({:.1}–{:.1})", m * 1e3, lo * 1e3, hi * 1e3)
    };
    row("Dom0's own boot: Xen hands over → ready", &ms(&own[0]), &ms(&own[1]));
    row("  Linux+xl / thindom", "", &format!("{:.0}×", spread(&own[1]).0 / spread(&own[0]).0));
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
    if let Some(kib) = own_part {
        row("thindom's own: image in RAM + heap peak", &format!("{:.2} MiB", kib as f64 / 1024.0), "");
    }
    if let Some(m) = mins {
        row("smallest dom0_mem: boot + 64 MiB guest", &format!("{} MiB", m[0].0), &format!("{} MiB", m[1].0));
        row("smallest dom0_mem: boot alone", &format!("{} MiB", m[0].1), &format!("{} MiB", m[1].1));
        println!(
            "\n(thindom's floor is Xen's placement: the kernel, the DT and the initrd each take a\n\
             2 MiB-aligned slot in Dom0's first bank; see the reasons Xen gave above)"
        );
    }
    print_boot_steps(&steps);
    println!("\n(serial logs: target/bench/compare-*.log)");
    Ok(())
}

/// thindom's boot steps, medians over the boots.
pub fn print_boot_steps(steps: &[Vec<(String, f64)>]) {
    println!("\nthindom's boot steps (its uptime stamps, from its first instruction; medians, ms):");
    let mut prev = 0.0;
    for (name, at) in crate::stats::medians(steps) {
        println!("  {at:>7.2}  {name} (+{:.2})", at - prev);
        prev = at;
    }
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
        // A Dom0 that runs out of memory, or a Xen that cannot build it,
        // says so: no need to wait it out.
        let up = Regex::new(&format!("{}|{FAILED}", d.ready.as_str()))?;
        let out = s.expect_re(&up, boot_timeout)?;
        if !d.ready.is_match(&out) {
            bail!("Dom0 did not come up: {}", out.lines().last().unwrap_or(""));
        }
        s.expect(d.prompt, boot_timeout)?;
        if probe == Probe::Boot {
            s.kill();
            return Ok(());
        }
        s.send_line(&(d.create)("linux", "-c", ""))?;
        // The Dom0's prompt coming back first means create failed.
        let done = Regex::new(&format!(r"thindom-linux-guest: init done|{FAILED}|\n{}", regex::escape(d.prompt)))?;
        let out = s.expect_re(&done, TIMEOUT)?;
        if !out.ends_with("init done") {
            let why = out.lines().rev().find(|l| !l.trim().is_empty() && !l.contains(d.prompt)).unwrap_or("");
            bail!("guest did not boot: {why}");
        }
        s.kill();
        Ok(())
    })();
    let verdict = match &r {
        Ok(()) => "ok".to_string(),
        // Xen's own reason, when it refused to build Dom0.
        Err(_) => match xen_panic(&std::fs::read_to_string(&log).unwrap_or_default()) {
            Some(why) => format!("fails: Xen: {why}"),
            None => format!("fails ({:#})", r.as_ref().err().map(|e| e.to_string()).unwrap_or_default()),
        },
    };
    println!("  {} with dom0_mem={mib}M: {verdict}", d.name);
    r.is_ok()
}

/// The reason Xen gives in a panic (the line after `Panic on CPU N:`).
fn xen_panic(log: &str) -> Option<String> {
    let c = Regex::new(r"\(XEN\) Panic on CPU \d+:\r?\n\(XEN\) ([^\r\n]+)").ok()?.captures(log)?;
    Some(c[1].trim().to_string())
}

/// What a boot that cannot succeed prints: the Dom0 kernel's own
/// panics (Linux, thindom), Xen refusing to build Dom0 or reporting it
/// crashed, a guest's kernel panicking.
const FAILED: &str = r"Kernel panic|Out of memory|thindom panic|Panic on CPU|Dom0 crashed|Dom0.*[Nn]ot enough memory";

/// Bisection over `dom0_mem` in MiB, to a resolution of 1 MiB.
/// `hi` is a size expected to work (doubled until it does).
fn smallest_dom0_mem(d: &Dom0, slowest_ready: f64, probe: Probe, mut hi: u64) -> Result<u64> {
    println!("bisecting dom0_mem for {} ({probe:?}):", d.name);
    let boot_timeout = Duration::from_secs_f64((slowest_ready * 3.0).max(30.0));
    while !works_with(d, hi, boot_timeout, probe) {
        hi *= 2;
        if hi > 1536 {
            bail!("{} does not create the guest even with 1536 MiB", d.name);
        }
    }
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if works_with(d, mid, boot_timeout, probe) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// How a create is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-p`: until the prompt is back (the domain built and paused).
    Paused,
    /// No flag: until the prompt is back (the domain unpaused).
    Running,
    /// `-c`: until the guest's first console line arrives.
    Console,
}

/// A guest both Dom0s create from the same xl.cfg.
struct Guest {
    label: &'static str,
    cfg: &'static str,
    /// Needs the Dom0's `echo_guest` override (the Rust test guest).
    echo: bool,
    first: Regex,
}

/// One guest's figures on one Dom0, in seconds; thindom's own account
/// of each `-p` create (total and phases, ms).
#[derive(Default)]
struct Figures {
    paused: Vec<f64>,
    running: Vec<f64>,
    console: Vec<f64>,
    destroy: Vec<f64>,
    phases: Vec<CreateTiming>,
}

/// Creates `g` once in `mode`, then destroys it; returns the create's and
/// the destroy's seconds and, on thindom, the create's own timing.
fn time_create(d: &Dom0, s: &mut Session, g: &Guest, mode: Mode, hz: f64) -> Result<(f64, f64, Option<CreateTiming>)> {
    let prompt = Regex::new(&regex::escape(d.prompt))?;
    let flag = match mode {
        Mode::Paused => "-p",
        Mode::Running => "",
        Mode::Console => "-c",
    };
    // Xen finishes tearing the previous guest down (and scrubbing its
    // memory on the other CPU) in the background: let it, so that each
    // create starts from a quiet machine.
    std::thread::sleep(SETTLE);
    // Timed from the Enter key: the harness types 8 bytes every 2 ms, and
    // the commands differ in length (xl's are longer).
    s.send_raw((d.create)(g.cfg, flag, if g.echo { d.echo_guest } else { "" }).as_bytes())?;
    let t0 = s.elapsed();
    s.send_raw(b"\r")?;
    let (out, at) = s.expect_re_at(if mode == Mode::Console { &g.first } else { &prompt }, TIMEOUT)?;
    let up = s.time_at(at).unwrap_or(t0).saturating_sub(t0).as_secs_f64();
    if mode == Mode::Console {
        // Let the guest finish booting before detaching (no half-read
        // console output left to interleave with the prompt).
        std::thread::sleep(Duration::from_millis(500));
        s.send_raw(&[DETACH])?;
        s.expect(d.prompt, TIMEOUT)?;
    }
    let timing = if d.timing && mode == Mode::Paused { Some(create_timing(d, s, &out, hz)?) } else { None };
    let name = g.cfg;
    s.send_raw((d.destroy)(name).as_bytes())?;
    let t1 = s.elapsed();
    s.send_raw(b"\r")?;
    let (_, at) = s.expect_re_at(&prompt, TIMEOUT)?;
    let down = s.time_at(at).unwrap_or(t1).saturating_sub(t1).as_secs_f64();
    Ok((up, down, timing))
}

/// thindom's own account of the create whose output was `out`
/// (`toolstack::create::TIMING_KEY` beside the domain's `/vm` entry).
fn create_timing(d: &Dom0, s: &mut Session, out: &str, hz: f64) -> Result<CreateTiming> {
    let id = Regex::new(r"\(id=(\d+)\)")?.captures(out).with_context(|| format!("no domid in {out:?}"))?[1].to_string();
    s.send_line(&format!("xenstore-read /local/domain/{id}/vm"))?;
    let vm = s.expect(d.prompt, TIMEOUT)?;
    let vm = Regex::new(r"(/vm/[0-9a-f-]+)")?.captures(&vm).with_context(|| format!("no /vm path in {vm:?}"))?[1]
        .to_string();
    s.send_line(&format!("xenstore-read {vm}/create-timing"))?;
    let t = s.expect(d.prompt, TIMEOUT)?;
    crate::stats::create_timing(&t, hz).with_context(|| format!("no create timing in {t:?}"))
}

/// The counter frequency thindom's `dt` shows (its create timings may
/// be in counter ticks).
fn counter_hz(d: &Dom0, s: &mut Session) -> Result<f64> {
    if !d.timing {
        return Ok(0.0);
    }
    s.send_line("dt")?;
    let out = s.expect(d.prompt, TIMEOUT)?;
    let hz = Regex::new(r"timer\s+(\d+) Hz")?.captures(&out).context("timer frequency in `dt`")?[1].parse()?;
    Ok(hz)
}

/// Seconds as `median ms (min–max)`.
fn millis(v: &[f64]) -> String {
    let (m, lo, hi) = spread(v);
    format!("{:.1} ms ({:.1}–{:.1})", m * 1e3, lo * 1e3, hi * 1e3)
}

fn ratio(thin: &[f64], other: &[f64]) -> String {
    format!("{:.1}×", spread(other).0 / spread(thin).0)
}

/// `bench domain` (thindom alone) and `bench domain --compare`: each
/// guest created `runs` times in each mode, alternating the modes.
pub fn domain(runs: usize, compare: bool) -> Result<()> {
    setup::ensure()?;
    let mut setups = vec![thindom()?];
    if compare {
        setups.push(linux(&linux_dom0::build()?)?);
    }
    let guests = [
        Guest { label: "Rust guest 16 MiB", cfg: "testguest", echo: true, first: Regex::new(r"testguest: hello")? },
        Guest {
            label: "Linux 64 MiB, 1 vCPU",
            cfg: "linux",
            echo: false,
            first: Regex::new(r"Booting Linux on physical CPU")?,
        },
    ];
    let mut all: Vec<Vec<Figures>> = Vec::new();
    for d in &setups {
        let (mut s, _) = boot_once(d, &format!("compare-domain-{}", d.name))?;
        let hz = counter_hz(d, &mut s)?;
        let mut figs: Vec<Figures> = guests.iter().map(|_| Figures::default()).collect();
        for i in 0..runs {
            for (g, f) in guests.iter().zip(figs.iter_mut()) {
                for mode in [Mode::Paused, Mode::Running, Mode::Console] {
                    let (up, down, timing) = time_create(d, &mut s, g, mode, hz)?;
                    match mode {
                        Mode::Paused => {
                            f.paused.push(up);
                            f.phases.extend(timing);
                        }
                        Mode::Running => f.running.push(up),
                        Mode::Console => {
                            f.console.push(up);
                            f.destroy.push(down);
                        }
                    }
                }
                println!(
                    "run {}: {:<9} {}: create -p {:.3} s, create {:.3} s, create -c → first line {:.3} s",
                    i + 1,
                    d.name,
                    g.cfg,
                    f.paused[i],
                    f.running[i],
                    f.console[i]
                );
            }
        }
        stop(d, s);
        all.push(figs);
    }
    println!("\nXen 4.17 (Debian arm64) in QEMU TCG on this host, {runs} run(s) each, median (min–max):\n");
    let line = |what: &str, cols: &[String]| {
        let mut l = format!("| {what:<58} |");
        for c in cols {
            l.push_str(&format!(" {c:>24} |"));
        }
        println!("{l}");
    };
    let mut head: Vec<String> = setups.iter().map(|d| d.name.to_string()).collect();
    if compare {
        head.push("Linux+xl / thindom".into());
    }
    line("", &head);
    println!("|{:-<60}|{}", "", "-------------------------:|".repeat(head.len()));
    for (k, g) in guests.iter().enumerate() {
        type Pick = fn(&Figures) -> &Vec<f64>;
        let rows: [(&str, Pick); 4] = [
            ("create -p → paused (prompt back)", |f| &f.paused),
            ("create → running (prompt back)", |f| &f.running),
            ("create -c → first console line", |f| &f.console),
            ("destroy", |f| &f.destroy),
        ];
        for (what, pick) in rows {
            let mut cols: Vec<String> = all.iter().map(|figs| millis(pick(&figs[k]))).collect();
            if compare {
                cols.push(ratio(pick(&all[0][k]), pick(&all[1][k])));
            }
            line(&format!("{}: {what}", g.label), &cols);
        }
    }
    println!("\nthindom's account of `create -p` (its generic-timer counter; medians, ms):");
    for (g, f) in guests.iter().zip(&all[0]) {
        let totals: Vec<f64> = f.phases.iter().map(|p| p.0).collect();
        let phases: Vec<Vec<(String, f64)>> = f.phases.iter().map(|p| p.1.clone()).collect();
        let (host, inside) = (spread(&f.paused).0 * 1000.0, spread(&totals).0);
        println!(
            "  {} ({}): {inside:.1} ms in the toolstack = {}",
            g.label,
            g.cfg,
            crate::stats::phases_text(&crate::stats::medians(&phases))
        );
        println!("    command typed → prompt back {host:.1} ms: {:.1} ms outside the toolstack (serial I/O, shell, xl-style messages)", host - inside);
    }
    println!("\n(serial logs: target/bench/compare-domain-*.log)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xen_panic_reason_and_own_part() {
        let log = "(XEN) BANK[1] 0x000000bfc00000-0x000000bfe00000 (2MB)\r\n(XEN) Panic on CPU 0:\r\n\
                   (XEN) Unable to find suitable location for dtb+initrd\r\n(XEN) ****\r\n";
        assert_eq!(xen_panic(log).as_deref(), Some("Unable to find suitable location for dtb+initrd"));
        assert_eq!(xen_panic("(XEN) Freed 348kB init memory."), None);
        let mem = "heap: used 6494 bytes, high-water 10516 bytes, size 93503488 bytes\r\n\
                   image: 1122304 bytes loaded (incl. bss), stack 262144 bytes\r\n";
        assert_eq!(thindom_own_kib(mem), Some(1107));
    }
}
