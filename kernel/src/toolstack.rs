//! The toolstack: domains thindom created, with their configuration,
//! console and lifecycle (`create`, `destroy`, `shutdown`, `reboot`,
//! `pause`, `unpause`, and the `on_*` actions on `VIRQ_DOM_EXC`).

use crate::consoled::GuestConsole;
use crate::{bootdisk, guestmem::ForeignWriter, xen::xen, xenstored};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use builder::{GicVersion, GuestSpec, Iomem};
use xen_abi::{sched, DomId};
use xen_hyp::Domctls;
use xlcfg::{Action, DomainConfig, GicChoice};

/// A domain thindom built.
#[derive(Debug)]
pub struct Domain {
    pub id: DomId,
    /// The UUID: Xen's domain handle and `/vm/<uuid>`.
    pub uuid: [u8; 16],
    pub cfg: DomainConfig,
    /// How it was created (for `on_*=restart`).
    pub source: (String, Vec<String>),
    pub console: GuestConsole,
    /// The shutdown already acted on (reason), so it is handled once.
    pub handled: Option<u32>,
}

static DOMS: spin::Mutex<BTreeMap<DomId, Domain>> = spin::Mutex::new(BTreeMap::new());

/// Host facts the builder needs.
#[derive(Debug, Clone)]
pub struct Host {
    pub gic: u8,
    pub xen_version: String,
    /// Boot entropy from the device tree (may be empty).
    pub seed: Vec<u8>,
}

static HOST: spin::Once<Host> = spin::Once::new();

pub fn init(host: Host) {
    HOST.call_once(|| host);
}

fn resolve(cfg_name: &str, path: &str) -> String {
    match (path.starts_with('/'), cfg_name.rsplit_once('/')) {
        (false, Some((dir, _))) => format!("{dir}/{path}"),
        _ => path.trim_start_matches('/').to_string(),
    }
}

/// `create <cfg> [key=value...]`: builds, connects the console, unpauses
/// unless `paused`. Returns the new domid.
pub fn create(name: &str, overrides: &[String], paused: bool) -> Result<DomId, String> {
    create_with_uuid(name, overrides, paused, None)
}

/// [`create`], keeping `uuid` when a domain is restarted (as xl does).
fn create_with_uuid(name: &str, overrides: &[String], paused: bool, uuid: Option<[u8; 16]>) -> Result<DomId, String> {
    let src = bootdisk::config(name).ok_or_else(|| format!("no configuration {name:?} (see config-list)"))?;
    // The shell strips quotes: `key=word` means the string "word".
    let quoted: Vec<String> = overrides
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) if !v.starts_with(['"', '\'', '[']) && !v.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
            }
            _ => o.clone(),
        })
        .collect();
    let ov: Vec<&str> = quoted.iter().map(String::as_str).collect();
    let cfg = DomainConfig::from_text_with(&src.text, &ov).map_err(|e| format!("{}: {e}", src.name))?;
    if let Some(d) = DOMS.lock().values().find(|d| d.cfg.name == cfg.name) {
        return Err(format!("domain {:?} already exists (id {})", cfg.name, d.id));
    }
    let kpath = resolve(&src.name, &cfg.kernel);
    let kernel = bootdisk::file(&kpath).ok_or_else(|| format!("kernel {kpath:?} not found in the boot ramdisk"))?;
    let ramdisk = match &cfg.ramdisk {
        Some(r) => {
            let p = resolve(&src.name, r);
            Some(bootdisk::file(&p).ok_or_else(|| format!("ramdisk {p:?} not found in the boot ramdisk"))?)
        }
        None => None,
    };
    let partial_dt = match &cfg.device_tree {
        Some(d) => {
            let p = resolve(&src.name, d);
            Some(bootdisk::file(&p).ok_or_else(|| format!("device_tree {p:?} not found in the boot ramdisk"))?)
        }
        None => None,
    };
    let host = HOST.get().ok_or("toolstack not initialised")?;
    let gic = match (cfg.gic, host.gic) {
        (GicChoice::V2, _) | (GicChoice::Native, 2) => GicVersion::V2,
        _ => GicVersion::V3,
    };
    let handle = uuid.unwrap_or_else(new_uuid);
    let iomem: Vec<Iomem> = cfg.iomem.iter().map(|i| Iomem { mfn: i.mfn, nr: i.nr, gfn: i.gfn }).collect();
    let spec = GuestSpec {
        name: &cfg.name,
        memory_mib: cfg.memory_mib,
        max_memory_mib: cfg.maxmem_mib,
        vcpus: cfg.vcpus,
        gic,
        cmdline: &cfg.cmdline,
        kernel,
        ramdisk,
        max_grant_frames: cfg.max_grant_frames.map_or(-1, |n| n as i32),
        max_maptrack_frames: cfg.max_maptrack_frames.map_or(-1, |n| n as i32),
        iomem: &iomem,
        irqs: &cfg.irqs,
        dtdev: &cfg.dtdev,
        partial_dt,
        xen_version: &host.xen_version,
        handle,
    };
    let built = builder::build(xen(), &mut ForeignWriter, &spec, 0).map_err(|e| e.to_string())?;
    let id = built.domid;
    let console = match GuestConsole::connect(id, built.console_gfn, built.console_port) {
        Ok(c) => c,
        Err(e) => {
            let _ = xen().destroy_domain(id);
            return Err(format!("{e} (domain {id} destroyed)"));
        }
    };
    let dom = Domain { id, uuid: handle, cfg, source: (name.to_string(), overrides.to_vec()), console, handled: None };
    let store = store_entries(&dom, &built).and_then(|_| xenstored::introduce(id, built.store_gfn, built.store_port));
    DOMS.lock().insert(id, dom);
    if let Err(e) = store {
        // Half-written entries go too: release only cleans up after an
        // introduced domain.
        let _ = xenstored::rm(&format!("/local/domain/{id}"));
        let _ = destroy(id);
        return Err(format!("xenstore: {e} (domain {id} destroyed)"));
    }
    if !paused {
        if let Err(e) = xen().unpause_domain(id) {
            let _ = destroy(id);
            return Err(format!("unpausedomain: {e} (domain {id} destroyed)"));
        }
    }
    Ok(id)
}

