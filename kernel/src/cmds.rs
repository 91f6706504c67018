//! The shell's commands: glue between the pure `shell` crate and Xen.

use crate::boot::{describe_platform, Boot};
use crate::{console, heap, println, terminal, toolstack, xen::xen};
use alloc::format;
use alloc::string::{String, ToString};
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
    Command {
        name: "create",
        usage: "create <cfg> [-p] [-c] [k=v..]",
        help: "create a domain (like xl create; -p paused, -c attach the console)",
        run: create,
    },
    Command { name: "destroy", usage: "destroy <dom>", help: "destroy a domain at once", run: destroy },
    Command {
        name: "shutdown",
        usage: "shutdown [-F] <dom>",
        help: "ask a domain to power off (PV control; -F: Xen forces it if it has none)",
        run: shutdown,
    },
    Command { name: "pause", usage: "pause <dom>", help: "pause a domain", run: pause },
    Command { name: "unpause", usage: "unpause <dom>", help: "unpause a domain", run: unpause },
    Command {
        name: "console",
        usage: "console <dom>",
        help: "attach to a domain's console (Ctrl-] detaches)",
        run: console_cmd,
    },
    Command {
        name: "config-list",
        usage: "config-list",
        help: "domain configurations (boot ramdisk and built-in)",
        run: config_list,
    },
    Command {
        name: "xenstore-ls",
        usage: "xenstore-ls [path]",
        help: "list a XenStore subtree with values and permissions",
        run: xs_ls,
    },
    Command { name: "xenstore-read", usage: "xenstore-read <path>", help: "read a XenStore node", run: xs_read },
    Command {
        name: "xenstore-write",
        usage: "xenstore-write <path> <value>",
        help: "write a XenStore node (as Dom0)",
        run: xs_write,
    },
    Command { name: "xenstore-rm", usage: "xenstore-rm <path>", help: "remove a XenStore subtree", run: xs_rm },
    Command {
        name: "xenstore",
        usage: "xenstore",
        help: "XenStore statistics (nodes, watches, connections)",
        run: xs_stats,
    },
    Command { name: "selftest", usage: "selftest", help: "exercise each Xen interface against Xen", run: selftest },
    Command { name: "dt", usage: "dt", help: "what the device tree told thindom", run: dt },
    Command { name: "poweroff", usage: "poweroff", help: "shut down Dom0 and the machine", run: poweroff },
    Command {
        name: "reboot",
        usage: "reboot [[-F] <dom>]",
        help: "reboot a domain (like xl reboot), or the machine",
        run: reboot,
    },
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
    toolstack::name(id)
}

fn list(boot: &Boot, _: &[String]) {
    if !boot.require_interface("list") {
        return;
    }
    match xen().domains() {
        Ok(d) => crate::print!("{}", fmt::list(&d, &domain_name)),
        Err(e) => println!("list: XEN_SYSCTL_getdomaininfolist failed: {e}"),
    }
}

fn info(boot: &Boot, _: &[String]) {
    if !boot.require_interface("info") {
        return;
    }
    let r = (|| {
        let p = xen().physinfo()?;
        let v = xen().version_info()?;
        let s = xen().sched_id()?;
        let d0 = xen().domains()?.into_iter().find(|d| d.domid == 0).unwrap_or_default();
        let extra = fmt::HostExtra {
            // What `uname` would say of Dom0, as xl prints it.
            host: "thindom".into(),
            release: env!("CARGO_PKG_VERSION").into(),
            version: format!("thindom {} (no_std Rust Dom0)", env!("CARGO_PKG_VERSION")),
            machine: "aarch64".into(),
            free_cpus: xen().free_cpus(p.max_cpu_id).ok(),
            sharing_freed_pages: xen().sharing_freed_pages()?,
            sharing_used_frames: xen().sharing_used_frames()?,
            dom0_mem_kib: d0.mem_kib(),
            dom0_vcpus: d0.nr_online_vcpus,
        };
        Ok::<_, xen_hyp::Errno>(fmt::info(&p, &v, s, &extra))
    })();
    match r {
        Ok(s) => crate::print!("{s}"),
        Err(e) => println!("info: {e}"),
    }
}

/// Most of Xen's console ring `dmesg` reads (Xen's default ring is 16 KiB;
/// `conring_size=` can make it larger).
const DMESG_MAX: usize = 1 << 20;

