//! The shell's commands: glue between the pure `shell` crate and Xen.

use crate::{console, heap, println, xen::xen, Boot};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use shell::format as fmt;

/// A shell command.
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
    pub run: fn(&Boot, &[String]),
}

/// All commands, in `help` order.
pub const COMMANDS: &[Command] = &[
    Command { name: "help", usage: "help", help: "list the commands", run: help },
    Command {
        name: "version",
        usage: "version",
        help: "Xen version, extraversion, changeset, capabilities",
        run: version,
    },
    Command { name: "info", usage: "info", help: "host and Xen information (like xl info)", run: info },
    Command { name: "list", usage: "list", help: "list domains (like xl list)", run: list },
    Command {
        name: "dmesg",
        usage: "dmesg [-c]",
        help: "Xen's console ring (like xl dmesg); -c clears it",
        run: dmesg,
    },
    Command { name: "uptime", usage: "uptime", help: "time since thindom started", run: uptime },
    Command { name: "mem", usage: "mem", help: "thindom's heap usage", run: mem },
    Command { name: "evtchn", usage: "evtchn", help: "Dom0's bound event channels and their state", run: evtchn_cmd },
    Command { name: "gnttab", usage: "gnttab", help: "grant-table and mapping-space usage", run: gnttab_cmd },
    Command { name: "selftest", usage: "selftest", help: "exercise each Xen interface against Xen", run: selftest },
    Command { name: "dt", usage: "dt", help: "what the device tree told thindom", run: dt },
    Command { name: "poweroff", usage: "poweroff", help: "shut down Dom0 and the machine", run: poweroff },
    Command { name: "reboot", usage: "reboot", help: "reboot the machine", run: reboot },
    Command { name: "crash", usage: "crash", help: "debug: fault on purpose (prints the crash report)", run: crash },
];

/// Runs one command line.
pub fn execute(boot: &Boot, line: &str) {
    let words = match shell::split(line) {
        Ok(w) => w,
        Err(e) => return println!("error: {e}"),
    };
    let Some(name) = words.first() else { return };
    match COMMANDS.iter().find(|c| c.name == name.as_str()) {
        Some(c) => (c.run)(boot, &words[1..]),
        None => println!("{name}: unknown command (type 'help' for the list)"),
    }
}

fn help(_: &Boot, _: &[String]) {
    println!("thindom commands:");
    for c in COMMANDS {
        println!("  {:<14} {}", c.usage, c.help);
    }
}

fn version(_: &Boot, _: &[String]) {
    match xen().version_info() {
        Ok(v) => crate::print!("{}", fmt::version(&v)),
        Err(e) => println!("version: xen_version failed: {e}"),
    }
}

fn domain_name(id: u16) -> String {
    if id == 0 {
        "Domain-0".to_string()
    } else {
        format!("(domain {id})")
    }
}

fn list(boot: &Boot, _: &[String]) {
    if let Some(e) = &boot.interface_error {
        return println!("list: {e}");
    }
    match xen().domains() {
        Ok(d) => crate::print!("{}", fmt::list(&d, &domain_name)),
        Err(e) => println!("list: XEN_SYSCTL_getdomaininfolist failed: {e}"),
    }
}

fn info(boot: &Boot, _: &[String]) {
    if let Some(e) = &boot.interface_error {
        return println!("info: {e}");
    }
    let r = (|| {
        let p = xen().physinfo()?;
        let v = xen().version_info()?;
        let s = xen().sched_id()?;
        let d0 = xen().domains()?.into_iter().find(|d| d.domid == 0).unwrap_or_default();
        let extra =
            fmt::HostExtra { host: "thindom".into(), dom0_mem_kib: d0.mem_kib(), dom0_vcpus: d0.nr_online_vcpus };
        Ok::<_, xen_hyp::Errno>(fmt::info(&p, &v, s, &extra))
    })();
    match r {
        Ok(s) => crate::print!("{s}"),
        Err(e) => println!("info: {e}"),
    }
}

