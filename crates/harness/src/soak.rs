//! The soak: many create/destroy cycles on one running thindom, mixing the
//! Rust test guest and Linux DomUs with a disk and a network from the
//! driver domain, ending each way a domain can end (powered off by itself,
//! crashed, rebooted, shut down through PV control, destroyed), with every
//! resource Dom0 and the driver domain hold for guests measured before and
//! after. Shared by `cargo xtask soak` (100 cycles) and a shortened
//! integration test.
//!
//! The measure ([`Footprint`]) comes from thindom's own commands (`info`,
//! `mem`, `evtchn`, `gnttab`, `xenstore`) and from the driver domain's
//! shell (loop devices, vifs, bridge ports). It is taken once the machine
//! is warm: two rounds of the mix have run, so allocations made once and
//! kept (a table's capacity) are made. The shell keeps the last 32 lines
//! typed, and their bytes count in Dom0's heap: before each measure the
//! soak types the same 32 lines, so both see the same history (measured:
//! without it the heap followed the history's content, a few hundred
//! bytes either way, and grew a byte per line once domain ids reached
//! three digits). The comparison comes after the cycles once every domain
//! is gone; Xen scrubs freed memory in the background, so the free-memory
//! figure is waited for (bounded).

use crate::Session;
use anyhow::{bail, ensure, Context, Result};
use regex::Regex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// thindom's prompt.
pub const PROMPT: &str = "thindom> ";
/// A command's answer.
const CMD: Duration = Duration::from_secs(60);
/// A Linux DomU's devices connecting (its boot), or any domain going.
const GUEST: Duration = Duration::from_secs(240);
/// How long free memory may take to come back (Xen's background scrub).
const SCRUB: Duration = Duration::from_secs(60);
/// The driver domain's agent coming up.
const DOMD: Duration = Duration::from_secs(240);
/// Lines thindom's shell keeps in its history (`shell::MAX_HISTORY`).
const HISTORY: usize = 32;

/// A guest kind of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guest {
    /// The Rust test guest (`testguest.cfg`).
    Rust,
    /// Debian's Linux with a disk and a vif from the driver domain
    /// (`soak.cfg`).
    Linux,
}

/// How a domain of the mix ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The guest powers itself off (Rust: `action=poweroff`).
    Poweroff,
    /// The guest crashes (Rust: `action=crash`; `on_crash` destroys).
    Crash,
    /// The guest reboots itself (Rust: `action=reboot`, with
    /// `on_reboot=destroy`).
    Reboot,
    /// `shutdown <dom>`: PV control (Linux powers off).
    Shutdown,
    /// `destroy <dom>`.
    Destroy,
}

/// One cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub guest: Guest,
    pub ending: Ending,
}

/// The first cycles: one of each kind (the warm-up), then the mix repeats.
const MIX: [Cycle; 5] = [
    Cycle { guest: Guest::Rust, ending: Ending::Poweroff },
    Cycle { guest: Guest::Linux, ending: Ending::Destroy },
    Cycle { guest: Guest::Rust, ending: Ending::Crash },
    Cycle { guest: Guest::Linux, ending: Ending::Shutdown },
    Cycle { guest: Guest::Rust, ending: Ending::Reboot },
];

/// The cycles of a soak of at least `n`: whole rounds of the mix.
pub fn plan(n: usize) -> Vec<Cycle> {
    let rounds = n.div_ceil(MIX.len()).max(1);
    (0..rounds * MIX.len()).map(|i| MIX[i % MIX.len()]).collect()
}

/// The warm-up: two rounds of the mix.
pub fn warm_up() -> Vec<Cycle> {
    plan(2 * MIX.len())
}

/// What Dom0 and the driver domain hold: (what, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint(pub Vec<(&'static str, i64)>);

impl Footprint {
    fn get(&self, what: &str) -> Option<i64> {
        self.0.iter().find(|(w, _)| *w == what).map(|(_, v)| *v)
    }
}

/// Xen's free memory row.
const FREE_MEMORY: &str = "Xen free memory (MiB)";

/// Dom0's heap row.
pub const HEAP: &str = "Dom0 heap used (bytes)";

/// The rows that differ between `a` and `b`.
pub fn drift(a: &Footprint, b: &Footprint) -> Vec<(&'static str, i64, i64)> {
    a.0.iter().filter_map(|&(w, x)| b.get(w).filter(|&y| y != x).map(|y| (w, x, y))).collect()
}

