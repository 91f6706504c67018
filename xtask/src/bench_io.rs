//! `cargo xtask bench io [--compare]`: PV disk and network throughput and
//! set-up time for a Linux DomU whose `xvda` is served by blkback and whose
//! `eth0` by netback, in the thin-Dom0 layout (thindom, the driver domain
//! Dom-D of `configs/domd.cfg` running the backends and domd-agent) and,
//! with `--compare`, in the classic layout (the reference Linux Dom0
//! running them itself, its devices set up by xl, `/etc/xen/scripts/block`
//! and `vif-bridge`, see `linux_dom0::build_io`). Both layouts are booted
//! alternately in one invocation, a fresh machine per run (boot).
//!
//! What is the same in both: Xen, its command line (checked), QEMU and its
//! machine; the DomU (`configs/linux.cfg`: Debian's kernel, 64 MiB, 1 vCPU,
//! the busybox initramfs with xen-blkfront and xen-netfront); the backend
//! kernel (Debian's, the same loop, xen-blkback, xen-netback and bridge
//! modules, one vCPU); the backing (a [`DISK_MIB`] MiB file written with
//! `dd` from `/dev/zero` into a tmpfs of the backend domain, put on a loop
//! device by busybox's `losetup`); the disk spec
//! (`vdev=xvda,target=/images/bench.img`, raw, read-write); the network (a
//! vif on bridge xenbr0 of the backend domain, whose own address there is
//! 10.0.0.1; the DomU is 10.0.0.2); both in one xl.cfg, `linux-io.cfg`
//! (`configs/linux.cfg` plus the two lines, with `backend=domd` for Dom-D).
//!
//! Figures, printed as median (min–max) over all samples of a layout:
//! - *create → first line*, *create → xvda visible* (one sample per boot):
//!   from the create command (thindom `create linux -c ...`, `xl create -c
//!   linux.cfg ...`) to the DomU's first console line, and to blkfront's
//!   `blkfront: xvda: ...` line (printed when the disk is connected, just
//!   before `/sys/block/xvda` appears), as they arrive on the serial port.
//!   Dom-D is running before (as the classic Dom0 is): its own start is not
//!   in the figure.
//! - *write*, *read* ([`PASSES`] samples per boot, write then read each
//!   time): busybox `dd` in the DomU with `bs=1M` over the whole disk,
//!   `oflag=direct conv=fsync` / `iflag=direct` (O_DIRECT: the DomU's page
//!   cache is not involved), timed in the DomU with its monotonic clock
//!   (`/proc/timer_list`, ns) read just before and after dd; MB/s = bytes /
//!   seconds / 10^6.
//! - *TCP DomU → backend*, *TCP backend → DomU* ([`PASSES`] samples per
//!   boot): [`NET_MIB`] MiB of zeros over one TCP connection with busybox
//!   `nc` on both sides (the backend domain runs a listener loop for each
//!   direction: one discards what it gets, one sends `head -c` output), timed in
//!   the DomU the same way from the connection's start to its close (busybox
//!   nc shuts its sending half down at end of input, and exits when the
//!   other side closes); the DomU checks it received every byte.
//!
//! Each run's line also says how much CPU time the host's own hypervisor
//! stole while the passes ran (/proc/stat; this machine is a VM, and its
//! neighbours are noise), how many other QEMUs were running when it
//! started, each domain's CPU seconds (`list`), and counts kernel warnings
//! in the backend domain: context for a slow run, never a verdict.

