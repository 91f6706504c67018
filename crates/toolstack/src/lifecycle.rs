//! A domain's life after create: destroy (waiting for Xen's teardown),
//! shutdown and reboot as xl does them, pause/unpause, and the `on_*`
//! actions when `VIRQ_DOM_EXC` says a guest shut down.

use crate::uuid::uuid_text;
use crate::{Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::{sched, DomId};
use xen_hyp::Errno;
use xlcfg::Action;

/// How long [`Toolstack::destroy`] waits for Xen to finish tearing a
/// domain down, in milliseconds.
pub const GONE_WAIT_MS: u64 = 5000;

/// How long [`Toolstack::destroy`] waits for the final `VIRQ_DOM_EXC`
/// once the domain left the list (the RCU grace period, milliseconds
/// here).
pub const FINAL_VIRQ_MS: u64 = 200;

/// What an `on_*` action is about to do.
struct Todo {
    id: DomId,
    action: Action,
    source: (String, Vec<String>),
    uuid: [u8; 16],
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// Forgets `id` and releases what Dom0 holds for it: its console
    /// (channel, mapping), `/vm/<uuid>`, its store connection and home.
    fn forget(&mut self, id: DomId) {
        if let Some(mut d) = self.doms.remove(&id) {
            d.console.close(&mut self.machine);
            let _ = self.store.rm(&mut self.machine, &format!("/vm/{}", uuid_text(&d.uuid)));
        }
        self.store.release(&mut self.machine, id);
    }

    /// Destroys a domain and releases everything thindom holds for it;
    /// returns once Xen has finished tearing it down (bounded).
    pub fn destroy(&mut self, id: DomId) -> Result<(), String> {
        if id == 0 {
            return Err("refusing to destroy Domain-0".into());
        }
        let name = self.name(id);
        // As libxl: paused, its devices and those it serves taken down
        // (backends closed and unmapped, nodes gone), then destroyed.
        let _ = self.xen.pause_domain(id);
        self.take_down_devices(id);
        self.forget(id);
        self.xen.destroy_domain(id).map_err(|e| format!("destroydomain {id}: {e}"))?;
        if self.wait_gone(id) {
            log::info!("domain {id} ({name}) destroyed");
        } else {
            log::warn!("domain {id} ({name}) destroyed, but Xen still lists it after {GONE_WAIT_MS} ms");
        }
        Ok(())
    }

    /// Waits until Xen has completed the destruction of `id`:
    /// destroydomain returns once Xen has taken the memory back, but the
    /// domain itself, and what it holds (passed-through IRQs above all),
    /// goes an RCU grace period later. So: drain what is pending, wait for
    /// the domain to leave the list (getdomaininfo: ESRCH), then give the
    /// final `VIRQ_DOM_EXC` (raised by `complete_domain_destroy`; it may
    /// coalesce with the one destroydomain raised) [`FINAL_VIRQ_MS`] to
    /// come. A destroyed domain's resources can then be used again at once
    /// (a restart with passthrough). Bounded by [`GONE_WAIT_MS`].
    fn wait_gone(&mut self, id: DomId) -> bool {
        self.machine.wait_dom_exc(1);
        let mut left = false;
        for _ in 0..GONE_WAIT_MS {
            if matches!(self.xen.domain_info(id), Err(Errno::ESRCH)) {
                left = true;
                break;
            }
            self.machine.wait_dom_exc(1);
        }
        if left {
            self.machine.wait_dom_exc(FINAL_VIRQ_MS);
        }
        self.machine.requeue_dom_exc();
        left
    }

    /// Asks a domain to shut down (`reason` = poweroff or reboot) as xl
    /// does: through its PV control interface (`control/shutdown`, which
    /// the guest watches) when it advertises `control/feature-poweroff` /
    /// `-reboot`; with `force` and no PV control, Xen shuts it down
    /// (`SCHEDOP_remote_shutdown`). Returns what was done.
    pub fn shutdown(&mut self, id: DomId, reason: u32, force: bool) -> Result<&'static str, String> {
        if id == 0 {
            return Err("refusing to shut down Domain-0 (use poweroff)".into());
        }
        let (word, feature) = match reason {
            sched::SHUTDOWN_REBOOT => ("reboot", "feature-reboot"),
            _ => ("poweroff", "feature-poweroff"),
        };
        let control = format!("/local/domain/{id}/control");
        let pv = self.store.read(&mut self.machine, &format!("{control}/{feature}")).is_ok_and(|v| v == b"1");
        if pv {
            self.store
                .write(&mut self.machine, &format!("{control}/shutdown"), word)
                .map_err(|e| format!("writing {control}/shutdown: {e}"))?;
            return Ok("asked through its PV control interface");
        }
        if !force {
            return Err(format!(
                "PV control interface not available (no {control}/{feature}): graceful {word} not possible; \
                 use -F to have Xen {word} it"
            ));
        }
        self.xen.shut_down(id, reason).map_err(|e| format!("remote_shutdown {id}: {e}"))?;
        Ok("forced by Xen (no PV control interface)")
    }

    pub fn pause(&mut self, id: DomId) -> Result<(), String> {
        self.xen.pause_domain(id).map_err(|e| format!("pausedomain {id}: {e}"))
    }

    pub fn unpause(&mut self, id: DomId) -> Result<(), String> {
        self.xen.unpause_domain(id).map_err(|e| format!("unpausedomain {id}: {e}"))
    }

    /// `VIRQ_DOM_EXC`: forgets guests that vanished and applies
    /// `on_poweroff`/`on_reboot`/`on_crash`/`on_watchdog` to guests that
    /// shut down (once per shutdown).
    pub fn on_dom_exc(&mut self) {
        let Ok(all) = self.xen.domain_list() else { return };
        let gone: Vec<DomId> = self.doms.keys().copied().filter(|id| !all.iter().any(|i| i.domid == *id)).collect();
        for id in gone {
            log::info!("domain {id} ({}) is gone", self.name(id));
            self.take_down_devices(id);
            self.forget(id);
        }
        let mut todo = Vec::new();
        for info in &all {
            let Some(d) = self.doms.get_mut(&info.domid) else { continue };
            let Some(reason) = info.shutdown_reason() else { continue };
            if d.handled == Some(reason) {
                continue;
            }
            d.handled = Some(reason);
            d.console.drain(&mut self.machine, d.id);
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
            todo.push(Todo { id: d.id, action, source: d.source.clone(), uuid: d.uuid });
        }
        for t in todo {
            // Watchers of @releaseDomain learn of it before the action runs.
            self.store.shutdown(&mut self.machine, t.id);
            self.apply(t);
        }
    }

    /// Carries out an `on_*` action, as xl does.
    fn apply(&mut self, t: Todo) {
        let Todo { id, action, source: (name, ov), uuid } = t;
        let restart = |ts: &mut Self, keep: Option<[u8; 16]>| match ts.create_with_uuid(&name, &ov, false, keep) {
            Ok(n) => log::info!("{name}: restarted as domain {n}"),
            Err(e) => log::error!("{name}: restart failed: {e}"),
        };
        match action {
            Action::Preserve => {}
            Action::Destroy => report(self.destroy(id)),
            Action::Restart => {
                report(self.destroy(id));
                restart(self, Some(uuid));
            }
            Action::RenameRestart => {
                // The old domain stays (for inspection) under a new name;
                // the new one takes over the configured name. (xl also
                // moves the UUID to the new domain; here the old one keeps
                // its UUID and `/vm` entry, and the new one gets a fresh
                // UUID.)
                let old = self.rename_preserved(id);
                log::info!("domain {id} preserved as {old}");
                restart(self, None);
            }
            Action::CoredumpDestroy | Action::CoredumpRestart => {
                log::warn!("domain {id}: thindom has no core dumps (nowhere to write them); not dumped");
                report(self.destroy(id));
                if action == Action::CoredumpRestart {
                    restart(self, Some(uuid));
                }
            }
            Action::SoftReset => {
                // XEN_DOMCTL_soft_reset is not implemented for Arm in 4.17.
                log::warn!("domain {id}: soft reset is not supported on Arm; restarting instead");
                report(self.destroy(id));
                restart(self, Some(uuid));
            }
        }
    }

    /// Renames a domain to `<name>-<id>` (xl's `preserve_domain`); returns
    /// the new name.
    fn rename_preserved(&mut self, id: DomId) -> String {
        let Some(d) = self.doms.get_mut(&id) else { return format!("(domain {id})") };
        d.cfg.name = format!("{}-{id}", d.cfg.name);
        let (name, vm) = (d.cfg.name.clone(), format!("/vm/{}", uuid_text(&d.uuid)));
        for p in [format!("/local/domain/{id}/name"), format!("{vm}/name")] {
            if let Err(e) = self.store.write(&mut self.machine, &p, &name) {
                log::warn!("renaming domain {id}: {p}: {e}");
            }
        }
        name
    }
}

fn report(r: Result<(), String>) {
    if let Err(e) = r {
        log::error!("{e}");
    }
}