/// What a soak finds wrong, from the footprints after the warm-up
/// (`before`), after the next-to-last round (`mid`) and after the last
/// (`after`): every resource must be back exactly, Dom0's heap too (its
/// buffers hold what waits in them, not the capacity of their longest
/// use: measured, no byte of drift over 100 cycles); for the heap the
/// last round's share is given (a leak grows every round).
pub fn findings(before: &Footprint, mid: &Footprint, after: &Footprint) -> Vec<String> {
    drift(before, after)
        .into_iter()
        .map(|(w, x, y)| match (w == HEAP, mid.get(HEAP)) {
            (true, Some(m)) => format!("{w}: {x} before, {y} after ({:+} in the last round)", y - m),
            _ => format!("{w}: {x} before, {y} after"),
        })
        .collect()
}

/// The before/after table, one row per resource.
pub fn table(before: &Footprint, after: &Footprint) -> String {
    let mut out = format!("| {:<34} | {:>12} | {:>12} | {:>6} |\n", "resource", "before", "after", "drift");
    out.push_str(&format!("|{:-<36}|{:->14}|{:->14}|{:->8}|\n", "", "", "", ""));
    for &(w, x) in &before.0 {
        let y = after.get(w).unwrap_or(i64::MIN);
        out.push_str(&format!("| {w:<34} | {x:>12} | {y:>12} | {:>6} |\n", y - x));
    }
    out
}

/// The numbers a line of text matching `re` captures (each group).
fn numbers(text: &str, re: &str) -> Result<Vec<i64>> {
    let r = Regex::new(re)?;
    let c = r.captures(text).with_context(|| format!("no {re:?} in:\n{text}"))?;
    (1..c.len()).map(|i| Ok(c[i].parse()?)).collect()
}

/// The soak on a running thindom (at its prompt).
pub struct Soak<'a> {
    s: &'a mut Session,
    /// Whether the driver domain is measured (created by [`Soak::start_domd`]).
    domd: bool,
    /// Domains created (names are `soak<NNN>`).
    created: usize,
}

impl std::fmt::Debug for Soak<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Soak").field("domd", &self.domd).field("created", &self.created).finish()
    }
}

impl<'a> Soak<'a> {
    pub fn new(s: &'a mut Session) -> Self {
        Soak { s, domd: false, created: 0 }
    }

    pub fn session(&mut self) -> &mut Session {
        self.s
    }

    /// Runs a thindom command; what it printed before the next prompt.
    pub fn cmd(&mut self, line: &str) -> Result<String> {
        self.s.send_line(line)?;
        let tail: String = line.chars().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
        self.s.expect_re(&crate::echo_re(&tail), CMD)?;
        let out = self.s.expect(PROMPT, CMD)?;
        Ok(crate::without_xen_lines(&out.replace("\r\n", "\n")).trim_end_matches(PROMPT).to_string())
    }

    /// Creates the driver domain and waits for its agent.
    pub fn start_domd(&mut self) -> Result<()> {
        let out = self.cmd("create domd")?;
        ensure!(out.contains("Started domain domd"), "create domd:\n{out}");
        self.attach("domd")?;
        self.s.expect("domd-agent: ready", DOMD)?;
        self.detach()?;
        self.domd = true;
        Ok(())
    }

    fn attach(&mut self, dom: &str) -> Result<()> {
        self.s.send_line(&format!("console {dom}"))?;
        self.s.expect("\r\n", CMD)?;
        // What is typed before the attachment takes effect goes to
        // thindom's own line editor: give it a moment (and see `sh`).
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    }

    fn detach(&mut self) -> Result<()> {
        self.s.send_raw(&[0x1d])?;
        self.s.expect(PROMPT, CMD)?;
        // Anything typed while the console changed hands.
        self.s.send_raw(&[0x15])
    }

