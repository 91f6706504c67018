//! Command-line options.

use crate::linux::XENBUS_DEVICE;

/// What `--help` prints.
pub const USAGE: &str = "\
usage: domd-agent [--xenbus PATH] [--losetup PROGRAM] [--verbose]

Serves the PV backends of this driver domain: watches
/local/domain/<own>/backend/vbd in XenStore, sets up loop devices for
image files and writes physical-device and hotplug-status, as xl devd
and /etc/xen/scripts/block do. Logs to stderr; prints
'domd-agent: ready (domain N)' once watching.

  --xenbus PATH       XenStore device (default /dev/xen/xenbus)
  --losetup PROGRAM   losetup to run (default: losetup, found in PATH)
  --verbose           also log debug messages
";

/// The options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub xenbus: String,
    pub losetup: String,
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { xenbus: XENBUS_DEVICE.to_string(), losetup: "losetup".to_string(), verbose: false }
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
            "--xenbus" | "--losetup" => {
                let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
                if a == "--xenbus" {
                    o.xenbus = v;
                } else {
                    o.losetup = v;
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
        let o = Options { xenbus: "/x".into(), losetup: "/bin/busybox-losetup".into(), verbose: true };
        assert_eq!(p(&["--xenbus", "/x", "-v", "--losetup", "/bin/busybox-losetup"]), Ok(Command::Run(o)));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["--xenbus"]), Err("--xenbus needs a value".into()));
        assert_eq!(p(&["x"]), Err("unknown argument \"x\"".into()));
    }
}
