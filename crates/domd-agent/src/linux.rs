//! The edge: the xenbus device file, `stat`, `/sys/class/net` and busybox
//! `losetup`, `brctl` and `ip`. Nothing here decides anything; `main.rs`
//! hands these to the [`crate::Agent`].

use crate::net::BridgeConf;
use crate::system::{parse_free_loop, FileKind, System};
use crate::xenbus::StreamTransport;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Command, Stdio};

/// Linux's XenStore device in a guest (needs devtmpfs).
pub const XENBUS_DEVICE: &str = "/dev/xen/xenbus";
/// Times `losetup -f` + `losetup DEV FILE` is tried (another user may take
/// the free device in between).
pub const LOOP_ATTEMPTS: usize = 3;
/// Longest part of a command's stderr kept in an error text.
const STDERR_KEPT: usize = 200;

/// Opens the xenbus device for reading and writing.
pub fn open_xenbus(path: &str) -> std::io::Result<StreamTransport<File>> {
    OpenOptions::new().read(true).write(true).open(path).map(StreamTransport::new)
}

/// [`System`] on Linux: `stat(2)` through std, loop devices through the
/// `losetup` program (busybox 1.35's: `losetup -f` prints the next free
/// device, `losetup [-r] DEV FILE` binds it, `losetup -d DEV` frees it).
/// Network interfaces through `/sys/class/net` and busybox's `brctl`
/// (`addbr`, `addif`, `delif`) and `ip` (`link set`, `addr add`).
#[derive(Debug, Clone)]
pub struct LinuxSystem {
    losetup: String,
    brctl: String,
    ip: String,
    sys_net: String,
    /// Bridges with the driver domain's own address on them.
    bridges: Vec<BridgeConf>,
}

impl LinuxSystem {
    /// `losetup` is the program to run (found through `PATH` unless it
    /// holds a `/`); `brctl` and `ip` are found through `PATH`.
    pub fn new(losetup: impl Into<String>) -> Self {
        LinuxSystem {
            losetup: losetup.into(),
            brctl: "brctl".into(),
            ip: "ip".into(),
            sys_net: "/sys/class/net".into(),
            bridges: Vec::new(),
        }
    }

    /// Other network programs and sysfs directory (tests).
    pub fn with_net_tools(mut self, brctl: &str, ip: &str, sys_net: &str) -> Self {
        (self.brctl, self.ip, self.sys_net) = (brctl.into(), ip.into(), sys_net.into());
        self
    }

    /// The bridges made at start, with the driver domain's address.
    pub fn with_bridges(mut self, bridges: Vec<BridgeConf>) -> Self {
        self.bridges = bridges;
        self
    }

    /// Makes the configured bridges (and puts the driver domain's address
    /// on them), so the driver domain is on its networks from the start.
    pub fn setup_bridges(&mut self) -> Result<(), String> {
        for b in self.bridges.clone() {
            self.bridge_ensure(&b.name)?;
        }
        Ok(())
    }

    /// Runs `losetup args`; its stdout, or an error naming the command.
    fn losetup(&self, args: &[&str]) -> Result<String, String> {
        run(&self.losetup, args)
    }
}

/// Runs `prog args`; its stdout, or an error naming the command.
fn run(prog: &str, args: &[&str]) -> Result<String, String> {
    let shown = format!("{prog} {}", args.join(" "));
    let out =
        Command::new(prog).args(args).stdin(Stdio::null()).output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!("{shown}: {} ({})", crate::bounded(err.trim(), STDERR_KEPT), out.status))
}

