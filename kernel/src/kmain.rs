//! Boot sequence and the event loop.

use crate::arch::{boot, entry};
use crate::boot::{summarize_platform, Boot};
use crate::terminal::{self, PROMPT};
use crate::{bootdisk, cmds, console, evtchn, gnttab, heap, input, irq, mm, ts, xen::xen};
use alloc::string::String;
use alloc::vec::Vec;
use platform::Platform;
use shell::{Event, LineEditor};
use xen_abi::event_channel::{VIRQ_CONSOLE, VIRQ_DOM_EXC};
use xen_hyp::dispatch::{RoundRobin, Routes};
use xen_hyp::InterfaceVersions;
use xenstore::daemon::Served;

/// Boot argument that leaves the GIC alone and polls for events
/// (`SCHEDOP_poll`), the fallback when the DT names no usable GIC or PPI:
/// lets tests run the event loop in that mode too.
const POLLED_UPCALLS_ARG: &str = "thindom.upcalls=poll";

#[no_mangle]
extern "C" fn rust_start(dtb: usize, base: usize, bad_relocs: usize) -> ! {
    let (start, end) = entry::image_range();
    let blob = boot::start().unwrap_or_default();
    heap::init_boot_arena();
    crate::step!("start: relocated, .bss cleared, MMU on for the image and the DT");
    crate::xen::set_hook(input::after_hypercall);
    console::init_logger();
    let parsed = Platform::parse(blob);
    console::init_clock(parsed.as_ref().ok().and_then(|p| p.timer.clock_frequency));
    crate::step!("device tree: {} bytes parsed", blob.len());
    println!(
        "thindom {} starting: image at {base:#x} ({} KiB with bss and stack), DT at {dtb:#x}",
        env!("CARGO_PKG_VERSION"),
        (end - start) / 1024
    );
    crate::step!("first line: written");
    if bad_relocs != 0 {
        panic!("{bad_relocs} relocations of an unknown type in the image");
    }
    let platform = match parsed {
        Ok(p) => p,
        Err(e) => panic!("cannot read the device tree Xen passed at {dtb:#x}: {e}"),
    };
    crate::console::set_verbose(platform.bootargs.split_whitespace().any(|w| w == crate::console::VERBOSE_ARG));
    let stats = boot::remap(&|b, l| platform.is_normal_memory(b, l)).unwrap_or_default();
    crate::step!(
        "MMU: identity map, {} GiB normal, {} GiB split into 2 MiB blocks",
        stats.normal_gib_blocks,
        stats.split_gibs
    );
    give_free_ram_to_heap(&platform, (start, end), blob);
    let (versions, pretend) = InterfaceVersions::to_check(&platform.bootargs);
    if let Some(v) = pretend {
        log::warn!("{}{v:#x}: checking Xen's interface as if thindom spoke {v:#x}", InterfaceVersions::PRETEND_ARG);
    }
    let interface_error = xen().check_interface_as(versions).err();
    match &interface_error {
        Some(e) => log::error!("{e}"),
        None => crate::step!("interface: Xen takes our sysctl and domctl versions"),
    }
    let boot = Boot { platform, interface_error };
    summarize_platform(&boot.platform);
    crate::step!("platform: line written");
    init_xen_interfaces(&boot.platform);
    let xen_version = xen().version().map_or_else(|_| String::from("4.17"), |(a, b)| alloc::format!("{a}.{b}"));
    ts::init(
        bootdisk::from_platform(&boot.platform),
        toolstack::HostInfo {
            gic: boot.platform.gic.as_ref().map_or(3, |g| g.version()),
            xen_version,
            seed: boot.platform.seed.clone(),
        },
    );
    crate::step!("toolstack: xenstored and the console daemon set up");
    if boot.interface_error.is_none() {
        for (name, r) in ts::with(|ts| ts.autostart()).unwrap_or_default() {
            match r {
                Ok(id) => log::info!("autostart: {name} is domain {id}"),
                Err(e) => log::error!("autostart: {name}: {e}"),
            }
        }
        crate::step!("autostart: done");
    }
    shell_loop(&boot)
}