    /// Runs `line` in the attached Linux shell; its output (between
    /// markers the shell computes).
    ///
    /// Typed input can be lost on the way (the console changing hands, a
    /// loaded host): if the first marker does not come, Ctrl-C clears the
    /// line and it is typed again (3 attempts).
    fn sh(&mut self, line: &str) -> Result<String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let mut n = 0;
        for attempt in 0..3 {
            if attempt > 0 {
                self.s.send_raw(&[0x03])?;
                std::thread::sleep(Duration::from_millis(500));
            }
            n = N.fetch_add(1, Ordering::Relaxed);
            self.s.send_line(&format!("echo B$((5000+{n})); {line}; echo M$((3000+{n}))"))?;
            if self.s.expect(&format!("\nB{}", 5000 + n), Duration::from_secs(20)).is_ok() {
                break;
            }
            if attempt == 2 {
                bail!("the attached shell did not run {line:?} (3 attempts)");
            }
        }
        let out = format!("B{}{}", 5000 + n, self.s.expect(&format!("\nM{}", 3000 + n), CMD)?).replace('\r', "");
        let begin = format!("B{}\n", 5000 + n);
        let from = out.rfind(&begin).map_or(0, |i| i + begin.len());
        let to = out.rfind(&format!("M{}", 3000 + n)).unwrap_or(out.len()).max(from);
        Ok(out[from..to].to_string())
    }

    /// Dom0's heap in use now (bytes).
    pub fn heap_used(&mut self) -> Result<i64> {
        let mem = self.cmd("mem")?;
        Ok(numbers(&mem, r"heap: used (\d+) bytes")?[0])
    }

    /// Fills the shell's history (its last [`HISTORY`] lines, whose bytes
    /// count in Dom0's heap) with the same lines, so two measures see the
    /// same history whatever was typed before.
    fn level_history(&mut self) -> Result<()> {
        for i in 0..HISTORY {
            self.cmd(if i % 2 == 0 { "uptime" } else { "version" })?;
        }
        Ok(())
    }

    /// What Dom0 and the driver domain hold now.
    pub fn footprint(&mut self) -> Result<Footprint> {
        self.level_history()?;
        let mut f = Vec::new();
        let info = self.cmd("info")?;
        f.push((FREE_MEMORY, numbers(&info, r"free_memory\s*:\s*(\d+)")?[0]));
        let mem = self.cmd("mem")?;
        f.push(("Dom0 heap used (bytes)", numbers(&mem, r"heap: used (\d+) bytes")?[0]));
        let ev = self.cmd("evtchn")?;
        let ports = ev.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).count();
        f.push(("Dom0 event channels", ports as i64));
        let gt = self.cmd("gnttab")?;
        let g = numbers(&gt, r"grant refs: (\d+) granted, (\d+) free; mapping space: (\d+) pages free")?;
        f.push(("Dom0 grant refs granted", g[0]));
        f.push(("Dom0 mapping space free (pages)", g[2]));
        let xs = self.cmd("xenstore")?;
        let x = numbers(&xs, r"xenstore: (\d+) nodes, (\d+) watches, (\d+) connections")?;
        f.push(("XenStore nodes", x[0]));
        f.push(("XenStore watches", x[1]));
        f.push(("XenStore connections", x[2]));
        let list = self.cmd("list")?;
        f.push(("domains", list.lines().skip(1).filter(|l| !l.trim().is_empty()).count() as i64));
        if self.domd {
            self.attach("domd")?;
            let d =
                self.sh("losetup -a | wc -l; ls /sys/class/net | grep -c vif; ls /sys/class/net/xenbr0/brif | wc -l")?;
            self.detach()?;
            let v: Vec<i64> = d.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            ensure!(v.len() == 3, "Dom-D's counts: {d:?}");
            f.push(("Dom-D loop devices", v[0]));
            f.push(("Dom-D vifs", v[1]));
            f.push(("Dom-D bridge ports", v[2]));
        }
        Ok(Footprint(f))
    }

    /// [`Soak::footprint`] once Xen's free memory is back to `before`'s
    /// (bounded by the scrub time) and the driver domain let go of its
    /// devices: the last one taken.
    pub fn settled_footprint(&mut self, before: &Footprint) -> Result<Footprint> {
        let start = Instant::now();
        loop {
            let f = self.footprint()?;
            if drift(before, &f).is_empty() || start.elapsed() > SCRUB * crate::time_scale() {
                return Ok(f);
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// The domid of `name` from `list`, if it is there.
    fn domid(&mut self, name: &str) -> Result<Option<u32>> {
        let list = self.cmd("list")?;
        let re = Regex::new(&format!(r"(?m)^{}\s+(\d+)\s", regex::escape(name)))?;
        Ok(re.captures(&list).map(|c| c[1].parse()).transpose()?)
    }

    /// Waits (bounded) until `name` is no longer listed.
    fn wait_gone(&mut self, name: &str) -> Result<()> {
        let start = Instant::now();
        while self.domid(name)?.is_some() {
            if start.elapsed() > GUEST * crate::time_scale() {
                bail!("{name} still listed after {GUEST:?}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(())
    }

    /// Waits (bounded) until `name`'s disk and network interface are
    /// Connected (state 4 in `block-list` and `network-list`). Asked by
    /// name, not through paths with its domain id: the commands, kept in
    /// the shell's history, weigh the same in every cycle (domain ids grow
    /// a digit).
    fn wait_connected(&mut self, name: &str) -> Result<()> {
        let start = Instant::now();
        let vbd = Regex::new(r"(?m)^51712\s+\d+\s+\d+\s+(-?\d+)")?;
        let vif = Regex::new(r"(?m)^0\s+\d+\s+\S+\s+0\s+(-?\d+)")?;
        for (what, re) in [("block-list", vbd), ("network-list", vif)] {
            loop {
                let out = self.cmd(&format!("{what} {name}"))?;
                if re.captures(&out).is_some_and(|c| &c[1] == "4") {
                    break;
                }
                if start.elapsed() > GUEST * crate::time_scale() {
                    bail!("{what} {name}: not connected after {GUEST:?}:\n{out}");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Ok(())
    }

    /// Runs one cycle: create, let it run (a Linux DomU until its disk and
    /// network are connected), end it, wait until it is gone.
    pub fn cycle(&mut self, c: Cycle) -> Result<()> {
        self.created += 1;
        // Names of one width: the commands (kept in the shell's bounded
        // history) weigh the same in every cycle.
        let name = format!("soak{:03}", self.created);
        let create = match (c.guest, c.ending) {
            (Guest::Rust, Ending::Poweroff) => format!("create testguest name={name} extra=action=poweroff"),
            (Guest::Rust, Ending::Crash) => format!("create testguest name={name} extra=action=crash"),
            (Guest::Rust, Ending::Reboot) => {
                format!("create testguest name={name} extra=action=reboot on_reboot=destroy")
            }
            (Guest::Rust, _) => format!("create testguest name={name} extra=action=echo"),
            (Guest::Linux, _) => format!("create soak name={name}"),
        };
        let out = self.cmd(&create)?;
        let id: u32 =
            numbers(&out, &format!(r"Started domain {name} \(id=(\d+)\)")).with_context(|| create.clone())?[0] as u32;
        ensure!(id > 0, "{create}: domain id {id}");
        if c.guest == Guest::Linux {
            self.wait_connected(&name)?;
        }
        match c.ending {
            Ending::Shutdown => {
                let out = self.cmd(&format!("shutdown {name}"))?;
                ensure!(!out.contains("rror"), "shutdown {name}: {out}");
            }
            Ending::Destroy => {
                let out = self.cmd(&format!("destroy {name}"))?;
                ensure!(out.contains("destroyed"), "destroy {name}: {out}");
            }
            // The guest ends itself.
            Ending::Poweroff | Ending::Crash | Ending::Reboot => {}
        }
        self.wait_gone(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_has_every_kind_and_ending() {
        let p = plan(10);
        assert_eq!(p.len(), 10);
        assert_eq!(plan(7).len(), 10, "whole rounds");
        assert_eq!(plan(0).len(), 5);
        for e in [Ending::Poweroff, Ending::Crash, Ending::Reboot, Ending::Shutdown, Ending::Destroy] {
            assert!(p.iter().any(|c| c.ending == e), "{e:?}");
        }
        assert!(p.iter().any(|c| c.guest == Guest::Linux) && p.iter().any(|c| c.guest == Guest::Rust));
        assert_eq!(warm_up().len(), 2 * MIX.len());
    }

    #[test]
    fn every_drift_is_a_finding_the_heap_too() {
        let fp = |heap, nodes| Footprint(vec![(HEAP, heap), ("XenStore nodes", nodes)]);
        assert!(findings(&fp(100, 5), &fp(132, 5), &fp(100, 5)).is_empty());
        assert_eq!(
            findings(&fp(100, 5), &fp(132, 5), &fp(164, 5)),
            [format!("{HEAP}: 100 before, 164 after (+32 in the last round)")]
        );
        assert_eq!(findings(&fp(100, 5), &fp(132, 5), &fp(132, 5)).len(), 1);
        assert_eq!(findings(&fp(100, 5), &fp(100, 5), &fp(100, 6)), ["XenStore nodes: 5 before, 6 after"]);
    }

    #[test]
    fn drift_and_table() {
        let a = Footprint(vec![("x", 1), ("y", 2)]);
        let b = Footprint(vec![("x", 1), ("y", 3)]);
        assert_eq!(drift(&a, &a), []);
        assert_eq!(drift(&a, &b), [("y", 2, 3)]);
        let t = table(&a, &b);
        assert!(t.contains("| y "), "{t}");
        assert!(t.lines().nth(3).unwrap().trim_end().ends_with("1 |"), "{t}");
    }

    #[test]
    fn numbers_are_captured() {
        let n = numbers(
            "grant refs: 3 granted, 9 free; mapping space: 70 pages free",
            r"(\d+) granted, (\d+) free; mapping space: (\d+)",
        );
        assert_eq!(n.unwrap(), [3, 9, 70]);
        assert!(numbers("nothing", r"(\d+)").is_err());
    }
}
