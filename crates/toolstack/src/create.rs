//! `create`: configuration → builder → console → XenStore → unpause, with
//! everything undone when a step fails.

use crate::uuid::{new_uuid, uuid_text};
use crate::{Domain, Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use builder::timing::Phases;
use builder::{GicVersion, GuestMemory, GuestSpec, Iomem, Step};
use xen_abi::DomId;
use xen_hyp::Errno;
use xencons::GuestConsole;
use xlcfg::{DomainConfig, GicChoice};

/// How often a build that found a passed-through IRQ busy is tried again,
/// and how long it waits for Xen's teardown each time.
const BUSY_IRQ_RETRIES: u32 = 4;
const BUSY_IRQ_WAIT_MS: u64 = 500;

/// The node under the domain's `/vm/<uuid>` (where libxl keeps what it
/// knows of the VM; it goes when the domain does) in which a create
/// leaves where its time went, on the machine's counter: `<cfg> <domid>
/// paused|running <total> ms: <phase> <ms>, ...`, in counter ticks
/// instead of ms when the machine does not know the counter's frequency.
/// Dom0's only (`n0`); `xenstore-read` shows it, `cargo xtask bench
/// domain` reads it. Writing it makes no hypercall, so it cannot fail a
/// create.
pub const TIMING_KEY: &str = "create-timing";

fn is_busy_irq(e: &builder::BuildError) -> bool {
    e.step == Step::Irqs && e.cause == builder::create::Cause::Xen(Errno::EBUSY)
}

/// The machine as the builder's guest memory, timing the build's steps
/// on the machine's counter.
struct Timed<'a, M> {
    machine: &'a mut M,
    phases: &'a mut Phases,
}

impl<M: Machine> Timed<'_, M> {
    fn enter(&mut self, phase: &'static str) {
        self.phases.enter(phase, self.machine.counter());
    }
}

impl<M: Machine> GuestMemory for Timed<'_, M> {
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        self.machine.write(dom, gpa, data)
    }
    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        self.machine.zero(dom, gpa, len)
    }
    fn step(&mut self, step: Step) {
        self.enter(step.tag());
    }
}

