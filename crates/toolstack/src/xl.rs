//! The `xl`-shaped commands over a [`Toolstack`]: argument parsing, usage
//! errors and what `xl` prints, written to any `fmt::Write`, so the
//! shell's behaviour is tested on the host. The kernel's shell dispatches
//! to [`Toolstack::xl`] and acts on the returned [`Outcome`] (attaching
//! the terminal to a console is the terminal's business).

use crate::{Hypervisor, Machine, Toolstack};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use xen_abi::{sched, DomId};

/// One command: its name, usage line, help text, and whether it issues
/// sysctls/domctls (refused when Xen's interface is not ours).
#[derive(Debug, Clone, Copy)]
pub struct XlCommand {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
    pub needs_xen: bool,
}

const fn cmd(name: &'static str, usage: &'static str, help: &'static str, needs_xen: bool) -> XlCommand {
    XlCommand { name, usage, help, needs_xen }
}

/// The commands, in `help` order.
pub const COMMANDS: &[XlCommand] = &[
    cmd("version", "version", "Xen version, extraversion, changeset, capabilities", false),
    cmd("info", "info", "host and Xen information (like xl info)", true),
    cmd("list", "list", "list domains (like xl list)", true),
    cmd("dmesg", "dmesg [-c]", "Xen's console ring (like xl dmesg); -c clears it", true),
    cmd(
        "create",
        "create <cfg> [-p] [-c] [k=v..]",
        "create a domain (like xl create; -p paused, -c attach the console)",
        true,
    ),
    cmd("destroy", "destroy <dom>", "destroy a domain at once", true),
    cmd(
        "shutdown",
        "shutdown [-F] <dom>",
        "ask a domain to power off (PV control; -F: Xen forces it if it has none)",
        true,
    ),
    cmd("reboot", "reboot [[-F] <dom>]", "reboot a domain (like xl reboot), or the machine", true),
    cmd("pause", "pause <dom>", "pause a domain", true),
    cmd("unpause", "unpause <dom>", "unpause a domain", true),
    cmd("console", "console <dom>", "attach to a domain's console (Ctrl-] detaches)", true),
    cmd(
        "block-attach",
        "block-attach <dom> <disk-spec>",
        "attach a disk served by a driver domain (xl disk syntax)",
        true,
    ),
    cmd("block-detach", "block-detach <dom> <vdev>", "detach a disk", true),
    cmd("block-list", "block-list <dom>...", "list a domain's disks (like xl block-list)", true),
    cmd(
        "network-attach",
        "network-attach <dom> <vif-spec>",
        "attach a network interface served by a driver domain (xl vif syntax)",
        true,
    ),
    cmd("network-detach", "network-detach <dom> <devid|mac>", "detach a network interface", true),
    cmd("network-list", "network-list <dom>...", "list a domain's network interfaces (like xl network-list)", true),
    cmd("config-list", "config-list", "domain configurations (boot ramdisk and built-in)", false),
    cmd("xenstore-ls", "xenstore-ls [path]", "list a XenStore subtree with values and permissions", false),
    cmd("xenstore-read", "xenstore-read <path>", "read a XenStore node", false),
    cmd("xenstore-write", "xenstore-write <path> <value>", "write a XenStore node (as Dom0)", false),
    cmd("xenstore-rm", "xenstore-rm <path>", "remove a XenStore subtree", false),
    cmd("xenstore", "xenstore", "XenStore statistics (nodes, watches, connections)", false),
];

/// Most of Xen's console ring `dmesg` reads (Xen's default ring is 16 KiB;
/// `conring_size=` can make it larger).
pub const DMESG_MAX: usize = 1 << 20;

/// Nodes `xenstore-ls` prints at most.
pub const LS_BUDGET: usize = 2000;

/// What the shell does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more.
    Done,
    /// Attach the terminal to this domain's console.
    Attach(DomId),
}

/// `-p`, `-c`, `-F` and the rest.
fn flags<'a>(args: &'a [String], known: &[&str]) -> (Vec<&'a str>, Vec<&'a str>) {
    args.iter().map(String::as_str).partition(|a| known.contains(a))
}