/// Destroys a domain and releases everything thindom holds for it.
pub fn destroy(id: DomId) -> Result<(), String> {
    if id == 0 {
        return Err("refusing to destroy Domain-0".into());
    }
    let name = name(id);
    if let Some(mut d) = DOMS.lock().remove(&id) {
        d.console.close();
        let _ = xenstored::rm(&format!("/vm/{}", uuid_text(&d.uuid)));
    }
    xenstored::release(id);
    xen().destroy_domain(id).map_err(|e| format!("destroydomain {id}: {e}"))?;
    // destroydomain returns once Xen has taken the memory back; the domain
    // itself, and what it holds (passed-through IRQs above all), goes an
    // RCU grace period later. Wait for that, so a destroyed domain's
    // resources can be used again at once (a restart with passthrough).
    if wait_gone(id) {
        log::info!("domain {id} ({name}) destroyed");
    } else {
        log::warn!("domain {id} ({name}) destroyed, but Xen still lists it after {GONE_WAIT_MS} ms");
    }
    Ok(())
}

/// How long [`destroy`] waits for Xen to finish tearing a domain down.
const GONE_WAIT_MS: u64 = 5000;

/// Waits until Xen has completed the destruction of `id`: it is off the
/// domain list (getdomaininfo: ESRCH), then `complete_domain_destroy` runs
/// after an RCU grace period, releases its IRQs and raises `VIRQ_DOM_EXC`.
/// The VIRQ raised by destroydomain itself (`domain_kill`) may coalesce
/// with that one, so: drain what is pending, wait for the domain to leave
/// the list, then give the final VIRQ [`FINAL_VIRQ_MS`] to come. Bounded
/// by [`GONE_WAIT_MS`]; the event loop still sees the VIRQ.
fn wait_gone(id: DomId) -> bool {
    const MS: u64 = 1_000_000;
    let gone = || matches!(xen().domain_info(id), Err(e) if e == xen_hyp::Errno::ESRCH);
    let port = crate::kmain::dom_exc_port();
    let ports: &[u32] = port.as_slice();
    let _ = crate::evtchn::wait(ports, Some(MS));
    let mut left = false;
    for _ in 0..GONE_WAIT_MS {
        if gone() {
            left = true;
            break;
        }
        let _ = crate::evtchn::wait(ports, Some(MS));
    }
    if left {
        let _ = crate::evtchn::wait(ports, Some(FINAL_VIRQ_MS * MS));
    }
    if let Some(p) = port {
        crate::evtchn::requeue(p);
    }
    left
}

