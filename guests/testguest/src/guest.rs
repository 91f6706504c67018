//! Boot, console, and the test actions.

use crate::console::{console, Console};
use crate::store::Store;
use crate::xen::{clear_pending, xen, SHARED_INFO};
use aarch64_rt::heap::{CountingHeap, StaticArena};
use aarch64_rt::{entry, mmu, trap};
use xen_abi::{arch_arm as g, hvm, sched, DOMID_SELF};
use xen_hyp::HvmParams;
use xencons::SharedPage as Shared;

#[global_allocator]
static HEAP: CountingHeap = CountingHeap::new();
static ARENA: StaticArena<{ 128 * 1024 }> = StaticArena::new();

/// How long `action=xsbench` waits for Dom0 to take its console output
/// before powering off.
const CONSOLE_DRAIN_SECS: u64 = 5;

fn shutdown(reason: u32) -> ! {
    loop {
        let _ = xen().shutdown(reason);
    }
}

#[no_mangle]
extern "C" fn rust_start(dtb: usize, _base: usize, _bad: usize) -> ! {
    let (start, end) = entry::image_range();
    // SAFETY: first Rust code, MMU off; RAM, DTB and the magic pages are
    // the only memory this guest touches.
    unsafe {
        mmu::enable_early(&[
            (start as u64, (end - start) as u64),
            (dtb as u64, 2 << 20),
            (g::GUEST_MAGIC_BASE, g::GUEST_MAGIC_SIZE),
        ])
    };
    if let Some(mem) = ARENA.take() {
        HEAP.claim(mem);
    }
    let param = |i| xen().get_param(DOMID_SELF, i).unwrap_or(0);
    let (con_pfn, con_port) = (param(hvm::HVM_PARAM_CONSOLE_PFN), param(hvm::HVM_PARAM_CONSOLE_EVTCHN));
    // SAFETY: single-threaded boot, before any output.
    unsafe { crate::console::set((con_pfn << 12) as usize, con_port as u32) };
    // SAFETY: Xen passes the DTB address in x0; the builder puts the DTB in
    // RAM, which is mapped; its header gives the size.
    let head = unsafe { core::slice::from_raw_parts(dtb as *const u8, 8) };
    let size = platform::header_total_size(head).unwrap_or(8).min(64 << 10);
    // SAFETY: as above, for `size` bytes.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, size) };
    let p = match platform::Platform::parse(blob) {
        Ok(p) => p,
        Err(e) => {
            say!("testguest: bad device tree: {e}");
            shutdown(sched::SHUTDOWN_CRASH)
        }
    };
    let mem = p.memory.first().map_or((0, 0), |m| (m.base, m.size >> 20));
    let gic = p.gic.as_ref().map_or(0, |g| g.version());
    let hyp = p.hypervisor.as_ref().map_or((0, 0), |h| (h.grant_table.base, h.evtchn_intid));
    say!("testguest: hello from a Rust guest on Xen");
    say!(
        "testguest: memory {:#x} {} MiB, {} vcpu(s), GICv{gic}, grant table {:#x}, evtchn PPI {}",
        mem.0,
        mem.1,
        p.cpus,
        hyp.0,
        hyp.1
    );
    say!("testguest: bootargs \"{}\"", p.bootargs);
    let store_port = param(hvm::HVM_PARAM_STORE_EVTCHN) as u32;
    let store = store_checks(param(hvm::HVM_PARAM_STORE_PFN), store_port);
    let action = p.bootargs.split_whitespace().find_map(|w| w.strip_prefix("action=")).unwrap_or("poweroff");
    match action {
        "reboot" => {
            say!("testguest: rebooting");
            shutdown(sched::SHUTDOWN_REBOOT)
        }
        "crash" => {
            say!("testguest: crashing on purpose");
            // SAFETY: deliberately faults; the handler reports and shuts down.
            unsafe { core::ptr::read_volatile(0xdead_0000_0000 as *const u64) };
            shutdown(sched::SHUTDOWN_CRASH)
        }
        "echo" => echo(store.map(|s| (s, store_port))),
        "flood" => flood(),
        "hostile" => crate::hostile::run(store.map(|s| (s, store_port)), &p.bootargs),
        "xsbench" => {
            let mut store = store;
            crate::xsbench::run(store.as_mut(), &p.bootargs);
            say!("testguest: powering off");
            crate::console::drain(CONSOLE_DRAIN_SECS);
            shutdown(sched::SHUTDOWN_POWEROFF)
        }
        _ => {
            say!("testguest: powering off");
            shutdown(sched::SHUTDOWN_POWEROFF)
        }
    }
}