impl System for LinuxSystem {
    fn stat(&mut self, path: &str) -> Result<FileKind, String> {
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_block_device() => Ok(FileKind::Block { rdev: m.rdev() }),
            Ok(m) if m.is_file() => Ok(FileKind::Regular),
            Ok(_) => Ok(FileKind::Other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileKind::Missing),
            Err(e) => Err(e.to_string()),
        }
    }

    fn loop_attach(&mut self, file: &str, read_only: bool) -> Result<String, String> {
        let mut last = String::new();
        for _ in 0..LOOP_ATTEMPTS {
            let free = self.losetup(&["-f"])?;
            let dev = parse_free_loop(&free)
                .ok_or_else(|| format!("{} -f printed {:?}", self.losetup, crate::bounded(free.trim(), 64)))?
                .to_string();
            let mut args = Vec::new();
            if read_only {
                args.push("-r");
            }
            args.extend([dev.as_str(), file]);
            match self.losetup(&args) {
                Ok(_) => return Ok(dev),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn loop_detach(&mut self, dev: &str) -> Result<(), String> {
        self.losetup(&["-d", dev]).map(drop)
    }

    fn net_exists(&mut self, ifname: &str) -> bool {
        std::path::Path::new(&self.sys_net).join(ifname).exists()
    }

    fn net_rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        run(&self.ip, &["link", "set", "dev", from, "name", to]).map(drop)
    }

    fn bridge_ensure(&mut self, bridge: &str) -> Result<(), String> {
        let dir = std::path::Path::new(&self.sys_net).join(bridge);
        if dir.join("bridge").exists() {
            return Ok(());
        }
        if dir.exists() {
            return Err(format!("{bridge} exists and is not a bridge"));
        }
        // STP is off on a new Linux bridge: its ports forward at once (no
        // listening/learning delay; busybox's brctl has no `setfd`).
        run(&self.brctl, &["addbr", bridge])?;
        if let Some(addr) = self.bridges.iter().find(|b| b.name == bridge).and_then(|b| b.addr.clone()) {
            run(&self.ip, &["addr", "add", &addr, "dev", bridge])?;
        }
        run(&self.ip, &["link", "set", "dev", bridge, "up"]).map(drop)
    }

    fn bridge_add(&mut self, bridge: &str, ifname: &str) -> Result<(), String> {
        run(&self.brctl, &["addif", bridge, ifname])?;
        if let Err(e) = run(&self.ip, &["link", "set", "dev", ifname, "up"]) {
            let _ = run(&self.brctl, &["delif", bridge, ifname]);
            return Err(e);
        }
        Ok(())
    }

    fn bridge_remove(&mut self, bridge: &str, ifname: &str) -> Result<(), String> {
        let r = run(&self.brctl, &["delif", bridge, ifname]).map(drop);
        let _ = run(&self.ip, &["link", "set", "dev", ifname, "down"]);
        r
    }

    fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("domd-agent-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A fake `losetup` that logs its arguments and answers `-f` with
    /// /dev/loop4 (or fails when `fail` is set).
    fn fake_losetup(dir: &std::path::Path, fail: bool) -> String {
        let log = dir.join("log");
        let body = if fail { "echo 'losetup: /img: No such device' >&2; exit 1" } else { "exit 0" };
        let script = format!(
            "#!/bin/sh\nif [ \"$*\" = -f ]; then echo /dev/loop4; exit 0; fi\necho \"$*\" >> {}\n{body}\n",
            log.display()
        );
        let p = dir.join("losetup");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn stat_tells_kinds_apart() {
        let d = scratch("stat");
        let f = d.join("img");
        std::fs::write(&f, b"x").unwrap();
        let mut s = LinuxSystem::new("losetup");
        assert_eq!(s.stat(f.to_str().unwrap()), Ok(FileKind::Regular));
        assert_eq!(s.stat(d.to_str().unwrap()), Ok(FileKind::Other));
        assert_eq!(s.stat("/dev/null"), Ok(FileKind::Other));
        assert_eq!(s.stat(d.join("none").to_str().unwrap()), Ok(FileKind::Missing));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn losetup_is_called_as_busybox_wants() {
        let d = scratch("losetup");
        let mut s = LinuxSystem::new(fake_losetup(&d, false));
        assert_eq!(s.loop_attach("/img/a", true), Ok("/dev/loop4".to_string()));
        assert_eq!(s.loop_attach("/img/b", false), Ok("/dev/loop4".to_string()));
        s.loop_detach("/dev/loop4").unwrap();
        let log = std::fs::read_to_string(d.join("log")).unwrap();
        assert_eq!(log, "-r /dev/loop4 /img/a\n/dev/loop4 /img/b\n-d /dev/loop4\n");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn losetup_failures_are_reported_after_retries() {
        let d = scratch("losetup-fail");
        let prog = fake_losetup(&d, true);
        let mut s = LinuxSystem::new(prog.clone());
        let e = s.loop_attach("/img", false).unwrap_err();
        assert!(
            e.starts_with(&format!("{prog} /dev/loop4 /img: losetup: /img: No such device (exit status: 1)")),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(d.join("log")).unwrap().lines().count(), LOOP_ATTEMPTS);
        let e = LinuxSystem::new(d.join("none").to_string_lossy()).loop_detach("/dev/loop0").unwrap_err();
        assert!(e.starts_with("cannot run "), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A fake program that logs `name args` to `log`.
    fn logger(dir: &std::path::Path, name: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho \"{name} $*\" >> {}\n", dir.join("log").display())).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn bridges_are_made_as_xens_scripts_make_them() {
        let d = scratch("net");
        let net = d.join("net");
        std::fs::create_dir_all(net.join("eth0")).unwrap();
        std::fs::create_dir_all(net.join("br9/bridge")).unwrap();
        let (brctl, ip) = (logger(&d, "brctl"), logger(&d, "ip"));
        let br0 = BridgeConf { name: "xenbr0".into(), addr: Some("10.0.0.1/24".into()) };
        let mut s =
            LinuxSystem::new("losetup").with_net_tools(&brctl, &ip, net.to_str().unwrap()).with_bridges(vec![br0]);
        s.setup_bridges().unwrap();
        s.bridge_ensure("br1").unwrap();
        s.bridge_ensure("br9").unwrap();
        assert_eq!(s.bridge_ensure("eth0"), Err("eth0 exists and is not a bridge".into()));
        assert!(s.net_exists("eth0") && !s.net_exists("vif1.0"));
        s.bridge_add("xenbr0", "vif1.0").unwrap();
        s.bridge_remove("xenbr0", "vif1.0").unwrap();
        s.net_rename("vif1.1", "web0").unwrap();
        let log = std::fs::read_to_string(d.join("log")).unwrap();
        assert_eq!(
            log,
            "brctl addbr xenbr0\nip addr add 10.0.0.1/24 dev xenbr0\nip link set dev xenbr0 up\n\
             brctl addbr br1\nip link set dev br1 up\n\
             brctl addif xenbr0 vif1.0\nip link set dev vif1.0 up\n\
             brctl delif xenbr0 vif1.0\nip link set dev vif1.0 down\n\
             ip link set dev vif1.1 name web0\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