/// How long [`wait_gone`] waits for the final `VIRQ_DOM_EXC` once the
/// domain left the list (the RCU grace period, milliseconds here).
const FINAL_VIRQ_MS: u64 = 200;

/// Asks a domain to shut down (`reason` = poweroff or reboot) as xl does:
/// through its PV control interface (`control/shutdown`, which the guest
/// watches) when it advertises `control/feature-poweroff`/`-reboot`; with
/// `force` and no PV control, Xen shuts it down (`SCHEDOP_remote_shutdown`).
/// Returns what was done.
pub fn shutdown(id: DomId, reason: u32, force: bool) -> Result<&'static str, String> {
    if id == 0 {
        return Err("refusing to shut down Domain-0 (use poweroff)".into());
    }
    let (word, feature) = match reason {
        sched::SHUTDOWN_REBOOT => ("reboot", "feature-reboot"),
        _ => ("poweroff", "feature-poweroff"),
    };
    let control = format!("/local/domain/{id}/control");
    let pv = xenstored::read(&format!("{control}/{feature}")).is_ok_and(|v| v == b"1");
    if pv {
        xenstored::write(&format!("{control}/shutdown"), word)
            .map_err(|e| format!("writing {control}/shutdown: {e}"))?;
        return Ok("asked through its PV control interface");
    }
    if !force {
        return Err(format!(
            "PV control interface not available (no {control}/{feature}): graceful {word} not possible; use -F to have Xen {word} it"
        ));
    }
    xen().remote_shutdown(id, reason).map_err(|e| format!("remote_shutdown {id}: {e}"))?;
    Ok("forced by Xen (no PV control interface)")
}

pub fn pause(id: DomId) -> Result<(), String> {
    xen().pause_domain(id).map_err(|e| format!("pausedomain {id}: {e}"))
}

pub fn unpause(id: DomId) -> Result<(), String> {
    xen().unpause_domain(id).map_err(|e| format!("unpausedomain {id}: {e}"))
}

/// A domain by name or id.
pub fn find(arg: &str) -> Option<DomId> {
    if let Some(d) = DOMS.lock().values().find(|d| d.cfg.name == arg) {
        return Some(d.id);
    }
    if arg == "Domain-0" {
        return Some(0);
    }
    let id: DomId = arg.parse().ok()?;
    xen().domains().ok()?.iter().any(|d| d.domid == id).then_some(id)
}

/// The name of a domain.
pub fn name(id: DomId) -> String {
    match id {
        0 => "Domain-0".into(),
        _ => DOMS.lock().get(&id).map_or_else(|| format!("(domain {id})"), |d| d.cfg.name.clone()),
    }
}

/// Console ports of all guests.
pub fn ports() -> Vec<u32> {
    DOMS.lock().values().filter(|d| !d.console.broken).map(|d| d.console.port).collect()
}

/// A console notification on `port`: drains it; returns the domain.
pub fn on_port(port: u32) -> Option<DomId> {
    let mut doms = DOMS.lock();
    let d = doms.values_mut().find(|d| d.console.port == port)?;
    d.console.drain(d.id);
    Some(d.id)
}

/// Drains every guest's console ring into its log.
pub fn drain_all() {
    for d in DOMS.lock().values_mut() {
        d.console.drain(d.id);
    }
}

/// Console output of `id` from log offset `from`.
pub fn console_since(id: DomId, from: u64) -> Option<(u64, Vec<u8>)> {
    DOMS.lock().get(&id).map(|d| d.console.log.since(from))
}

/// `(log end, dropped)` of `id`'s console.
pub fn console_stats(id: DomId) -> Option<(u64, u64)> {
    DOMS.lock().get(&id).map(|d| (d.console.log.end(), d.console.log.dropped()))
}

/// Typed input for `id`'s console; returns how many bytes fit.
pub fn console_input(id: DomId, bytes: &[u8]) -> usize {
    DOMS.lock().get_mut(&id).map_or(0, |d| d.console.input(bytes))
}

