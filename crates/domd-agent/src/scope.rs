//! The agent's part of XenStore: `/local/domain/<own>/backend/` and
//! nothing else. Names of device directories, and what a watch event's
//! path names.

use xenstore::path::{is_under, is_valid};

/// Most entries taken from one directory listing (frontends of a kind, or
/// devices of a frontend); the rest are skipped with a warning.
pub const MAX_LISTED: usize = 256;

/// A backend kind the agent handles: the directory name under `backend/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Block devices (xen-blkback).
    Vbd,
    /// Network interfaces (xen-netback).
    Vif,
}

impl Kind {
    /// Every kind handled.
    pub const ALL: &'static [Kind] = &[Kind::Vbd, Kind::Vif];

    /// The directory name under `backend/`.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Vbd => "vbd",
            Kind::Vif => "vif",
        }
    }

    /// The kind whose directory is `name`.
    pub fn from_dir(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.dir() == name)
    }
}

/// One backend device: `backend/<kind>/<frontend>/<devid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId {
    pub kind: Kind,
    /// The frontend's domain id.
    pub frontend: u16,
    /// The device number (`virtual-device` for vbd, the index for vif).
    pub devid: u32,
}

impl core::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}/{}", self.kind.dir(), self.frontend, self.devid)
    }
}

/// What a path below the backend tree names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `backend` itself: every kind.
    All,
    /// `backend/<kind>`.
    Kind(Kind),
    /// `backend/<kind>/<frontend>`.
    Frontend(Kind, u16),
    /// `backend/<kind>/<frontend>/<devid>` or a node below it.
    Device(DeviceId),
}

/// A number in canonical decimal (digits only, no leading zero unless it
/// is `0`), as libxl writes them; anything else is `None`, so that two
/// names never denote the same device.
pub fn canonical_number<T: core::str::FromStr>(s: &str) -> Option<T> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// The agent's domain and the root of its backend tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    own: u16,
    root: String,
}

impl Scope {
    pub fn new(own: u16) -> Scope {
        Scope { own, root: format!("/local/domain/{own}/backend") }
    }

    /// The agent's own domain id.
    pub fn own(&self) -> u16 {
        self.own
    }

    /// `/local/domain/<own>/backend`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// `/local/domain/<own>/backend/<kind>`.
    pub fn kind_dir(&self, kind: Kind) -> String {
        format!("{}/{}", self.root, kind.dir())
    }

    /// `/local/domain/<own>/backend/<kind>/<frontend>`.
    pub fn frontend_dir(&self, kind: Kind, frontend: u16) -> String {
        format!("{}/{}/{frontend}", self.root, kind.dir())
    }

    /// `/local/domain/<own>/backend/<kind>/<frontend>/<devid>`.
    pub fn device_dir(&self, id: DeviceId) -> String {
        format!("{}/{}/{}/{}", self.root, id.kind.dir(), id.frontend, id.devid)
    }

    /// Whether the agent may read, write or watch `path`: a valid absolute
    /// XenStore name at or below its backend root.
    pub fn allows(&self, path: &str) -> bool {
        is_valid(path) && is_under(path, &self.root)
    }

    /// What `path` (a watch event's) names, or `None` when it is outside
    /// the backend tree, under a kind not handled, or not canonical.
    pub fn classify(&self, path: &str) -> Option<Target> {
        if !self.allows(path) {
            return None;
        }
        let rest = path.get(self.root.len()..)?;
        let mut parts = rest.split('/').skip(1);
        let Some(kind) = parts.next() else { return Some(Target::All) };
        let kind = Kind::from_dir(kind)?;
        let Some(frontend) = parts.next() else { return Some(Target::Kind(kind)) };
        let frontend = canonical_number(frontend)?;
        let Some(devid) = parts.next() else { return Some(Target::Frontend(kind, frontend)) };
        Some(Target::Device(DeviceId { kind, frontend, devid: canonical_number(devid)? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_backend_tree_is_allowed() {
        let s = Scope::new(5);
        assert!(s.allows("/local/domain/5/backend"));
        assert!(s.allows("/local/domain/5/backend/vbd/1/51712/params"));
        for p in [
            "/local/domain/5",
            "/local/domain/5/backendx",
            "/local/domain/5/backend/",
            "/local/domain/5/backend//vbd",
            "/local/domain/55/backend/vbd",
            "/local/domain/6/backend/vbd/5/1",
            "/local/domain/0/backend/vbd",
            "/local/domain/5/device/vbd/51712",
            "/local/domain/5/backend/../../0",
            "backend/vbd",
            "",
            "/",
        ] {
            assert!(!s.allows(p), "{p}");
            assert_eq!(s.classify(p), None, "{p}");
        }
    }

    #[test]
    fn classify_names_the_affected_part() {
        let s = Scope::new(5);
        let id = DeviceId { kind: Kind::Vbd, frontend: 7, devid: 51712 };
        assert_eq!(s.classify("/local/domain/5/backend"), Some(Target::All));
        assert_eq!(s.classify("/local/domain/5/backend/vbd"), Some(Target::Kind(Kind::Vbd)));
        assert_eq!(s.classify("/local/domain/5/backend/vbd/7"), Some(Target::Frontend(Kind::Vbd, 7)));
        assert_eq!(s.classify("/local/domain/5/backend/vbd/7/51712"), Some(Target::Device(id)));
        assert_eq!(s.classify("/local/domain/5/backend/vbd/7/51712/state"), Some(Target::Device(id)));
        assert_eq!(s.classify("/local/domain/5/backend/vbd/7/51712/a/b"), Some(Target::Device(id)));
        assert_eq!(s.device_dir(id), "/local/domain/5/backend/vbd/7/51712");
        assert_eq!(id.to_string(), "vbd/7/51712");
        for p in [
            "/local/domain/5/backend/qdisk/7/1",
            "/local/domain/5/backend/vif2/7/1",
            "/local/domain/5/backend/vbd/07/1",
            "/local/domain/5/backend/vbd/x/1",
            "/local/domain/5/backend/vbd/70000/1",
            "/local/domain/5/backend/vbd/7/-1",
            "/local/domain/5/backend/vbd/7/99999999999",
        ] {
            assert_eq!(s.classify(p), None, "{p}");
        }
    }

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_number::<u16>("0"), Some(0));
        assert_eq!(canonical_number::<u16>("65535"), Some(65535));
        assert_eq!(canonical_number::<u16>("65536"), None);
        assert_eq!(canonical_number::<u16>("+1"), None);
        assert_eq!(canonical_number::<u16>("01"), None);
        assert_eq!(canonical_number::<u16>(""), None);
        assert_eq!(canonical_number::<u32>(" 1"), None);
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(tail in "[a-z0-9/._-]{0,40}") {
            let s = Scope::new(5);
            let p = format!("/local/domain/5/backend{tail}");
            if let Some(Target::Device(id)) = s.classify(&p) {
                proptest::prop_assert!(p.starts_with(&s.device_dir(id)));
            }
        }
    }
}