use crate::stats::spread;
use crate::{build, debian, linux_dom0, passthrough, setup, util};
use anyhow::{bail, ensure, Context, Result};
use harness::{QemuConfig, Session};
use regex::Regex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Size of the benchmark disk, in MiB.
pub const DISK_MIB: u32 = 48;
const BOOT: Duration = Duration::from_secs(240);
const GUEST: Duration = Duration::from_secs(300);
const DD: Duration = Duration::from_secs(600);
const DETACH: u8 = 0x1d;
const CTRL_C: u8 = 0x03;
const CTRL_U: u8 = 0x15;
/// How long a typed line may take to start running, and how often it is
/// typed.
const TYPED: Duration = Duration::from_secs(20);
const TYPING_ATTEMPTS: usize = 3;
/// Write-then-read passes over the disk per boot (and send-then-receive
/// passes over the network).
const PASSES: usize = 3;
/// Bytes per network pass, in MiB.
pub const NET_MIB: u32 = 32;
/// The backend domain's address on the bridge, the DomU's, the ports.
const BACKEND_IP: &str = "10.0.0.1";
const DOMU_IP: &str = "10.0.0.2";
const SINK_PORT: u16 = 5001;
const SOURCE_PORT: u16 = 5002;

/// Gives a shell a file descriptor 3 that never reads EOF (a FIFO it holds
/// open): busybox's `nc` shuts its sending half down at end of input, so a
/// listener with no input (a background job's is /dev/null) would end
/// every connection at once, and a client would stop sending.
const HOLD_FD3: &str = "mkfifo /tmp/hold; exec 3<>/tmp/hold";

/// The listener loops the backend domain runs (lines short enough to
/// type): a sink for DomU → backend, a source for backend → DomU.
fn listeners() -> [String; 3] {
    [
        HOLD_FD3.into(),
        format!("(while :; do nc -l -p {SINK_PORT} <&3 >/dev/null; done &)"),
        format!("(while :; do head -c {} /dev/zero|nc -l -p {SOURCE_PORT}; done &)", net_bytes()),
    ]
}

fn net_bytes() -> u64 {
    u64::from(NET_MIB) << 20
}

fn send_cmd() -> String {
    format!("sh -c 'head -c {} /dev/zero | nc {BACKEND_IP} {SINK_PORT}'", net_bytes())
}

fn receive_cmd() -> String {
    format!("sh -c 'nc {BACKEND_IP} {SOURCE_PORT} <&3 | wc -c'")
}

/// The DomU's configuration in each layout: `configs/linux.cfg` with the
/// disk and the network (`backend` names the driver domain, or nothing
/// for the classic Dom0).
fn io_cfg(backend: &str) -> Result<(String, Vec<u8>)> {
    let mut text = std::fs::read_to_string(util::root().join("configs/linux.cfg"))?;
    text.push_str(&format!(
        "\ndisk = [ '{backend}vdev=xvda,target=/images/bench.img' ]\nvif = [ '{backend}bridge=xenbr0,ip={DOMU_IP}' ]\n"
    ));
    Ok(("linux-io.cfg".into(), text.into_bytes()))
}

/// The image, made the same way in both backend domains.
fn make_image() -> String {
    format!("dd if=/dev/zero of=/images/bench.img bs=1M count={DISK_MIB} 2>&1 && ls -l /images")
}

fn write_cmd() -> String {
    format!("dd if=/dev/zero of=/dev/xvda bs=1M count={DISK_MIB} oflag=direct conv=fsync")
}

fn read_cmd() -> String {
    format!("dd if=/dev/xvda of=/dev/null bs=1M count={DISK_MIB} iflag=direct")
}

/// Which layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// thindom, Dom-D serving the disk.
    Thin,
    /// The reference Linux Dom0 serving it, with xl.
    Classic,
}

#[derive(Debug, Clone)]
struct Layout {
    kind: Kind,
    name: &'static str,
    cfg: QemuConfig,
    /// Printed once the Dom0's toolstack is usable (before the prompt).
    ready: &'static str,
    prompt: &'static str,
    create: String,
    poweroff: &'static str,
}