/// `VIRQ_DOM_EXC`: applies `on_poweroff`/`on_reboot`/`on_crash` to guests
/// that shut down, and forgets guests that vanished.
pub fn on_dom_exc() {
    let Ok(all) = xen().domains() else { return };
    let mut todo = Vec::new();
    {
        let mut doms = DOMS.lock();
        doms.retain(|id, d| {
            let alive = all.iter().any(|i| i.domid == *id);
            if !alive {
                log::info!("domain {id} ({}) is gone", d.cfg.name);
                d.console.close();
                let _ = xenstored::rm(&format!("/vm/{}", uuid_text(&d.uuid)));
                xenstored::release(*id);
            }
            alive
        });
        for info in &all {
            let Some(d) = doms.get_mut(&info.domid) else { continue };
            let Some(reason) = info.shutdown_reason() else { continue };
            if d.handled == Some(reason) {
                continue;
            }
            d.handled = Some(reason);
            d.console.drain(d.id);
            let (what, action) = match reason {
                sched::SHUTDOWN_POWEROFF => ("powered off", d.cfg.on_poweroff),
                sched::SHUTDOWN_REBOOT => ("rebooted", d.cfg.on_reboot),
                sched::SHUTDOWN_CRASH => ("crashed", d.cfg.on_crash),
                sched::SHUTDOWN_WATCHDOG => ("was stopped by its watchdog", d.cfg.on_watchdog),
                sched::SHUTDOWN_SUSPEND => {
                    // xl leaves a suspended domain alone (a save or
                    // migration would pick it up).
                    log::info!("domain {} ({}) suspended: left as it is", d.id, d.cfg.name);
                    continue;
                }
                _ => ("shut down", d.cfg.on_poweroff),
            };
            log::info!("domain {} ({}) {what}: {}", d.id, d.cfg.name, action.as_str());
            todo.push((d.id, action, d.source.clone(), d.uuid));
        }
    }
    for (id, action, source, uuid) in todo {
        // Watchers of @releaseDomain learn of it before the action runs.
        xenstored::shutdown(id);
        apply(id, action, source, uuid);
    }
}

/// Carries out an `on_*` action for domain `id`, as xl does.
fn apply(id: DomId, action: Action, (name, ov): (String, Vec<String>), uuid: [u8; 16]) {
    let restart = |keep: Option<[u8; 16]>| match create_with_uuid(&name, &ov, false, keep) {
        Ok(n) => log::info!("{name}: restarted as domain {n}"),
        Err(e) => log::error!("{name}: restart failed: {e}"),
    };
    match action {
        Action::Preserve => {}
        Action::Destroy => report(destroy(id)),
        Action::Restart => {
            report(destroy(id));
            restart(Some(uuid));
        }
        Action::RenameRestart => {
            // The old domain stays (for inspection) under a new name; the
            // new one takes over the configured name. (xl also moves the
            // UUID to the new domain; here the old one keeps its UUID and
            // `/vm` entry, and the new one gets a fresh UUID.)
            let old = rename_preserved(id);
            log::info!("domain {id} preserved as {old}");
            restart(None);
        }
        Action::CoredumpDestroy | Action::CoredumpRestart => {
            log::warn!("domain {id}: thindom has no core dumps (nowhere to write them); not dumped");
            report(destroy(id));
            if action == Action::CoredumpRestart {
                restart(Some(uuid));
            }
        }
        Action::SoftReset => {
            // XEN_DOMCTL_soft_reset is not implemented for Arm in 4.17.
            log::warn!("domain {id}: soft reset is not supported on Arm; restarting instead");
            report(destroy(id));
            restart(Some(uuid));
        }
    }
}

fn report(r: Result<(), String>) {
    if let Err(e) = r {
        log::error!("{e}");
    }
}

/// Renames a domain to `<name>-<id>` (xl's `preserve_domain`); returns
/// the new name.
fn rename_preserved(id: DomId) -> String {
    let mut doms = DOMS.lock();
    let Some(d) = doms.get_mut(&id) else { return format!("(domain {id})") };
    d.cfg.name = format!("{}-{id}", d.cfg.name);
    let (name, vm) = (d.cfg.name.clone(), format!("/vm/{}", uuid_text(&d.uuid)));
    drop(doms);
    for p in [format!("/local/domain/{id}/name"), format!("{vm}/name")] {
        if let Err(e) = xenstored::write(&p, &name) {
            log::warn!("renaming domain {id}: {p}: {e}");
        }
    }
    name
}