fn dmesg(boot: &Boot, args: &[String]) {
    if !boot.require_interface("dmesg") {
        return;
    }
    let clear = args.iter().any(|a| a == "-c");
    // Read first, print after: with `console_to_ring` what we print goes
    // into the ring too, and reading while printing would never end.
    match xen().read_console_all(DMESG_MAX, clear) {
        Ok(bytes) => {
            let mut w = console::RawWriter::new();
            let _ = core::fmt::Write::write_str(&mut w, &String::from_utf8_lossy(&bytes));
        }
        Err(e) => println!("dmesg: XEN_SYSCTL_readconsole failed: {e}"),
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
    describe_platform(&boot.platform);
}

fn poweroff(_: &Boot, _: &[String]) {
    println!("thindom: powering off");
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_POWEROFF);
}

fn reboot(boot: &Boot, args: &[String]) {
    if !args.is_empty() {
        if boot.require_interface("reboot") {
            shutdown_domain("reboot", args, xen_abi::sched::SHUTDOWN_REBOOT);
        }
        return;
    }
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

fn selftest(boot: &Boot, _: &[String]) {
    if boot.require_interface("selftest") {
        crate::selftest::run();
    }
}

/// Runs `f` on the domain named by `arg` (name or id), printing errors.
fn with_domain(cmd: &str, arg: &str, f: impl FnOnce(u16) -> Result<(), String>) {
    match toolstack::with(|ts| ts.find(arg)).flatten() {
        Some(id) => {
            if let Err(e) = f(id) {
                println!("{cmd}: {e}");
            }
        }
        None => println!("{cmd}: no domain {arg:?}"),
    }
}

/// Runs a toolstack operation that can fail.
fn on_toolstack<T>(f: impl FnOnce(&mut toolstack::Ts) -> Result<T, String>) -> Result<T, String> {
    toolstack::with(f).unwrap_or_else(|| Err("no toolstack".into()))
}

fn one_domain_arg<'a>(cmd: &str, args: &'a [String]) -> Option<&'a str> {
    match args {
        [d] => Some(d.as_str()),
        _ => {
            println!("usage: {cmd} <dom>");
            None
        }
    }
}

fn create(boot: &Boot, args: &[String]) {
    if !boot.require_interface("create") {
        return;
    }
    let paused = args.iter().any(|a| a == "-p");
    let attach = args.iter().any(|a| a == "-c");
    let rest: alloc::vec::Vec<&String> = args.iter().filter(|a| *a != "-p" && *a != "-c").collect();
    let Some((cfg, overrides)) = rest.split_first() else {
        return println!("usage: create <cfg> [-p] [-c] [key=value..]");
    };
    println!("Parsing config from {cfg}");
    let ov: alloc::vec::Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    match toolstack::with(|ts| ts.create(cfg, &ov, paused)).unwrap_or_else(|| Err("no toolstack".into())) {
        Ok(id) => {
            println!("Started domain {} (id={id}){}", toolstack::name(id), if paused { ", paused" } else { "" });
            if attach {
                let _ = terminal::attach(id);
            }
        }
        Err(e) => println!("create: {e}"),
    }
}

fn destroy(boot: &Boot, args: &[String]) {
    if !boot.require_interface("destroy") {
        return;
    }
    if let Some(d) = one_domain_arg("destroy", args) {
        with_domain("destroy", d, |id| on_toolstack(|ts| ts.destroy(id)));
    }
}

fn shutdown(boot: &Boot, args: &[String]) {
    if !boot.require_interface("shutdown") {
        return;
    }
    shutdown_domain("shutdown", args, xen_abi::sched::SHUTDOWN_POWEROFF);
}

/// `shutdown`/`reboot [-F] <dom>`, printing what xl prints.
fn shutdown_domain(cmd: &str, args: &[String], reason: u32) {
    let force = args.iter().any(|a| a == "-F");
    let rest: alloc::vec::Vec<String> = args.iter().filter(|a| *a != "-F").cloned().collect();
    let Some(d) = one_domain_arg(cmd, &rest) else { return };
    let what = if reason == xen_abi::sched::SHUTDOWN_REBOOT { "Rebooting" } else { "Shutting down" };
    with_domain(cmd, d, |id| {
        let how = on_toolstack(|ts| ts.shutdown(id, reason, force))?;
        println!("{what} domain {id} ({how})");
        Ok(())
    });
}