/// thindom's boot ramdisk for this bench: Dom-D and the Linux DomU, with
/// their configurations, and nothing else.
fn thin_ramdisk() -> Result<std::path::PathBuf> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for cfg in ["linux.cfg", "domd.cfg"] {
        files.push((cfg.into(), std::fs::read(util::root().join("configs").join(cfg))?));
    }
    files.push(io_cfg("backend=domd,")?);
    files.extend(crate::linux_guest::ramdisk_files()?);
    files.extend(crate::domd::ramdisk_files_with(&[])?);
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let out = util::root().join("target/thindom/ramdisk-bench-io.cpio");
    std::fs::write(&out, bootfs::write(&refs))?;
    Ok(out)
}

fn thin() -> Result<Layout> {
    let img = build::build_image(true)?;
    let mut cfg = QemuConfig::new(debian::xen()?, img.image.clone());
    cfg.ramdisk = Some(thin_ramdisk()?);
    // The same Xen command line as the classic layout's.
    cfg.dom0_mem = harness::reference::DEFAULT_DOM0_MEM.into();
    // The GPIO goes to Dom-D: the host tree marks it `xen,passthrough`
    // (dumped for this ramdisk, under a name of its own).
    cfg.dtb = Some(passthrough::host_dtb_for(&cfg, "bench-io-")?);
    Ok(Layout {
        kind: Kind::Thin,
        name: "thindom",
        cfg,
        ready: "Type 'help' for commands",
        prompt: "thindom> ",
        create: "create linux-io -c".into(),
        poweroff: "poweroff",
    })
}

fn classic() -> Result<Layout> {
    Ok(Layout {
        kind: Kind::Classic,
        name: "Linux+xl",
        cfg: linux_dom0::build_io(&[io_cfg("")?])?,
        ready: linux_dom0::READY,
        prompt: linux_dom0::PROMPT,
        create: "xl create -c linux-io.cfg".into(),
        poweroff: "poweroff -f",
    })
}

/// Runs `line` in the attached Linux shell (a DomU's, Dom-D's or the
/// classic Dom0's) and returns what it printed: the text between two
/// markers the shell computes, new for every command, so neither the
/// echoed line nor console history can match them.
///
/// Typed input can be lost on the way when the host is loaded (a line
/// then never runs, or waits for a closing quote): if the first marker
/// does not come, Ctrl-C clears the line and it is typed again.
fn sh(s: &mut Session, line: &str, timeout: Duration) -> Result<String> {
    sh_typed(s, line, TYPED, TYPING_ATTEMPTS, timeout)
}

/// [`sh`], waiting `typed` for the line to start, `attempts` times.
fn sh_typed(s: &mut Session, line: &str, typed: Duration, attempts: usize, timeout: Duration) -> Result<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut n = 0;
    for attempt in 0..attempts {
        if attempt > 0 {
            s.send_raw(&[CTRL_C])?;
            std::thread::sleep(Duration::from_millis(500));
        }
        n = N.fetch_add(1, Ordering::Relaxed);
        s.send_line(&format!("echo begin-$((2000+{n})); {line}; echo mark-$((1000+{n}))"))?;
        if s.expect(&format!("\nbegin-{}", 2000 + n), typed).is_ok() {
            break;
        }
        if attempt + 1 == attempts {
            bail!("the shell did not run {line:?} ({attempts} attempts)");
        }
    }
    // From the first marker on (its line included, so `begin` is found).
    let out = format!("begin-{}{}", 2000 + n, s.expect(&format!("\nmark-{}", 1000 + n), timeout)?).replace('\r', "");
    let begin = format!("begin-{}\n", 2000 + n);
    let from = out.rfind(&begin).map_or(0, |i| i + begin.len());
    let to = out.rfind(&format!("mark-{}", 1000 + n)).unwrap_or(out.len()).max(from);
    Ok(out[from..to].to_string())
}

/// Waits until a Linux shell that has just started takes input: busybox
/// sh drops what was typed before it set up its terminal, so a probe is
/// sent (after an Enter that ends any partial line) until it answers.
fn wait_shell(s: &mut Session) -> Result<()> {
    for _ in 0..20 {
        s.send_line("")?;
        if sh_typed(s, "true", Duration::from_secs(3), 1, Duration::from_secs(3)).is_ok() {
            return Ok(());
        }
    }
    bail!("the shell does not answer")
}

