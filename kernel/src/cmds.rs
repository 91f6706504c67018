//! The shell's commands: the toolstack's `xl`-shaped ones
//! (`toolstack::xl`, host-tested) and the machine's own (Xen's console
//! ring, Dom0's heap and event channels, selftest, poweroff...).

use crate::boot::{describe_platform, Boot};
use crate::{console, heap, println, terminal, ts};
use alloc::string::String;
use shell::format as fmt;
use toolstack::xl::{Outcome, COMMANDS as XL};

/// A shell command of the machine.
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
    pub run: fn(&Boot, &[String]),
}

const fn cmd(name: &'static str, usage: &'static str, help: &'static str, run: fn(&Boot, &[String])) -> Command {
    Command { name, usage, help, run }
}

/// The machine's commands, in `help` order (the toolstack's follow).
pub const COMMANDS: &[Command] = &[
    cmd("help", "help", "list the commands", help),
    cmd("uptime", "uptime", "time since thindom started", uptime),
    cmd("mem", "mem", "thindom's heap usage", mem),
    cmd("boottime", "boottime", "thindom's boot steps: when each ended, what it did", boottime),
    cmd("evtchn", "evtchn", "Dom0's bound event channels and their state", evtchn_cmd),
    cmd("gnttab", "gnttab", "grant-table and mapping-space usage", gnttab_cmd),
    cmd("selftest", "selftest", "exercise each Xen interface against Xen", selftest),
    cmd("dt", "dt", "what the device tree told thindom", dt),
    cmd("poweroff", "poweroff", "shut down Dom0 and the machine", poweroff),
    cmd("reboot", "reboot [[-F] <dom>]", "reboot a domain (like xl reboot), or the machine", reboot),
    cmd("crash", "crash", "debug: fault on purpose (prints the crash report)", crash),
];

/// Runs one command line: the toolstack's `xl`-shaped commands (refused
/// when they need Xen's interface and it is not ours), then the machine's.
pub fn execute(boot: &Boot, line: &str) {
    let words = match shell::split(line) {
        Ok(w) => w,
        Err(e) => return println!("error: {e}"),
    };
    let Some(name) = words.first() else { return };
    let args = &words[1..];
    if let Some(c) = XL.iter().find(|c| c.name == name.as_str()) {
        let reboot_machine = c.name == "reboot" && args.is_empty();
        if !reboot_machine && c.needs_xen && !boot.require_interface(c.name) {
            return;
        }
        let mut out = console::writer();
        let outcome = ts::with(|ts| ts.xl(&mut out, name, args)).flatten();
        drop(out);
        match outcome {
            Some(Outcome::Attach(id)) => return drop(terminal::attach(id)),
            Some(Outcome::Done) => return,
            None => {}
        }
    }
    match COMMANDS.iter().find(|c| c.name == name.as_str()) {
        Some(c) => (c.run)(boot, args),
        None => println!("{name}: unknown command (type 'help' for the list)"),
    }
}

fn help(_: &Boot, _: &[String]) {
    println!("thindom commands:");
    let machine = COMMANDS.iter().map(|c| (c.usage, c.help));
    for (usage, help) in machine.chain(XL.iter().filter(|c| c.name != "reboot").map(|c| (c.usage, c.help))) {
        println!("  {usage:<14} {help}");
    }
}

fn uptime(_: &Boot, _: &[String]) {
    println!("up {} (domain age {})", fmt::uptime(console::uptime_ns()), fmt::uptime(console::domain_age_ns()));
}

fn boottime(_: &Boot, _: &[String]) {
    println!("thindom's boot (ms since its first instruction):");
    for (ns, what) in console::boot_steps() {
        println!("{:>6}.{:03}  {what}", ns / 1_000_000, ns / 1000 % 1000);
    }
}

fn mem(_: &Boot, _: &[String]) {
    let s = heap::stats();
    println!("heap: used {} bytes, high-water {} bytes, size {} bytes", s.used, s.peak, s.total);
    let (img_start, img_end) = crate::arch::entry::image_range();
    let (stack_lo, stack_hi) = crate::arch::entry::stack_range();
    println!("image: {} bytes loaded (incl. bss), stack {} bytes", img_end - img_start, stack_hi - stack_lo);
}

fn dt(boot: &Boot, _: &[String]) {
    describe_platform(&boot.platform);
}

fn poweroff(_: &Boot, _: &[String]) {
    println!("thindom: powering off");
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_POWEROFF);
}

/// `reboot` of the machine (`reboot <dom>` is the toolstack's).
fn reboot(_: &Boot, _: &[String]) {
    println!("thindom: rebooting");
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_REBOOT);
}

fn crash(_: &Boot, _: &[String]) {
    println!("crash: reading unmapped address {:#x}", aarch64_rt::trap::UNMAPPED);
    aarch64_rt::trap::fault_on_purpose()
}

fn evtchn_cmd(_: &Boot, _: &[String]) {
    crate::print!("{}", fmt::evtchn_table(&crate::evtchn::ports()));
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

fn selftest(boot: &Boot, _: &[String]) {
    if boot.require_interface("selftest") {
        ::selftest::run(&crate::selftest::KDom0, &mut crate::selftest::Lines);
    }
}