/// Gives Dom0's free RAM (all but the image, the DT and the initrd) to
/// the heap.
fn give_free_ram_to_heap(p: &Platform, image: (usize, usize), dtb: &[u8]) {
    let dtb = (dtb.as_ptr() as u64, dtb.as_ptr() as u64 + dtb.len() as u64);
    for (b, e) in p.free_ram(&[(image.0 as u64, image.1 as u64), dtb]) {
        // SAFETY: free RAM of our own banks, mapped Normal by the full map,
        // outside the image, the DT and the initrd: nothing else uses it.
        unsafe { heap::HEAP.add_region(b as usize, (e - b) as usize) };
    }
    crate::step!("heap: {} KiB", heap::stats().total / 1024);
}

/// Sets up event channels, upcalls, grant tables and mapping space.
fn init_xen_interfaces(p: &Platform) {
    if let Err(e) = evtchn::map_shared_info() {
        log::error!("cannot map shared info ({e}): no event channels");
        return;
    }
    let polled = p.bootargs.split_whitespace().any(|w| w == POLLED_UPCALLS_ARG);
    match if polled { Err("thindom.upcalls=poll on the command line") } else { irq::init(p) } {
        Ok(v) => {
            evtchn::set_irq_mode();
            let intid = p.hypervisor.as_ref().map_or(0, |h| h.evtchn_intid);
            crate::step!("upcalls: GICv{v} interrupt {intid}");
        }
        Err(e) => log::warn!("upcalls polled, not by interrupt: {e}"),
    }
    match evtchn::bind_virq(VIRQ_DOM_EXC, "virq:dom_exc") {
        Ok(port) => ts::set_dom_exc_port(port),
        Err(e) => log::error!("cannot bind VIRQ_DOM_EXC: {e}"),
    }
    match gnttab::init(p) {
        Ok((n, max)) => crate::step!("grant table: {n} of at most {max} frames mapped"),
        Err(e) => log::error!("grant table: {e}"),
    }
    match mm::init(p) {
        Ok(pages) => crate::step!("mapping space: {} MiB of extended regions", pages >> 8),
        Err(e) => log::warn!("mapping space: {e}"),
    }
}

/// A service of the event loop: the ports it listens on and what it does
/// with one notification (a bounded amount of work).
struct Service {
    name: &'static str,
    ports: fn() -> Vec<u32>,
    serve: fn(u32),
}

/// Every service, in priority order for a port two of them claim.
const SERVICES: [Service; 4] = [
    // Console input is read at the top of every loop turn; the
    // notification only wakes the loop.
    Service { name: "shell", ports: || console_port().into_iter().collect(), serve: |_| {} },
    Service { name: "dom_exc", ports: || ts::dom_exc_port().into_iter().collect(), serve: |_| on_dom_exc() },
    Service { name: "consoles", ports: || ts::with(|t| t.console_ports()).unwrap_or_default(), serve: on_console },
    Service {
        name: "xenstore",
        ports: || ts::with(|t| t.store_ports()).unwrap_or_default(),
        // Come back for the rest after the others had their turn.
        serve: |p| {
            if ts::with(|t| t.store_event(p)) == Some(Served::More) {
                evtchn::requeue(p);
            }
        },
    },
];

/// The port bound to `VIRQ_CONSOLE`, if any.
fn console_port() -> Option<u32> {
    input::port()
}

/// `VIRQ_DOM_EXC`: the toolstack reports and acts; the terminal shows
/// the attached guest's last words first, and detaches if it is gone.
fn on_dom_exc() {
    let attached = terminal::attached();
    ts::with(|t| {
        t.dom_exc(|t, changes| {
            changes.iter().for_each(|line| log::info!("{line}"));
            attached.into_iter().for_each(|id| terminal::show_since(t, id));
        })
    });
    if attached.is_some_and(|id| ts::with(|t| t.console_stats(id)).flatten().is_none()) {
        terminal::detach("the domain is gone");
    }
}