/// Attaches thindom's terminal to `dom`'s console; what is typed before
/// the attachment takes effect would go to thindom's own line editor, so
/// give it a moment.
fn attach(s: &mut Session, dom: &str) -> Result<()> {
    s.send_line(&format!("console {dom}"))?;
    s.expect("\r\n", GUEST)?;
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

/// Back to the Dom0's prompt, its line emptied (Ctrl-U) of anything typed
/// while the console was changing hands.
fn detach(s: &mut Session, prompt: &str) -> Result<()> {
    s.send_raw(&[DETACH])?;
    s.expect(prompt, GUEST)?;
    s.send_raw(&[CTRL_U])
}

/// Makes the backing image in the backend domain: Dom-D (created here,
/// its three 16 MiB images removed to leave room in its RAM), or the
/// classic Dom0 itself.
fn prepare(l: &Layout, s: &mut Session) -> Result<()> {
    let out = match l.kind {
        Kind::Thin => {
            s.send_line("create domd")?;
            s.expect("Started domain domd", GUEST)?;
            s.expect(l.prompt, GUEST)?;
            attach(s, "domd")?;
            s.expect("domd-agent: ready", GUEST)?;
            wait_shell(s)?;
            let out = sh(s, &format!("rm -f /images/disk*.img && {}", make_image()), GUEST)?;
            for line in listeners() {
                sh(s, &line, GUEST)?;
            }
            detach(s, l.prompt)?;
            out
        }
        Kind::Classic => {
            wait_shell(s)?;
            for line in listeners() {
                sh(s, &line, GUEST)?;
            }
            sh(s, &make_image(), GUEST)?
        }
    };
    ensure!(out.contains(&format!("{DISK_MIB}+0 records out")), "{}: making the image failed:\n{out}", l.name);
    Ok(())
}

/// One run's figures.
#[derive(Debug, Clone)]
struct Run {
    first_line: f64,
    visible: f64,
    /// MB/s of each pass.
    write: Vec<f64>,
    read: Vec<f64>,
    /// TCP MB/s of each pass, DomU → backend and back.
    send: Vec<f64>,
    receive: Vec<f64>,
    /// Share of the host's CPU time stolen by its hypervisor while the
    /// passes ran (from /proc/stat), in percent: noise from outside.
    steal: f64,
    /// blkfront's line (its features: persistent grants, bounce buffer).
    blkfront: String,
    /// Kernel warnings in the backend domain after the run.
    warnings: u32,
    /// CPU seconds each domain had used at the end (`list`'s Time(s)).
    cpu: String,
    /// Other QEMU processes on the host when the run started (someone
    /// else's tests compete for the same two cores).
    others: usize,
}

/// QEMU processes running on the host (`/proc/*/comm`).
pub(crate) fn other_qemus() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.starts_with("qemu-system")))
        .count()
}

/// The domains' CPU time from the Dom0's `list` / `xl list`, as
/// "name seconds, ...": shows which domain ran when a run is slow.
fn cpu_times(l: &Layout, s: &mut Session) -> Result<String> {
    s.send_line(if l.kind == Kind::Thin { "list" } else { "xl list" })?;
    s.expect_re(&Regex::new(r"Name\s+ID\s+Mem")?, GUEST)?;
    let out = s.expect(l.prompt, GUEST)?;
    let re = Regex::new(r"(?m)^(\S+)\s+\d+\s+\d+\s+\d+\s+\S+\s+([0-9.]+)\s*$")?;
    let v: Vec<String> = re.captures_iter(&out.replace('\r', "")).map(|c| format!("{} {} s", &c[1], &c[2])).collect();
    Ok(v.join(", "))
}