/// Builds `spec`. A passed-through IRQ that Xen still holds for a
/// domain destroyed just before (Xen releases IRQs in
/// `complete_domain_destroy`, an RCU grace period after the domain left
/// its list; destroy waits for that, bounded, and under load the grace
/// period can outlast the wait) makes the build fail with EBUSY: then
/// it waits for `VIRQ_DOM_EXC` and tries again, a bounded number of
/// times. (The failed build destroyed its half-built domain.)
fn build_retrying_busy_irqs<X: Hypervisor, M: Machine>(
    x: &X,
    mem: &mut Timed<'_, M>,
    spec: &GuestSpec<'_>,
) -> Result<builder::Built, String> {
    let mut tries = BUSY_IRQ_RETRIES;
    loop {
        match builder::build(x, mem, spec, 0) {
            Ok(b) => return Ok(b),
            Err(e) if is_busy_irq(&e) && tries > 0 => {
                tries -= 1;
                log::info!("{}: an IRQ is still held for a destroyed domain; waiting and trying again", spec.name);
                mem.enter("busy-irq wait");
                mem.machine.wait_dom_exc(BUSY_IRQ_WAIT_MS);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// A path from a configuration, relative to the configuration's folder
/// unless absolute (the boot disk's root).
fn resolve(cfg_name: &str, path: &str) -> String {
    match (path.starts_with('/'), cfg_name.rsplit_once('/')) {
        (false, Some((dir, _))) => format!("{dir}/{path}"),
        _ => path.trim_start_matches('/').to_string(),
    }
}

/// `key=value` overrides as typed at the shell, which strips quotes:
/// `key=word` means the string "word"; numbers, lists and quoted values
/// pass as they are.
pub fn quote_overrides(overrides: &[String]) -> Vec<String> {
    overrides
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) if !v.starts_with(['"', '\'', '[']) && !v.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
            }
            _ => o.clone(),
        })
        .collect()
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// `create <cfg> [key=value...]`: builds, connects the console and the
    /// store, unpauses unless `paused`. Returns the new domid.
    pub fn create(&mut self, name: &str, overrides: &[String], paused: bool) -> Result<DomId, String> {
        self.create_with_uuid(name, overrides, paused, None)
    }

    /// Creates every configuration marked `autostart = 1`: driver domains
    /// first, then the others, each group in boot-disk order (a domain's
    /// disks wait for their driver domain's agent); returns each one's
    /// name and what became of it.
    pub fn autostart(&mut self) -> Vec<(String, Result<DomId, String>)> {
        let mut auto: Vec<(bool, String)> = self
            .disk
            .configs()
            .into_iter()
            // Only a file that names the key can set it: the others are
            // not parsed at boot (a boot ramdisk holds many).
            .filter(|c| c.text.contains("autostart"))
            .filter_map(|c| {
                DomainConfig::from_text(&c.text).ok().filter(|d| d.autostart).map(|d| (!d.driver_domain, c.name))
            })
            .collect();
        auto.sort_by_key(|(later, _)| *later);
        auto.into_iter().map(|(_, name)| (name.clone(), self.create(&name, &[], false))).collect()
    }

    /// [`Toolstack::create`], keeping `uuid` when a domain is restarted
    /// (as xl does). A create that succeeds leaves its phases' times in
    /// `/vm/<uuid>/`[`TIMING_KEY`].
    pub(crate) fn create_with_uuid(
        &mut self,
        name: &str,
        overrides: &[String],
        paused: bool,
        uuid: Option<[u8; 16]>,
    ) -> Result<DomId, String> {
        let mut phases = Phases::new("config", self.machine.counter());
        let id = self.create_phases(name, overrides, paused, uuid, &mut phases)?;
        let timing = phases.finish(self.machine.counter());
        let state = if paused { "paused" } else { "running" };
        let text = format!("{name} {id} {state} {}", timing.display(self.machine.counter_hz()));
        if let Some(uuid) = self.doms.get(&id).map(|d| d.uuid) {
            let path = format!("/vm/{}/{TIMING_KEY}", uuid_text(&uuid));
            let written = self.store.write(&mut self.machine, &path, &text);
            if let Err(e) = written.and_then(|_| self.store.set_perms(&mut self.machine, &path, &["n0"])) {
                log::warn!("writing {path}: {e}");
            }
        }
        Ok(id)
    }

    fn create_phases(
        &mut self,
        name: &str,
        overrides: &[String],
        paused: bool,
        uuid: Option<[u8; 16]>,
        phases: &mut Phases,
    ) -> Result<DomId, String> {
        let src = self.disk.config(name).ok_or_else(|| format!("no configuration {name:?} (see config-list)"))?;
        let quoted = quote_overrides(overrides);
        let ov: Vec<&str> = quoted.iter().map(String::as_str).collect();
        let cfg = DomainConfig::from_text_with(&src.text, &ov).map_err(|e| format!("{}: {e}", src.name))?;
        if let Some(d) = self.doms.values().find(|d| d.cfg.name == cfg.name) {
            return Err(format!("domain {:?} already exists (id {})", cfg.name, d.id));
        }
        // Devices are checked before anything is built: a bad spec or a
        // missing driver domain costs no hypercall.
        for d in &cfg.disks {
            crate::devices::Vbd::from_spec(d)?;
            self.backend_domid(&format!("disk {}", d.vdev), d.backend.as_deref())?;
        }
        let vifs = self.check_vifs(&cfg.name, &cfg.vifs)?;
        let file = |what: &str, p: &str| {
            let p = resolve(&src.name, p);
            self.disk.file(&p).ok_or_else(|| format!("{what} {p:?} not found in the boot ramdisk"))
        };
        let kernel = file("kernel", &cfg.kernel)?;
        let ramdisk = cfg.ramdisk.as_deref().map(|r| file("ramdisk", r)).transpose()?;
        let partial_dt = cfg.device_tree.as_deref().map(|d| file("device_tree", d)).transpose()?;
        let gic = match (cfg.gic, self.host.gic) {
            (GicChoice::V2, _) | (GicChoice::Native, 2) => GicVersion::V2,
            _ => GicVersion::V3,
        };
        self.created += 1;
        let handle = uuid.unwrap_or_else(|| new_uuid(self.created, self.machine.counter(), &self.host.seed));
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
            xen_version: &self.host.xen_version,
            handle,
        };
        let built = build_retrying_busy_irqs(self.xen, &mut Timed { machine: &mut self.machine, phases }, &spec)?;
        let id = built.domid;
        phases.enter("console", self.machine.counter());
        let console = match GuestConsole::connect(&mut self.machine, id, built.console_gfn, built.console_port) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.xen.destroy_domain(id);
                return Err(format!("{e} (domain {id} destroyed)"));
            }
        };
        let source = (name.to_string(), overrides.to_vec());
        let disks = cfg.disks.clone();
        let dom = Domain { id, uuid: handle, cfg, source, console, handled: None, devices: Vec::new() };
        phases.enter("xenstore", self.machine.counter());
        let store = self
            .store_entries(&dom, &built)
            .and_then(|_| self.store.introduce(&mut self.machine, id, built.store_gfn, built.store_port));
        self.doms.insert(id, dom);
        if let Err(e) = store {
            // Half-written entries go too: release only cleans up after an
            // introduced domain.
            let _ = self.store.rm(&mut self.machine, &format!("/local/domain/{id}"));
            let _ = self.destroy(id);
            return Err(format!("xenstore: {e} (domain {id} destroyed)"));
        }
        if !(disks.is_empty() && vifs.is_empty()) {
            phases.enter("devices", self.machine.counter());
        }
        for d in &disks {
            if let Err(e) = self.attach_disk(id, d) {
                let _ = self.destroy(id);
                return Err(format!("{e} (domain {id} destroyed)"));
            }
        }
        for (v, backend) in &vifs {
            if let Err(e) = self.attach_vif(id, v, *backend) {
                let _ = self.destroy(id);
                return Err(format!("{e} (domain {id} destroyed)"));
            }
        }
        if !paused {
            phases.enter("unpause", self.machine.counter());
            if let Err(e) = self.xen.unpause_domain(id) {
                let _ = self.destroy(id);
                return Err(format!("unpausedomain: {e} (domain {id} destroyed)"));
            }
        }
        Ok(id)
    }

    /// The `/local/domain/N` and `/vm/<uuid>` entries libxl 4.17 writes
    /// (`libxl__domain_make`, `libxl__build_post`,
    /// `libxl__device_console_add`), with its permissions: `ro` = owned by
    /// Dom0, readable by the guest (`n0 rN`); `rw` = owned by the guest
    /// (`nN`): the nodes its PV drivers write (control/feature-*, data, ...).
    fn store_entries(&mut self, d: &Domain<M::Page>, b: &builder::Built) -> Result<(), String> {
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
            self.store.write(&mut self.machine, &p, &value).map_err(|e| format!("writing {p}: {e}"))?;
            self.store.set_perms(&mut self.machine, &p, perms).map_err(|e| format!("permissions of {p}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod timing_tests {
    use super::TIMING_KEY;
    use crate::tests::{ramdisk, read, sim, toolstack, Ts};

    fn timing(ts: &mut Ts<'_>, id: u16) -> String {
        let vm = read(ts, &format!("/local/domain/{id}/vm")).unwrap();
        read(ts, &format!("{vm}/{TIMING_KEY}")).unwrap()
    }

    /// Each create leaves its phases, in order, beside what the store
    /// knows of the VM, and they go with it; the sim's counter stands
    /// still and its frequency is unknown: all in ticks.
    #[test]
    fn a_create_leaves_its_phases_in_the_store() {
        let (xen, disk) = (sim(), ramdisk());
        let mut ts = toolstack(&xen, &disk);
        let id = ts.create("guest", &[], true).unwrap();
        let phases = "config 0, image 0, dt 0, createdomain 0, domctls 0, populate 0, evtchn+params 0, \
                      magic 0, kernel 0, dtb 0, vcpu 0, console 0, xenstore 0";
        assert_eq!(timing(&mut ts, id), format!("guest {id} paused 0 ticks: {phases}"));
        let two = ts.create("guest", &["name=two".into()], false).unwrap();
        assert_eq!(timing(&mut ts, two), format!("guest {two} running 0 ticks: {phases}, unpause 0"));
        let vm = read(&mut ts, &format!("/local/domain/{id}/vm")).unwrap();
        ts.destroy(id).unwrap();
        assert!(read(&mut ts, &format!("{vm}/{TIMING_KEY}")).is_err(), "it goes with the domain");
    }
}
