//! `vbd`: what a block backend directory asks for, and attaching it, as
//! Xen's tools/hotplug/Linux/block does for `type=phy` and `type=file`.
//!
//! Nodes read: `params` (the target: a block device, or a regular file to
//! put on a loop device; a relative name means `/dev/<name>` for `phy`, as
//! the script's `expand_dev`), `type` (`phy` or `file`; either accepts
//! both kinds of target, since libxl writes `phy` for raw image files in a
//! driver domain) and `mode` (`r` or `w`; `r` makes the loop device
//! read-only, blkback itself honours it for block devices).
//!
//! Nodes written once attached: `physical-device` (`major:minor`, hex),
//! `physical-device-path`, `node` (the loop device, only when the agent
//! made one: what tells a restarted agent which loop devices are its own)
//! and `hotplug-status=connected`.

use crate::hotplug::{text, HotplugError, CONNECTED, STATUS};
use crate::system::{is_loop_device, DevNum, FileKind, System};

/// The nodes the agent reads from a vbd directory.
pub const NODES: &[&str] = &[PARAMS, TYPE, MODE];
pub const PARAMS: &str = "params";
pub const TYPE: &str = "type";
pub const MODE: &str = "mode";
/// Written: `major:minor` of the device blkback opens.
pub const PHYSICAL_DEVICE: &str = "physical-device";
/// Written: the path of that device.
pub const PHYSICAL_DEVICE_PATH: &str = "physical-device-path";
/// Written for loop devices the agent set up (the block script's name).
pub const NODE: &str = "node";

/// The `type` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskType {
    Phy,
    File,
}

/// What a vbd directory asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Absolute path of the block device or file.
    pub target: String,
    pub ty: DiskType,
    pub read_only: bool,
}

/// A device set up for blkback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The block device blkback opens.
    pub path: String,
    pub dev: DevNum,
    /// The loop device the agent made (the same as `path`), to free later.
    pub loop_dev: Option<String>,
}

impl Attached {
    /// The nodes to write, [`STATUS`] last.
    pub fn nodes(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![(PHYSICAL_DEVICE, self.dev.to_string()), (PHYSICAL_DEVICE_PATH, self.path.clone())];
        if let Some(l) = &self.loop_dev {
            v.push((NODE, l.clone()));
        }
        v.push((STATUS, CONNECTED.to_string()));
        v
    }
}

/// Checks the three nodes (absent ones are `None`).
pub fn parse(params: Option<&[u8]>, ty: Option<&[u8]>, mode: Option<&[u8]>) -> Result<Request, HotplugError> {
    let ty = match text(TYPE, ty.ok_or(HotplugError::Missing(TYPE))?)? {
        "phy" => DiskType::Phy,
        "file" => DiskType::File,
        other => return Err(invalid(TYPE, format!("is {:?}; phy or file are served", crate::bounded(other, 32)))),
    };
    let read_only = match text(MODE, mode.ok_or(HotplugError::Missing(MODE))?)? {
        "r" => true,
        "w" => false,
        other => return Err(invalid(MODE, format!("is {:?}, neither r nor w", crate::bounded(other, 32)))),
    };
    let params = text(PARAMS, params.ok_or(HotplugError::Missing(PARAMS))?)?;
    let target = if params.is_empty() {
        return Err(invalid(PARAMS, "is empty".into()));
    } else if params.starts_with('/') {
        params.to_string()
    } else if ty == DiskType::Phy {
        format!("/dev/{params}")
    } else {
        return Err(invalid(PARAMS, format!("is {:?}, not an absolute path", crate::bounded(params, 128))));
    };
    Ok(Request { target, ty, read_only })
}

fn stat(sys: &mut impl System, path: &str) -> Result<FileKind, HotplugError> {
    sys.stat(path).map_err(|error| HotplugError::Stat { path: path.to_string(), error })
}

fn invalid(node: &'static str, why: String) -> HotplugError {
    HotplugError::Invalid { node, why }
}

/// Attaches `req`: a block device as it is, a regular file on a new loop
/// device (freed again if it turns out unusable).
pub fn attach(sys: &mut impl System, req: &Request) -> Result<Attached, HotplugError> {
    match stat(sys, &req.target)? {
        FileKind::Block { rdev } => {
            Ok(Attached { path: req.target.clone(), dev: DevNum::from_rdev(rdev), loop_dev: None })
        }
        FileKind::Regular => {
            let dev = sys
                .loop_attach(&req.target, req.read_only)
                .map_err(|error| HotplugError::Losetup { file: req.target.clone(), error })?;
            if !is_loop_device(&dev) {
                return Err(HotplugError::BadLoop(dev));
            }
            match stat(sys, &dev) {
                Ok(FileKind::Block { rdev }) => {
                    Ok(Attached { path: dev.clone(), dev: DevNum::from_rdev(rdev), loop_dev: Some(dev) })
                }
                _ => {
                    if let Err(e) = sys.loop_detach(&dev) {
                        log::warn!("freeing {dev}: {e}");
                    }
                    Err(HotplugError::BadLoop(dev))
                }
            }
        }
        FileKind::Missing => Err(HotplugError::NotFound(req.target.clone())),
        FileKind::Other => Err(HotplugError::WrongKind(req.target.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(params: &str, ty: &str, mode: &str) -> Result<Request, HotplugError> {
        parse(Some(params.as_bytes()), Some(ty.as_bytes()), Some(mode.as_bytes()))
    }

    #[test]
    fn parses_what_libxl_writes() {
        let r = p("/img/a.img", "phy", "w").unwrap();
        assert_eq!(r, Request { target: "/img/a.img".into(), ty: DiskType::Phy, read_only: false });
        assert!(p("/dev/vdb", "file", "r").unwrap().read_only);
        assert_eq!(p("loop0", "phy", "r").unwrap().target, "/dev/loop0");
    }

    #[test]
    fn refuses_bad_values() {
        let e = |params: &str, ty: &str, mode: &str| p(params, ty, mode).unwrap_err().to_string();
        assert_eq!(e("/a", "tap", "w"), "backend node type is \"tap\"; phy or file are served");
        assert_eq!(e("/a", "phy", "rw"), "backend node mode is \"rw\", neither r nor w");
        assert_eq!(e("", "phy", "w"), "backend node params is empty");
        assert_eq!(e("a.img", "file", "w"), "backend node params is \"a.img\", not an absolute path");
        assert_eq!(e("-d", "file", "w"), "backend node params is \"-d\", not an absolute path");
        assert_eq!(e("/a\u{7f}", "phy", "w"), "backend node params contains control characters");
        assert_eq!(parse(None, Some(b"phy"), Some(b"w")), Err(HotplugError::Missing(PARAMS)));
        assert_eq!(parse(Some(b"/a"), None, Some(b"w")), Err(HotplugError::Missing(TYPE)));
        assert_eq!(parse(Some(b"/a"), Some(b"phy"), None), Err(HotplugError::Missing(MODE)));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
            c in proptest::collection::vec(proptest::num::u8::ANY, 0..4),
        ) {
            if let Ok(r) = parse(Some(&a), Some(&b), Some(&c)) {
                proptest::prop_assert!(r.target.starts_with('/'));
            }
        }
    }
}