/// Counts WARNING/BUG/Oops lines in the backend domain's kernel log (Dom-D's
/// console is not on the serial port during the run).
fn backend_warnings(l: &Layout, s: &mut Session) -> Result<u32> {
    let count = "dmesg | grep -c -e WARNING -e 'BUG:' -e Oops";
    let out = match l.kind {
        Kind::Thin => {
            attach(s, "domd")?;
            wait_shell(s)?;
            let out = sh(s, count, GUEST)?;
            detach(s, l.prompt)?;
            out
        }
        Kind::Classic => sh(s, count, GUEST)?,
    };
    out.lines().last().unwrap_or("").trim().parse().with_context(|| format!("dmesg count: {out:?}"))
}

/// A shell function `t CMD...` that runs CMD between two readings of the
/// DomU's monotonic clock in nanoseconds (`now at N nsecs` in
/// `/proc/timer_list`): Debian's busybox dd does not report times (no
/// FEATURE_DD_THIRD_STATUS_LINE). Defined once, so the lines typed for
/// each pass stay short.
const TIMER_FN: &str = "t() { a=$(grep -m1 'now at' /proc/timer_list); \"$@\" 2>&1; \
                        b=$(grep -m1 'now at' /proc/timer_list); echo \"start $a\"; echo \"end $b\"; }";

fn timed(cmd: &str) -> String {
    format!("t {cmd}")
}

/// MB/s (10^6 bytes per second) of a [`timed`] dd over the whole disk.
fn mb_per_s(out: &str) -> Result<f64> {
    ensure!(out.contains(&format!("{DISK_MIB}+0 records out")), "dd did not copy the disk:\n{out}");
    let ns = |which: &str| -> Result<f64> {
        let re = Regex::new(&format!(r"{which} now at (\d+) nsecs"))?;
        Ok(re.captures(out).with_context(|| format!("no {which} time in:\n{out}"))?[1].parse()?)
    };
    let secs = (ns("end")? - ns("start")?) / 1e9;
    ensure!(secs > 0.0, "dd took no time:\n{out}");
    Ok(f64::from(DISK_MIB) * 1048576.0 / secs / 1e6)
}

/// MB/s of a [`timed`] network pass of [`NET_MIB`] MiB (`received`: the
/// output must say every byte came).
fn net_mb_per_s(out: &str, received: bool) -> Result<f64> {
    let bytes = net_bytes();
    if received {
        ensure!(out.lines().any(|l| l.trim() == bytes.to_string()), "not all {bytes} bytes came:\n{out}");
    }
    let ns = |which: &str| -> Result<f64> {
        let re = Regex::new(&format!(r"{which} now at (\d+) nsecs"))?;
        Ok(re.captures(out).with_context(|| format!("no {which} time in:\n{out}"))?[1].parse()?)
    };
    let secs = (ns("end")? - ns("start")?) / 1e9;
    ensure!(secs > 0.0, "the transfer took no time:\n{out}");
    Ok(bytes as f64 / secs / 1e6)
}