/// A guest console notification: one bounded drain.
fn on_console(port: u32) {
    if let Some(id) = ts::with(|ts| ts.console_event(port)).flatten() {
        terminal::on_output(id);
    }
}

/// One turn of the event loop: waits for notifications on every service's
/// ports, then serves each port that was pending once, in round-robin
/// order (`xen_hyp::dispatch`), so a guest that notifies without pause
/// cannot starve the shell, another guest's console or XenStore.
/// `timeout_ns` bounds the wait when console input must be polled.
fn serve_events(rr: &mut RoundRobin, timeout_ns: Option<u64>) {
    let routes = Routes::new(SERVICES.iter().enumerate().map(|(i, s)| (i, (s.ports)())));
    let pending = evtchn::wait_all(&routes.ports(), timeout_ns);
    for port in rr.order(&pending) {
        match routes.service(port) {
            Some(i) => (SERVICES[i].serve)(port),
            None => log::warn!("event on port {port}, which no service claims"),
        }
    }
}

fn shell_loop(boot: &Boot) -> ! {
    match evtchn::bind_virq(VIRQ_CONSOLE, "virq:console") {
        Ok(p) => {
            input::set_port(p);
            crate::step!("console input: event channel {p} (VIRQ_CONSOLE)");
        }
        Err(e) => log::warn!("VIRQ_CONSOLE not bound ({e}): console input is polled"),
    }
    log::debug!("event loop services: {:?}", SERVICES.map(|s| s.name));
    ts::with(|ts| ts.refresh_known());
    crate::step!("ready: the shell takes commands");
    println!("Type 'help' for commands.");
    let mut ed = LineEditor::new(PROMPT);
    crate::print!("{PROMPT}");
    let mut rr = RoundRobin::new();
    loop {
        input::drain();
        if take_input(boot, &mut ed) {
            continue;
        }
        // Without VIRQ_CONSOLE, come back every 10 ms to poll for input.
        let timeout = console_port().is_none().then_some(10_000_000);
        serve_events(&mut rr, timeout);
    }
}

/// Gives queued input to the attached guest or the shell, a piece at a
/// time: after a command (which may attach) or Ctrl-] (which detaches)
/// the rest goes where the terminal now points. Returns whether any byte
/// was taken (none: nothing typed, or the guest's queue is full until it
/// reads).
fn take_input(boot: &Boot, ed: &mut LineEditor) -> bool {
    let mut buf = [0u8; 64];
    let n = input::peek(&mut buf);
    if n == 0 {
        return false;
    }
    let used = match terminal::attached() {
        Some(_) => terminal::typed(&buf[..n]),
        None => feed_shell(boot, ed, &buf[..n]),
    };
    input::consume(used);
    if used == 0 && terminal::attached().is_some() {
        // The guest reads nothing and its queue is full: Ctrl-] typed
        // behind what waits still detaches (what waits is dropped).
        if let Some(i) = input::find(shell::terminal::DETACH) {
            input::consume(i + 1);
            terminal::detach("detached from the console");
            return true;
        }
    }
    used > 0
}

/// Feeds typed bytes to the line editor up to the end of the first line
/// run as a command; returns how many bytes it took.
fn feed_shell(boot: &Boot, ed: &mut LineEditor, bytes: &[u8]) -> usize {
    let mut out = console::writer();
    for (i, &b) in bytes.iter().enumerate() {
        match ed.feed(b, &mut out) {
            Event::None => {}
            Event::Interrupt => crate::print!("{PROMPT}"),
            Event::Line(line) => {
                out.flush();
                cmds::execute(boot, &line);
                ts::with(|ts| ts.refresh_known());
                if terminal::attached().is_none() {
                    crate::print!("{PROMPT}");
                }
                return i + 1;
            }
        }
    }
    bytes.len()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut w = console::writer();
    let _ = core::fmt::Write::write_fmt(
        &mut w,
        format_args!("\n*** thindom panic: {info}\n*** thindom: shutting down (SHUTDOWN_crash)\n"),
    );
    drop(w);
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_CRASH)
}
