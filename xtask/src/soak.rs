//! `cargo xtask soak [--cycles N]`: the soak of `harness::soak` on one
//! thindom under real Xen: the driver domain, then N create/destroy cycles
//! mixing the Rust guest and Linux DomUs with a disk and a network, every
//! way a domain ends; prints what Dom0 and the driver domain hold before
//! and after (after a warm-up of one cycle of each kind) and fails on any
//! drift.

use crate::{build, passthrough, qemu, setup, util};
use anyhow::{bail, Result};
use harness::soak::{self, Soak, PROMPT};
use harness::Session;
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(240);

pub fn run(cycles: usize) -> Result<()> {
    setup::ensure()?;
    let img = build::build_image(true)?;
    let mut cfg = qemu::config(&img)?;
    // The GPIO goes to Dom-D: the host tree marks it `xen,passthrough`.
    cfg.dtb = Some(passthrough::host_dtb(&cfg)?);
    let log = util::root().join("target/soak/soak.log");
    std::fs::create_dir_all(log.parent().unwrap_or(&log))?;
    let mut s = Session::spawn(&cfg, &log)?;
    s.expect("Type 'help' for commands", BOOT)?;
    s.expect(PROMPT, BOOT)?;
    let mut k = Soak::new(&mut s);
    k.start_domd()?;
    let t0 = Instant::now();
    for c in soak::warm_up() {
        k.cycle(c)?;
    }
    let before = k.footprint()?;
    let plan = soak::plan(cycles);
    let cycles = plan.len();
    println!("soak: warmed up in {:.0} s; {cycles} cycles follow", t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let mut heap = Vec::new();
    let round = soak::plan(1).len();
    let mut mid = before.clone();
    for (i, c) in plan.into_iter().enumerate() {
        if i + round == cycles {
            mid = k.settled_footprint(&before)?;
        }
        k.cycle(c)?;
        heap.push(k.heap_used()?);
        if (i + 1) % 10 == 0 || i + 1 == cycles {
            println!("soak: {} cycles, {:.0} s; Dom0 heap after each: {heap:?}", i + 1, t1.elapsed().as_secs_f64());
            heap.clear();
        }
    }
    let after = k.settled_footprint(&before)?;
    let _ = s.send_line("poweroff");
    if !s.wait_exit(Duration::from_secs(30))? {
        s.kill();
    }
    println!(
        "\n{cycles} cycles in {:.0} s (the mix: {}), serial log {}\n",
        t1.elapsed().as_secs_f64(),
        soak::plan(1).iter().map(|c| format!("{:?}/{:?}", c.guest, c.ending)).collect::<Vec<_>>().join(", "),
        log.display()
    );
    print!("{}", soak::table(&before, &after));
    let found = soak::findings(&before, &mid, &after);
    if !found.is_empty() {
        bail!("after {cycles} cycles: {found:?}");
    }
    println!(
        "\nno drift (Dom0's heap: {} bytes after the warm-up, {} after the next-to-last round, {} at the end)",
        before.0.iter().find(|r| r.0 == soak::HEAP).map_or(0, |r| r.1),
        mid.0.iter().find(|r| r.0 == soak::HEAP).map_or(0, |r| r.1),
        after.0.iter().find(|r| r.0 == soak::HEAP).map_or(0, |r| r.1),
    );
    Ok(())
}