/// Boots `l`, makes the image, creates the DomU with the disk and measures.
fn once(l: &Layout, log: &str) -> Result<Run> {
    let others = other_qemus();
    let mut s = Session::spawn(&l.cfg, &util::root().join(format!("target/bench/{log}.log")))?;
    s.expect(l.ready, BOOT)?;
    s.expect(l.prompt, BOOT)?;
    prepare(l, &mut s)?;
    let first = Regex::new(r"Booting Linux on physical CPU")?;
    let blkfront = Regex::new(r"blkfront: xvda: [^\r\n]*\r*\n")?;
    s.send_line(&l.create)?;
    let t0 = s.elapsed();
    let at = |s: &Session, off| s.time_at(off).unwrap_or(t0).saturating_sub(t0).as_secs_f64();
    let (_, a) = s.expect_re_at(&first, GUEST)?;
    let (text, b) = s.expect_re_at(&blkfront, GUEST)?;
    let (first_line, visible) = (at(&s, a), at(&s, b));
    let line = blkfront.find(&text).map(|m| m.as_str().trim().to_string()).unwrap_or_default();
    if !text.contains("init done") {
        s.expect("init done", GUEST)?;
    }
    wait_shell(&mut s)?;
    let size = sh(&mut s, "cat /sys/block/xvda/size", GUEST)?;
    ensure!(size.trim() == (DISK_MIB * 2048).to_string(), "{}: xvda has {size:?} sectors", l.name);
    sh(&mut s, TIMER_FN, GUEST)?;
    let up = sh(&mut s, &format!("ip addr add {DOMU_IP}/24 dev eth0 && ip link set eth0 up && echo up"), GUEST)?;
    ensure!(up.contains("up"), "{}: eth0:\n{up}", l.name);
    let ping = sh(&mut s, &format!("ping -c 1 -w 60 {BACKEND_IP} >/dev/null && echo reached"), GUEST)?;
    sh(&mut s, HOLD_FD3, GUEST)?;
    ensure!(ping.contains("reached"), "{}: the backend domain does not answer pings:\n{ping}", l.name);
    let (mut write, mut read, mut send, mut receive) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let cpu0 = host_cpu();
    for _ in 0..PASSES {
        write.push(mb_per_s(&sh(&mut s, &timed(&write_cmd()), DD)?)?);
        read.push(mb_per_s(&sh(&mut s, &timed(&read_cmd()), DD)?)?);
        send.push(net_mb_per_s(&sh(&mut s, &timed(&send_cmd()), DD)?, false)?);
        receive.push(net_mb_per_s(&sh(&mut s, &timed(&receive_cmd()), DD)?, true)?);
    }
    let steal = steal_percent(cpu0, host_cpu());
    detach(&mut s, l.prompt)?;
    let warnings = backend_warnings(l, &mut s)?;
    let cpu = cpu_times(l, &mut s)?;
    s.send_line(l.poweroff)?;
    if !s.wait_exit(Duration::from_secs(30))? {
        s.kill();
    }
    Ok(Run { first_line, visible, write, read, send, receive, steal, blkfront: line, warnings, cpu, others })
}

/// The host's aggregate CPU times (the `cpu` line of /proc/stat), if
/// readable.
pub(crate) fn host_cpu() -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    line.split_whitespace().map(|v| v.parse().ok()).collect()
}

/// Steal time (the 8th field) in percent of all time between two readings.
pub(crate) fn steal_percent(a: Option<Vec<u64>>, b: Option<Vec<u64>>) -> f64 {
    let (Some(a), Some(b)) = (a, b) else { return f64::NAN };
    let d: Vec<u64> = b.iter().zip(&a).map(|(x, y)| x.saturating_sub(*y)).collect();
    // guest and guest_nice (9th, 10th) are already counted in user/nice.
    let total: u64 = d.iter().take(8).sum();
    if total == 0 || d.len() < 8 {
        return f64::NAN;
    }
    d[7] as f64 * 100.0 / total as f64
}

fn cell(v: &[f64], unit: &str, digits: usize) -> String {
    let (m, lo, hi) = spread(v);
    format!("{m:.digits$} {unit} ({lo:.digits$}–{hi:.digits$})")
}

fn list(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" ")
}

fn ratio(a: &[f64], b: &[f64]) -> String {
    format!("{:.2}×", spread(a).0 / spread(b).0)
}

/// One line of the table: a figure, its samples in a run, its unit and
/// decimals.
struct Row {
    what: &'static str,
    samples: fn(&Run) -> Vec<f64>,
    unit: &'static str,
    digits: usize,
}