impl<X: Hypervisor, M: Machine> Toolstack<'_, X, M> {
    /// Runs `xl`-shaped command `name`; `None` if it is not one of
    /// [`COMMANDS`] (or `reboot` without a domain: the machine's).
    pub fn xl(&mut self, out: &mut dyn Write, name: &str, args: &[String]) -> Option<Outcome> {
        let mut o = Out(out);
        let r = match name {
            "version" => match self.xen.version_info() {
                Ok(v) => {
                    o.text(&shell::format::version(&v));
                    Ok(())
                }
                Err(e) => Err(format!("version: xen_version failed: {e}")),
            },
            "info" => self.xl_info(&mut o),
            "list" => self.xl_list(&mut o),
            "dmesg" => {
                // Read first, print after: with `console_to_ring` what is
                // printed goes into the ring too.
                let clear = args.iter().any(|a| a == "-c");
                match self.xen.console_ring(DMESG_MAX, clear) {
                    Ok(bytes) => {
                        o.text(&String::from_utf8_lossy(&bytes));
                        Ok(())
                    }
                    Err(e) => Err(format!("dmesg: XEN_SYSCTL_readconsole failed: {e}")),
                }
            }
            "create" => return Some(self.xl_create(&mut o, args)),
            "destroy" => self.on_domain(&mut o, "destroy", args, |ts, id| ts.destroy(id)),
            "shutdown" => self.xl_shutdown(&mut o, "shutdown", args, sched::SHUTDOWN_POWEROFF),
            "reboot" if !args.is_empty() => self.xl_shutdown(&mut o, "reboot", args, sched::SHUTDOWN_REBOOT),
            "pause" => self.on_domain(&mut o, "pause", args, |ts, id| ts.pause(id)),
            "unpause" => self.on_domain(&mut o, "unpause", args, |ts, id| ts.unpause(id)),
            "console" => {
                let id = self.one_domain(&mut o, "console", args);
                return Some(id.map_or(Outcome::Done, Outcome::Attach));
            }
            "block-attach" => self.xl_block_attach(&mut o, args),
            "block-detach" => match args {
                [d, vdev] => match self.find(d) {
                    Some(id) => self.detach_disk(id, vdev).map_err(|e| format!("Error: {e}")),
                    None => Err(format!("block-detach: no domain {d:?}")),
                },
                _ => Err("usage: block-detach <dom> <vdev>".into()),
            },
            "block-list" => self.xl_block_list(&mut o, args),
            "network-attach" => self.xl_network_attach(args),
            "network-detach" => match args {
                [d, which] => match self.find(d) {
                    Some(id) => self.detach_nic(id, which),
                    None => Err(format!("network-detach: no domain {d:?}")),
                },
                _ => Err("usage: network-detach <dom> <devid|mac>".into()),
            },
            "network-list" => self.xl_network_list(&mut o, args),
            "config-list" => self.xl_config_list(&mut o),
            "xenstore-ls" => self.xs_ls(&mut o, args),
            "xenstore-read" => self.xs_read(&mut o, args),
            "xenstore-write" => self.xs_write(&mut o, args),
            "xenstore-rm" => self.xs_rm(&mut o, args),
            "xenstore" => {
                let (n, w, c) = self.store.stats();
                o.line(format_args!("xenstore: {n} nodes, {w} watches, {c} connections"));
                Ok(())
            }
            _ => return None,
        };
        if let Err(e) = r {
            o.line(format_args!("{e}"));
        }
        Some(Outcome::Done)
    }

    fn xl_list(&mut self, o: &mut Out<'_>) -> Result<(), String> {
        let d = self.xen.domain_list().map_err(|e| format!("list: XEN_SYSCTL_getdomaininfolist failed: {e}"))?;
        o.text(&shell::format::list(&d, &|id| self.name(id)));
        Ok(())
    }

    fn xl_info(&mut self, o: &mut Out<'_>) -> Result<(), String> {
        let r = (|| {
            let x = self.xen;
            let p = x.physinfo()?;
            let v = x.version_info()?;
            let s = x.sched_id()?;
            let d0 = x.domain_list()?.into_iter().find(|d| d.domid == 0).unwrap_or_default();
            let (freed, used) = x.sharing()?;
            let version = env!("CARGO_PKG_VERSION");
            let extra = shell::format::HostExtra {
                // What `uname` would say of Dom0, as xl prints it.
                host: "thindom".into(),
                release: version.into(),
                version: format!("thindom {version} (no_std Rust Dom0)"),
                machine: "aarch64".into(),
                free_cpus: x.free_cpus(p.max_cpu_id).ok(),
                sharing_freed_pages: freed,
                sharing_used_frames: used,
                dom0_mem_kib: d0.mem_kib(),
                dom0_vcpus: d0.nr_online_vcpus,
            };
            Ok::<_, xen_hyp::Errno>(shell::format::info(&p, &v, s, &extra))
        })();
        o.text(&r.map_err(|e| format!("info: {e}"))?);
        Ok(())
    }

    fn xl_create(&mut self, o: &mut Out<'_>, args: &[String]) -> Outcome {
        let (fl, rest) = flags(args, &["-p", "-c"]);
        let (paused, attach) = (fl.contains(&"-p"), fl.contains(&"-c"));
        let Some((cfg, overrides)) = rest.split_first() else {
            o.line(format_args!("usage: create <cfg> [-p] [-c] [key=value..]"));
            return Outcome::Done;
        };
        o.line(format_args!("Parsing config from {cfg}"));
        let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        match self.create(cfg, &ov, paused) {
            Ok(id) => {
                let name = self.name(id);
                o.line(format_args!("Started domain {name} (id={id}){}", if paused { ", paused" } else { "" }));
                if attach {
                    return Outcome::Attach(id);
                }
            }
            Err(e) => o.line(format_args!("create: {e}")),
        }
        Outcome::Done
    }

    /// The one `<dom>` argument, looked up; prints usage or "no domain".
    fn one_domain(&self, o: &mut Out<'_>, cmd: &str, args: &[String]) -> Option<DomId> {
        let [d] = args else {
            o.line(format_args!("usage: {cmd} <dom>"));
            return None;
        };
        let id = self.find(d);
        if id.is_none() {
            o.line(format_args!("{cmd}: no domain {d:?}"));
        }
        id
    }

    fn on_domain(
        &mut self,
        o: &mut Out<'_>,
        cmd: &str,
        args: &[String],
        f: impl FnOnce(&mut Self, DomId) -> Result<(), String>,
    ) -> Result<(), String> {
        match self.one_domain(o, cmd, args) {
            Some(id) => f(self, id).map_err(|e| format!("{cmd}: {e}")),
            None => Ok(()),
        }
    }

    /// `shutdown`/`reboot [-F] <dom>`, printing what xl prints.
    fn xl_shutdown(&mut self, o: &mut Out<'_>, cmd: &str, args: &[String], reason: u32) -> Result<(), String> {
        let (fl, rest) = flags(args, &["-F"]);
        let rest: Vec<String> = rest.into_iter().map(String::from).collect();
        let what = if reason == sched::SHUTDOWN_REBOOT { "Rebooting" } else { "Shutting down" };
        let Some(id) = self.one_domain(o, cmd, &rest) else { return Ok(()) };
        let how = self.shutdown(id, reason, !fl.is_empty()).map_err(|e| format!("{cmd}: {e}"))?;
        o.line(format_args!("{what} domain {id} ({how})"));
        Ok(())
    }

    /// `block-attach <dom> <disk-spec>`: the spec may be split over words
    /// (as the shell splits it); they are joined with commas as xl does.
    fn xl_block_attach(&mut self, _: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        let [d, spec @ ..] = args else { return Err("usage: block-attach <dom> <disk-spec>".into()) };
        if spec.is_empty() {
            return Err("usage: block-attach <dom> <disk-spec>".into());
        }
        let id = self.find(d).ok_or_else(|| format!("block-attach: no domain {d:?}"))?;
        let spec = xlcfg::parse_disk(&spec.join(",")).map_err(|e| format!("block-attach: {e}"))?;
        self.attach_disk(id, &spec).map(drop).map_err(|e| format!("block-attach: {e}"))
    }

    /// `block-list <dom>...`, with xl's columns.
    fn xl_block_list(&mut self, o: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        if args.is_empty() {
            return Err("usage: block-list <dom>...".into());
        }
        o.line(format_args!(
            "{:<5} {:<3} {:<6} {:<5} {:<6} {:<8} {:<30}",
            "Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path"
        ));
        for d in args {
            let Some(id) = self.find(d) else {
                o.line(format_args!("{d} is an invalid domain identifier"));
                continue;
            };
            for (devid, be, fe, state, evtch, rref, path) in self.block_rows(id) {
                o.line(format_args!("{devid:<5} {be:<3} {fe:<6} {state:<5} {evtch:<6} {rref:<8} {path:<30}"));
            }
        }
        Ok(())
    }

    /// `network-attach <dom> <vif-spec>`: xl takes the spec's `key=value`
    /// pairs as separate words; they are joined with commas.
    fn xl_network_attach(&mut self, args: &[String]) -> Result<(), String> {
        let usage = || "usage: network-attach <dom> <vif-spec>".to_string();
        let [d, spec @ ..] = args else { return Err(usage()) };
        let id = self.find(d).ok_or_else(|| format!("network-attach: no domain {d:?}"))?;
        let spec = xlcfg::parse_vif(&spec.join(",")).map_err(|e| format!("network-attach: {e}"))?;
        self.attach_nic(id, &spec).map(drop).map_err(|e| format!("network-attach: {e}"))
    }

    /// `network-list <dom>...`, with xl's columns.
    fn xl_network_list(&mut self, o: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        if args.is_empty() {
            return Err("usage: network-list <dom>...".into());
        }
        o.line(format_args!(
            "{:<3} {:<2} {:<17} {:<6} {:<5} {:<6} {:>5}/{:<5} {:<30}",
            "Idx", "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path"
        ));
        for d in args {
            let Some(id) = self.find(d) else {
                o.line(format_args!("{d} is an invalid domain identifier"));
                continue;
            };
            for r in self.nic_rows(id) {
                o.line(format_args!(
                    "{:<3} {:<2} {}{:>6} {:>5} {:>6} {:>5}/{:<11} {:<30}",
                    r.devid, r.backend, r.mac, r.devid, r.state, r.evtch, r.tx_ring_ref, r.rx_ring_ref, r.backend_path
                ));
            }
        }
        Ok(())
    }

    fn xl_config_list(&mut self, o: &mut Out<'_>) -> Result<(), String> {
        o.line(format_args!("{:<24} {:<9} {:<16} {:>6} {:>5}", "Config", "Source", "Name", "Mem", "VCPUs"));
        for c in self.disk.configs() {
            match xlcfg::DomainConfig::from_text(&c.text) {
                Ok(d) => o.line(format_args!(
                    "{:<24} {:<9} {:<16} {:>6} {:>5}{}",
                    c.name,
                    c.source,
                    d.name,
                    d.memory_mib,
                    d.vcpus,
                    if d.autostart { "  autostart" } else { "" }
                )),
                Err(e) => o.line(format_args!("{:<24} {:<9} error: {e}", c.name, c.source)),
            }
        }
        Ok(())
    }

    fn xs_ls(&mut self, o: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        let path = args.first().map_or("/", |s| s.as_str());
        self.store.directory(&mut self.machine, path).map_err(|e| format!("xenstore-ls: {path}: {e}"))?;
        let mut budget = Some(LS_BUDGET);
        self.xs_ls_rec(o, path, 0, &mut budget);
        Ok(())
    }

    /// `budget`: nodes left to print; `None` once the truncation is said.
    fn xs_ls_rec(&mut self, o: &mut Out<'_>, path: &str, depth: usize, budget: &mut Option<usize>) {
        let Ok(children) = self.store.directory(&mut self.machine, path) else { return };
        for c in children {
            match budget {
                None => return,
                Some(0) => {
                    *budget = None;
                    return o.line(format_args!("... (truncated)"));
                }
                Some(n) => *n -= 1,
            }
            let full = if path == "/" { format!("/{c}") } else { format!("{path}/{c}") };
            // Values are escaped: a guest's cannot drive the terminal.
            let v = self.store.read(&mut self.machine, &full).map(|v| shell::format::escape_value(&v));
            let perms = self.store.get_perms(&mut self.machine, &full).unwrap_or_default();
            o.line(format_args!("{:indent$}{c} = \"{}\"  ({perms})", "", v.unwrap_or_default(), indent = depth));
            self.xs_ls_rec(o, &full, depth + 1, budget);
        }
    }

    fn xs_read(&mut self, o: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        let [path] = args else { return Err("usage: xenstore-read <path>".into()) };
        let v = self.store.read(&mut self.machine, path).map_err(|e| format!("xenstore-read: {path}: {e}"))?;
        o.line(format_args!("{}", shell::format::escape_value(&v)));
        Ok(())
    }

    fn xs_write(&mut self, _: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        let [path, value] = args else { return Err("usage: xenstore-write <path> <value>".into()) };
        self.store.write(&mut self.machine, path, value).map_err(|e| format!("xenstore-write: {path}: {e}"))
    }

    fn xs_rm(&mut self, _: &mut Out<'_>, args: &[String]) -> Result<(), String> {
        let [path] = args else { return Err("usage: xenstore-rm <path>".into()) };
        self.store.rm(&mut self.machine, path).map_err(|e| format!("xenstore-rm: {path}: {e}"))
    }
}

/// The output of one command (lines; a console write error is ignored,
/// there is nowhere to report it).
struct Out<'a>(&'a mut dyn Write);

impl Out<'_> {
    fn line(&mut self, args: core::fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(args);
        let _ = self.0.write_char('\n');
    }
    fn text(&mut self, s: &str) {
        let _ = self.0.write_str(s);
    }
}