fn pause(boot: &Boot, args: &[String]) {
    if !boot.require_interface("pause") {
        return;
    }
    if let Some(d) = one_domain_arg("pause", args) {
        with_domain("pause", d, |id| on_toolstack(|ts| ts.pause(id)));
    }
}

fn unpause(boot: &Boot, args: &[String]) {
    if !boot.require_interface("unpause") {
        return;
    }
    if let Some(d) = one_domain_arg("unpause", args) {
        with_domain("unpause", d, |id| on_toolstack(|ts| ts.unpause(id)));
    }
}

fn console_cmd(boot: &Boot, args: &[String]) {
    if !boot.require_interface("console") {
        return;
    }
    if let Some(d) = one_domain_arg("console", args) {
        with_domain("console", d, terminal::attach);
    }
}

fn config_list(_: &Boot, _: &[String]) {
    println!("{:<24} {:<9} {:<16} {:>6} {:>5}", "Config", "Source", "Name", "Mem", "VCPUs");
    for c in toolstack::with(|ts| ts.disk().configs()).unwrap_or_default() {
        match xlcfg::DomainConfig::from_text(&c.text) {
            Ok(d) => println!(
                "{:<24} {:<9} {:<16} {:>6} {:>5}{}",
                c.name,
                c.source,
                d.name,
                d.memory_mib,
                d.vcpus,
                if d.autostart { "  autostart" } else { "" }
            ),
            Err(e) => println!("{:<24} {:<9} error: {e}", c.name, c.source),
        }
    }
}

/// A request to XenStore as Dom0.
fn xs<T>(
    f: impl FnOnce(
        &mut xenstore::daemon::Daemon<toolstack::MappedPage>,
        &mut toolstack::KMachine,
    ) -> Result<T, xenstore::XsError>,
) -> Result<T, xenstore::XsError> {
    toolstack::store(f).unwrap_or(Err(xenstore::XsError::EIO))
}

fn xs_ls_rec(path: &str, depth: usize, budget: &mut usize) {
    let Ok(children) = xs(|s, m| s.directory(m, path)) else { return };
    for c in children {
        if *budget == 0 {
            return println!("... (truncated)");
        }
        *budget -= 1;
        let full = if path == "/" { format!("/{c}") } else { format!("{path}/{c}") };
        let v = xs(|s, m| s.read(m, &full)).map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
        let perms = xs(|s, m| s.get_perms(m, &full)).unwrap_or_default();
        println!("{:indent$}{c} = \"{v}\"  ({perms})", "", indent = depth);
        xs_ls_rec(&full, depth + 1, budget);
    }
}

fn xs_ls(_: &Boot, args: &[String]) {
    let path = args.first().map_or("/", |s| s.as_str());
    if let Err(e) = xs(|s, m| s.directory(m, path)) {
        return println!("xenstore-ls: {path}: {e}");
    }
    let mut budget = 2000;
    xs_ls_rec(path, 0, &mut budget);
}

fn xs_read(_: &Boot, args: &[String]) {
    let [path] = args else { return println!("usage: xenstore-read <path>") };
    match xs(|s, m| s.read(m, path)) {
        Ok(v) => println!("{}", String::from_utf8_lossy(&v)),
        Err(e) => println!("xenstore-read: {path}: {e}"),
    }
}

fn xs_write(_: &Boot, args: &[String]) {
    let [path, value] = args else { return println!("usage: xenstore-write <path> <value>") };
    if let Err(e) = xs(|s, m| s.write(m, path, value)) {
        println!("xenstore-write: {path}: {e}");
    }
}

fn xs_rm(_: &Boot, args: &[String]) {
    let [path] = args else { return println!("usage: xenstore-rm <path>") };
    if let Err(e) = xs(|s, m| s.rm(m, path)) {
        println!("xenstore-rm: {path}: {e}");
    }
}

fn xs_stats(_: &Boot, _: &[String]) {
    let (n, w, c) = toolstack::store(|s, _| s.stats()).unwrap_or_default();
    println!("xenstore: {n} nodes, {w} watches, {c} connections");
}