const ROWS: [Row; 6] = [
    Row { what: "xvda write: dd bs=1M oflag=direct", samples: |r| r.write.clone(), unit: "MB/s", digits: 1 },
    Row { what: "xvda read: dd bs=1M iflag=direct", samples: |r| r.read.clone(), unit: "MB/s", digits: 1 },
    Row { what: "TCP DomU → backend domain (nc)", samples: |r| r.send.clone(), unit: "MB/s", digits: 1 },
    Row { what: "TCP backend domain → DomU (nc)", samples: |r| r.receive.clone(), unit: "MB/s", digits: 1 },
    Row { what: "create → DomU's first console line", samples: |r| vec![r.first_line], unit: "s", digits: 2 },
    Row { what: "create → xvda visible (blkfront line)", samples: |r| vec![r.visible], unit: "s", digits: 2 },
];

/// `bench io [--compare]`.
pub fn run(runs: usize, compare: bool) -> Result<()> {
    setup::ensure()?;
    let mut layouts = vec![thin()?];
    if compare {
        layouts.push(classic()?);
        let (a, b) = (layouts[0].cfg.xen_cmdline(), layouts[1].cfg.xen_cmdline());
        if a != b {
            bail!("the two layouts would boot Xen differently:\n  {a}\n  {b}");
        }
    }
    let mut figures: Vec<Vec<Run>> = vec![Vec::new(); layouts.len()];
    for i in 0..runs {
        for (k, l) in layouts.iter().enumerate() {
            let r = once(l, &format!("io-{}-{i}", l.name)).with_context(|| format!("{} run {}", l.name, i + 1))?;
            let warnings = match r.warnings {
                0 => String::new(),
                n => format!(" ({n} kernel warnings in the backend domain)"),
            };
            println!(
                "run {}: {:<9} create → 1st line {:.2} s, → xvda {:.2} s; write {} MB/s, read {} MB/s; TCP send {} MB/s, receive {} MB/s; host steal {:.0}%, other QEMUs {}; CPU: {}{warnings}",
                i + 1,
                l.name,
                r.first_line,
                r.visible,
                list(&r.write),
                list(&r.read),
                list(&r.send),
                list(&r.receive),
                r.steal,
                r.others,
                r.cpu,
            );
            figures[k].push(r);
        }
    }
    table(&layouts, &figures, runs);
    Ok(())
}

fn table(layouts: &[Layout], figures: &[Vec<Run>], runs: usize) {
    let col = |k: usize, f: fn(&Run) -> Vec<f64>| figures[k].iter().flat_map(f).collect::<Vec<f64>>();
    println!(
        "\nXen 4.17 (Debian arm64) in QEMU TCG on this host, Xen command line `{}`,\n\
         {runs} boot(s) each ({PASSES} write+read passes per boot), median (min–max);\n\
         DomU: Linux 6.1, 64 MiB, 1 vCPU; disk {DISK_MIB} MiB in the backend's RAM;\n\
         network: a vif on the backend domain's bridge, {NET_MIB} MiB per TCP pass:\n",
        layouts[0].cfg.xen_cmdline()
    );
    let line = |a: &str, b: &str, c: &str, d: &str| println!("| {a:<38} | {b:>24} | {c:>24} | {d:>17} |");
    if layouts.len() == 2 {
        line("", "thindom + Dom-D", "Linux Dom0 + xl", "thindom / classic");
        println!("|{:-<40}|{:-<25}:|{:-<25}:|{:-<18}:|", "", "", "", "");
        for r in &ROWS {
            let (t, c) = (col(0, r.samples), col(1, r.samples));
            line(r.what, &cell(&t, r.unit, r.digits), &cell(&c, r.unit, r.digits), &ratio(&t, &c));
        }
    } else {
        for r in &ROWS {
            println!("  {:<38} {}", r.what, cell(&col(0, r.samples), r.unit, r.digits));
        }
    }
    println!();
    for (l, f) in layouts.iter().zip(figures) {
        if let Some(r) = f.first() {
            println!("{}: {}", l.name, r.blkfront);
        }
    }
    println!("\n(serial logs: target/bench/io-*.log)");
}