fn store_checks(pfn: u64, port: u32) -> Option<Store> {
    if pfn == 0 {
        say!("testguest: no xenstore");
        return None;
    }
    let mut s = crate::store::connect((pfn << 12) as usize, port);
    match s.read_string(0, "domid") {
        Ok(id) => say!("testguest: xenstore domid = {id}"),
        Err(e) => {
            say!("testguest: xenstore read domid failed: {e}");
            return None;
        }
    }
    match s.read_string(0, "name") {
        Ok(n) => say!("testguest: xenstore name = {n}"),
        Err(e) => say!("testguest: xenstore read name failed: {e}"),
    }
    let greet = s.transaction(|c, tx| {
        c.write(tx, "data/greeting", b"hello-from-testguest")?;
        c.read_string(tx, "data/greeting")
    });
    match greet {
        Ok(v) => say!("testguest: xenstore wrote and read back data/greeting = {v}"),
        Err(e) => say!("testguest: xenstore write failed: {e}"),
    }
    match s.read_string(0, "/local/domain/0/name") {
        Ok(v) => say!("testguest: xenstore read of Dom0's name was allowed?! ({v})"),
        Err(e) => say!("testguest: xenstore read of Dom0's name refused: {e}"),
    }
    Some(s)
}

/// The PV control interface, as Linux's `drivers/xen/manage.c` does it:
/// advertise poweroff and reboot, watch `control/shutdown`.
fn pv_control(s: &mut Store) -> Result<(), xenstore::XsError> {
    s.write(0, "control/feature-poweroff", b"1")?;
    s.write(0, "control/feature-reboot", b"1")?;
    s.watch("control/shutdown", "shutdown")
}

/// Acts on a request in `control/shutdown` ("poweroff", "reboot").
fn check_shutdown_request(s: &mut Store) {
    let reason = match s.read_string(0, "control/shutdown").as_deref() {
        Ok("poweroff") => sched::SHUTDOWN_POWEROFF,
        Ok("reboot") => sched::SHUTDOWN_REBOOT,
        _ => return,
    };
    let _ = s.write(0, "control/shutdown", b"");
    say!(
        "testguest: shutdown requested through control/shutdown: {}",
        if reason == sched::SHUTDOWN_REBOOT { "reboot" } else { "poweroff" }
    );
    shutdown(reason)
}

/// Echoes console input, a line at a time, until "quit", and obeys
/// shutdown requests from the toolstack. Sleeps in `SCHEDOP_poll` on the
/// console and store channels between events (no CPU burnt while idle).
fn echo(mut store: Option<(Store, u32)>) -> ! {
    say!("testguest: echo mode, type quit to power off");
    let (addr, con_port) = console();
    // SAFETY: the console page is RAM of ours, mapped for our lifetime.
    let page = unsafe { Shared::new(addr) };
    let blocking = xen().add_to_physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 0, SHARED_INFO.pfn()).is_ok();
    if let Some((s, _)) = store.as_mut() {
        match pv_control(s) {
            Ok(()) => say!("testguest: PV control: watching control/shutdown"),
            Err(e) => say!("testguest: PV control unavailable: {e}"),
        }
        check_shutdown_request(s);
    }
    let ports = [con_port, store.as_ref().map_or(con_port, |(_, p)| *p)];
    let mut line = alloc::string::String::new();
    loop {
        if blocking {
            ports.iter().for_each(|&p| clear_pending(p));
        }
        if let Some((s, _)) = store.as_mut() {
            if s.transport().has_input() {
                check_shutdown_request(s);
            }
        }
        let mut buf = [0u8; 64];
        let n = xencons::read_input(&page, &mut buf).unwrap_or(0);
        if n == 0 {
            // Wakes on the next console input or store message.
            let _ = if blocking { xen().poll(&ports, 0) } else { xen().yield_cpu() };
            continue;
        }
        for &b in &buf[..n] {
            if b == b'\r' || b == b'\n' {
                say!("testguest: echo: {line}");
                if line.trim() == "quit" {
                    say!("testguest: powering off");
                    shutdown(sched::SHUTDOWN_POWEROFF);
                }
                line.clear();
            } else if line.len() < 256 {
                line.push(b as char);
            }
        }
    }
}

/// Writes console output as fast as it can, forever (tests Dom0's bounds).
fn flood() -> ! {
    let mut i = 0u64;
    loop {
        say!("testguest: flood line {i} ................................................");
        i += 1;
    }
}

#[no_mangle]
extern "C" fn exception_handler(frame: &mut trap::TrapFrame, kind: u64) {
    trap::report(&mut Console, frame, kind);
    say!("*** testguest: shutting down (SHUTDOWN_crash)");
    shutdown(sched::SHUTDOWN_CRASH)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("*** testguest panic: {info}");
    shutdown(sched::SHUTDOWN_CRASH)
}
