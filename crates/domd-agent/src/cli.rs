//! Command-line options.

use crate::linux::XENBUS_DEVICE;
pub use crate::net::BridgeConf;

/// What `--help` prints.
pub const USAGE: &str = "\
usage: domd-agent [--xenbus PATH] [--losetup PROGRAM] [--bridge NAME[:ADDR/PREFIX]]...
                  [--cmdline FILE] [--verbose]

Serves the PV backends of this driver domain: watches
/local/domain/<own>/backend/{vbd,vif} in XenStore; sets up loop devices
for image files and writes physical-device and hotplug-status, as xl
devd and /etc/xen/scripts/block do; adds netback's vif<domid>.<devid>
to its bridge (made if missing) as /etc/xen/scripts/vif-bridge does.
Logs to stderr; prints 'domd-agent: ready (domain N)' once watching.

  --xenbus PATH       XenStore device (default /dev/xen/xenbus)
  --losetup PROGRAM   losetup to run (default: losetup, found in PATH)
  --bridge NAME[:ADDR/PREFIX]
                      make bridge NAME at start, with this domain's
                      address on it (repeatable)
  --cmdline FILE      also take domd_agent.bridge=NAME[:ADDR/PREFIX]
                      from this kernel command line (default
                      /proc/cmdline; 'none' to skip)
  --verbose           also log debug messages
";

/// The kernel command-line parameter naming a bridge (same syntax as
/// `--bridge`).
pub const CMDLINE_BRIDGE: &str = "domd_agent.bridge=";

/// The bridges a kernel command line names (`domd_agent.bridge=`).
pub fn bridges_from_cmdline(cmdline: &str) -> Result<Vec<BridgeConf>, String> {
    cmdline.split_ascii_whitespace().filter_map(|w| w.strip_prefix(CMDLINE_BRIDGE)).map(BridgeConf::parse).collect()
}

/// The options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub xenbus: String,
    pub losetup: String,
    pub bridges: Vec<BridgeConf>,
    /// Where to read more bridges from (`None`: nowhere).
    pub cmdline: Option<String>,
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            xenbus: XENBUS_DEVICE.to_string(),
            losetup: "losetup".to_string(),
            bridges: Vec::new(),
            cmdline: Some("/proc/cmdline".into()),
            verbose: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-v" | "--verbose" => o.verbose = true,
            "--xenbus" | "--losetup" | "--bridge" | "--cmdline" => {
                let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
                match a.as_str() {
                    "--xenbus" => o.xenbus = v,
                    "--losetup" => o.losetup = v,
                    "--bridge" => o.bridges.push(BridgeConf::parse(&v)?),
                    _ => o.cmdline = (v != "none").then_some(v),
                }
            }
            _ => return Err(format!("unknown argument {:?}", crate::bounded(&a, 64))),
        }
    }
    Ok(Command::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options() {
        assert_eq!(p(&[]), Ok(Command::Run(Options::default())));
        let o = Options {
            xenbus: "/x".into(),
            losetup: "/bin/busybox-losetup".into(),
            verbose: true,
            ..Options::default()
        };
        assert_eq!(p(&["--xenbus", "/x", "-v", "--losetup", "/bin/busybox-losetup"]), Ok(Command::Run(o)));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["--xenbus"]), Err("--xenbus needs a value".into()));
        assert_eq!(p(&["x"]), Err("unknown argument \"x\"".into()));
        let Ok(Command::Run(o)) = p(&["--bridge", "xenbr0:10.0.0.1/24", "--bridge", "br1", "--cmdline", "none"]) else {
            panic!()
        };
        let br0 = BridgeConf { name: "xenbr0".into(), addr: Some("10.0.0.1/24".into()) };
        assert_eq!(o.bridges, [br0, BridgeConf { name: "br1".into(), addr: None }]);
        assert_eq!(o.cmdline, None);
    }

    #[test]
    fn bridges_and_the_kernel_command_line() {
        let b = |s: &str| BridgeConf::parse(s);
        assert_eq!(b("br0:fd00::1/64").unwrap().addr.as_deref(), Some("fd00::1/64"));
        assert_eq!(b("a/b").unwrap_err(), "bridge \"a/b\": not an interface name");
        assert_eq!(b("br0:10.0.0.1").unwrap_err(), "bridge br0: \"10.0.0.1\" has no /PREFIX");
        assert_eq!(b("br0:10.0.0/8").unwrap_err(), "bridge br0: \"10.0.0\" is not an address");
        assert_eq!(b("br0:10.0.0.1/33").unwrap_err(), "bridge br0: prefix \"33\" is not in 0..=32");
        assert_eq!(b("br0:10.0.0.1/024").unwrap_err(), "bridge br0: prefix \"024\" is not in 0..=32");
        let c = bridges_from_cmdline("console=hvc0 domd_agent.bridge=xenbr0:10.0.0.1/24 quiet domd_agent.bridge=br1\n");
        assert_eq!(c.unwrap().iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["xenbr0", "br1"]);
        assert!(bridges_from_cmdline("domd_agent.bridge=").is_err());
        assert_eq!(bridges_from_cmdline("ro"), Ok(vec![]));
    }

    proptest::proptest! {
        #[test]
        fn bridge_specs_never_panic(s in "\\PC{0,40}") {
            if let Ok(b) = BridgeConf::parse(&s) {
                proptest::prop_assert!(crate::net::is_ifname(&b.name));
            }
        }
    }
}
