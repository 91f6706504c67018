//! The hotplug protocol's common part (docs/misc/block-scripts.txt, and
//! what libxl waits for): the status nodes, the errors reported through
//! them, and the checks every node value passes before it is used.

use crate::{bounded, MAX_ERROR_LEN, MAX_VALUE_LEN};
use core::fmt;

/// `hotplug-status`: `connected` or `error`, written last (in the same
/// transaction as the rest).
pub const STATUS: &str = "hotplug-status";
/// `hotplug-error`: why, in words, when the status is `error`.
pub const ERROR: &str = "hotplug-error";
/// The value of [`STATUS`] once the device is set up.
pub const CONNECTED: &str = "connected";

/// Longest part of a node value quoted inside an error text.
const QUOTE_LEN: usize = 128;

/// Why a device could not be set up; its `Display` is the `hotplug-error`
/// text Dom0 shows to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotplugError {
    /// A node the device needs is not there.
    Missing(&'static str),
    /// A node's value is not acceptable; `why` completes `"<node> ..."`.
    Invalid { node: &'static str, why: String },
    /// The target path does not exist.
    NotFound(String),
    /// The target exists but is neither a block device nor a regular file.
    WrongKind(String),
    /// `stat` failed for another reason.
    Stat { path: String, error: String },
    /// Setting up the loop device failed.
    Losetup { file: String, error: String },
    /// What `losetup` gave back is not a usable loop block device.
    BadLoop(String),
    /// The agent tracks its limit of devices already.
    TooManyDevices(usize),
    /// Setting up a network interface failed (the text says how).
    Net(String),
}

impl fmt::Display for HotplugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &str| bounded(s, QUOTE_LEN);
        match self {
            HotplugError::Missing(node) => write!(f, "backend node {node} is missing"),
            HotplugError::Invalid { node, why } => write!(f, "backend node {node} {why}"),
            HotplugError::NotFound(p) => write!(f, "{} does not exist in the driver domain", q(p)),
            HotplugError::WrongKind(p) => write!(f, "{} is neither a block device nor a regular file", q(p)),
            HotplugError::Stat { path, error } => write!(f, "cannot stat {}: {}", q(path), q(error)),
            HotplugError::Losetup { file, error } => write!(f, "losetup for {} failed: {}", q(file), q(error)),
            HotplugError::BadLoop(d) => write!(f, "losetup gave {}, not a loop block device", q(d)),
            HotplugError::Net(e) => write!(f, "{}", q(e)),
            HotplugError::TooManyDevices(n) => {
                write!(f, "the driver domain's agent serves {n} devices already (its limit)")
            }
        }
    }
}

impl std::error::Error for HotplugError {}

/// The nodes reporting `e`: [`ERROR`] (bounded to [`MAX_ERROR_LEN`]) and
/// [`STATUS`] = `error`.
pub fn error_nodes(e: &HotplugError) -> [(&'static str, String); 2] {
    [(ERROR, bounded(&e.to_string(), MAX_ERROR_LEN)), (STATUS, "error".to_string())]
}

/// The text of node `node`: at most [`MAX_VALUE_LEN`] bytes of UTF-8
/// without control characters.
pub fn text<'a>(node: &'static str, value: &'a [u8]) -> Result<&'a str, HotplugError> {
    let invalid = |why: String| HotplugError::Invalid { node, why };
    if value.len() > MAX_VALUE_LEN {
        return Err(invalid(format!("is {} bytes long (the limit is {MAX_VALUE_LEN})", value.len())));
    }
    let s = core::str::from_utf8(value).map_err(|_| invalid("is not UTF-8 text".into()))?;
    if s.chars().any(char::is_control) {
        return Err(invalid("contains control characters".into()));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked() {
        assert_eq!(text("mode", b"w"), Ok("w"));
        assert_eq!(text("mode", b""), Ok(""));
        let e = text("params", b"/a\n").unwrap_err();
        assert_eq!(e.to_string(), "backend node params contains control characters");
        assert_eq!(text("params", &[0xff]).unwrap_err().to_string(), "backend node params is not UTF-8 text");
        let long = vec![b'a'; MAX_VALUE_LEN + 1];
        assert_eq!(
            text("params", &long).unwrap_err().to_string(),
            format!("backend node params is {} bytes long (the limit is {MAX_VALUE_LEN})", MAX_VALUE_LEN + 1)
        );
        assert!(text("params", &long[1..]).is_ok());
    }

    #[test]
    fn error_texts_are_bounded() {
        let e = HotplugError::Losetup { file: "/f".repeat(400), error: "x".repeat(4000) };
        let [(n1, v1), (n2, v2)] = error_nodes(&e);
        assert_eq!((n1, n2, v2.as_str()), (ERROR, STATUS, "error"));
        assert!(v1.len() <= MAX_ERROR_LEN && v1.starts_with("losetup for /f/f"), "{v1}");
        assert_eq!(HotplugError::NotFound("/img/a".into()).to_string(), "/img/a does not exist in the driver domain");
    }
}