static CREATED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// splitmix64's output function: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A version-4 UUID. Dom0 has no RNG: its bits come from the boot entropy
/// QEMU/firmware left in the DT (`rng-seed`, different at every boot),
/// the counter and the creation count, mixed. Unique per creation within a
/// boot in any case; different across boots when the DT has a seed.
fn new_uuid() -> [u8; 16] {
    let n = CREATED.fetch_add(1, core::sync::atomic::Ordering::Relaxed) + 1;
    let seed = HOST.get().map_or(&[][..], |h| h.seed.as_slice());
    let mut acc = mix(n ^ crate::arch::cpu::counter().rotate_left(32));
    for chunk in seed.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        acc = mix(acc ^ u64::from_le_bytes(w));
    }
    let (hi, lo) = (mix(acc ^ 0x5555), mix(acc.wrapping_add(n)));
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&hi.to_be_bytes());
    u[8..].copy_from_slice(&lo.to_be_bytes());
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn uuid_text(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// The `/local/domain/N` and `/vm/<uuid>` entries libxl 4.17 writes
/// (`libxl__domain_make`, `libxl__build_post`, `libxl__device_console_add`),
/// with its permissions: `ro` = owned by Dom0, readable by the guest
/// (`n0 rN`); `rw` = owned by the guest (`nN`): the nodes its PV drivers
/// write (control/feature-*, data, ...).
fn store_entries(d: &Domain, b: &builder::Built) -> Result<(), String> {
    let id = d.id;
    let home = format!("/local/domain/{id}");
    let vm = format!("/vm/{}", uuid_text(&d.uuid));
    let (ro0, ro1, rw0) = ("n0".to_string(), format!("r{id}"), format!("n{id}"));
    let ro: &[&str] = &[&ro0, &ro1];
    let rw: &[&str] = &[&rw0];
    let kib = d.cfg.memory_mib * 1024;
    let mut entries: Vec<(String, String, &[&str])> = Vec::new();
    let mut put = |sub: &str, value: String, perms| entries.push((format!("{home}{sub}"), value, perms));
    put("", String::new(), ro);
    put("/vm", vm.clone(), ro);
    put("/name", d.cfg.name.clone(), ro);
    put("/domid", id.to_string(), ro);
    put("/cpu", String::new(), ro);
    for cpu in 0..d.cfg.vcpus {
        put(&format!("/cpu/{cpu}/availability"), "online".into(), ro);
    }
    put("/memory", String::new(), ro);
    put("/memory/static-max", (d.cfg.maxmem_mib * 1024).to_string(), ro);
    put("/memory/target", kib.to_string(), ro);
    put("/device", String::new(), ro);
    put("/device/suspend/event-channel", String::new(), rw);
    put("/control", String::new(), ro);
    for node in ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"] {
        put(&format!("/control/{node}"), String::new(), rw);
    }
    put("/control/platform-feature-multiprocessor-suspend", "1".into(), ro);
    put("/control/platform-feature-xs_reset_watches", "1".into(), ro);
    for node in ["data", "drivers", "feature", "attr", "error"] {
        put(&format!("/{node}"), String::new(), rw);
    }
    put("/store/port", b.store_port.to_string(), ro);
    put("/store/ring-ref", b.store_gfn.to_string(), ro);
    put("/console/backend-id", "0".into(), ro);
    put("/console/limit", xencons::DEFAULT_LOG_LIMIT.to_string(), ro);
    put("/console/type", "xenconsoled".into(), ro);
    put("/console/output", "thindom".into(), ro);
    put("/console/tty", String::new(), ro);
    put("/console/port", b.console_port.to_string(), ro);
    put("/console/ring-ref", b.console_gfn.to_string(), ro);
    entries.push((vm.clone(), String::new(), ro));
    entries.push((format!("{vm}/name"), d.cfg.name.clone(), ro));
    entries.push((format!("{vm}/uuid"), uuid_text(&d.uuid), ro));
    for (p, value, perms) in entries {
        xenstored::write(&p, &value).map_err(|e| format!("writing {p}: {e}"))?;
        xenstored::set_perms(&p, perms).map_err(|e| format!("permissions of {p}: {e}"))?;
    }
    Ok(())
}