fn dmesg(boot: &Boot, args: &[String]) {
    if let Some(e) = &boot.interface_error {
        return println!("dmesg: {e}");
    }
    let clear = args.iter().any(|a| a == "-c");
    let mut buf = vec![0u8; 4096];
    let mut index = Some(0);
    loop {
        match xen().read_console(&mut buf, index, clear) {
            Ok((0, _)) => break,
            Ok((n, next)) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                let mut w = console::RawWriter::new();
                let _ = core::fmt::Write::write_str(&mut w, &text);
                index = Some(next);
            }
            Err(e) => return println!("dmesg: XEN_SYSCTL_readconsole failed: {e}"),
        }
    }
}

fn uptime(_: &Boot, _: &[String]) {
    println!("up {} (domain age {})", fmt::uptime(console::uptime_ns()), fmt::uptime(console::domain_age_ns()));
}

fn mem(_: &Boot, _: &[String]) {
    let s = heap::stats();
    println!("heap: used {} bytes, high-water {} bytes, size {} bytes", s.used, s.peak, s.total);
    let (img_start, img_end) = crate::arch::entry::image_range();
    let (stack_lo, stack_hi) = crate::arch::entry::stack_range();
    println!("image: {} bytes loaded (incl. bss), stack {} bytes", img_end - img_start, stack_hi - stack_lo);
}

fn dt(boot: &Boot, _: &[String]) {
    crate::describe_platform(&boot.platform);
}

fn poweroff(_: &Boot, _: &[String]) {
    println!("thindom: powering off");
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_POWEROFF);
}

fn reboot(_: &Boot, _: &[String]) {
    println!("thindom: rebooting");
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_REBOOT);
}

fn crash(_: &Boot, _: &[String]) {
    println!("crash: reading unmapped address 0xdead00000000");
    // SAFETY: deliberately faults; the exception handler reports and shuts
    // down, so execution never continues past this read.
    let v = unsafe { core::ptr::read_volatile(0xdead_0000_0000 as *const u64) };
    println!("crash: read {v:#x}?!");
}

fn evtchn_cmd(_: &Boot, _: &[String]) {
    use xen_hyp::EvtchnState as S;
    println!("port  name                state                         vcpu  masked  events");
    for p in crate::evtchn::ports() {
        let (state, vcpu) = match p.state {
            Ok((s, v)) => (
                match s {
                    S::Closed => "closed".to_string(),
                    S::Unbound { remote } => format!("unbound (for dom {remote})"),
                    S::Interdomain { remote, remote_port } => format!("interdomain dom {remote} port {remote_port}"),
                    S::Pirq(n) => format!("pirq {n}"),
                    S::Virq(n) => format!("virq {n}"),
                    S::Ipi => "ipi".to_string(),
                    S::Unknown(n) => format!("unknown ({n})"),
                },
                v.to_string(),
            ),
            Err(e) => (format!("status failed: {e}"), "-".to_string()),
        };
        println!(
            "{:>4}  {:<18}  {:<28}  {:>4}  {:<6}  {:>6}",
            p.port,
            p.name,
            state,
            vcpu,
            if p.masked { "yes" } else { "no" },
            p.count
        );
    }
    println!(
        "upcalls: {} ({}), timer interrupts {}",
        crate::evtchn::UPCALLS.load(core::sync::atomic::Ordering::Relaxed),
        if crate::evtchn::irq_mode() { "by interrupt" } else { "polled" },
        crate::irq::TIMER_IRQS.load(core::sync::atomic::Ordering::Relaxed)
    );
}

fn gnttab_cmd(_: &Boot, _: &[String]) {
    let (granted, free) = crate::gnttab::usage();
    println!("grant refs: {granted} granted, {free} free; mapping space: {} pages free", crate::mm::free_pages());
}

fn selftest(_: &Boot, _: &[String]) {
    crate::selftest::run();
}
