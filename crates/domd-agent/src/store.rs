//! What the agent asks of XenStore ([`Store`]), the path check every
//! access goes through ([`Guarded`]), and the implementation over the
//! workspace's XenStore client ([`XsStore`]).

use crate::scope::{canonical_number, Scope};
use core::fmt;
use xenstore::client::{Client, Transport};
use xenstore::wire::XsError;

/// Why a store access failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// XenStore (or the transport) answered with this error.
    Xs(XsError),
    /// The agent tried a path outside its backend tree (refused before
    /// anything is sent).
    OutOfScope(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Xs(e) => write!(f, "xenstore: {e}"),
            StoreError::OutOfScope(p) => {
                write!(f, "refused: {} is outside the agent's backend tree", crate::bounded(p, 128))
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl From<XsError> for StoreError {
    fn from(e: XsError) -> Self {
        StoreError::Xs(e)
    }
}

/// The store operations the agent uses. Paths are absolute.
pub trait Store {
    /// The value of `path`; `Ok(None)` when it does not exist.
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The children of `path`; empty when it does not exist.
    fn list(&mut self, path: &str) -> Result<Vec<String>, StoreError>;
    /// Writes `nodes` (names relative to `dir`) in one transaction if `dir`
    /// still exists; `Ok(false)` (nothing written) when it is gone, so a
    /// removed directory is never re-created.
    fn write_if_present(&mut self, dir: &str, nodes: &[(&str, &str)]) -> Result<bool, StoreError>;
    /// Sets a watch on `path` and below.
    fn watch(&mut self, path: &str, token: &str) -> Result<(), StoreError>;
    /// The next watch event `(path, token)`, waiting for it.
    fn next_event(&mut self) -> Result<(String, String), StoreError>;
}

/// A [`Store`] that refuses (with [`StoreError::OutOfScope`], before
/// touching the inner store) every path outside `scope`'s backend tree.
/// The agent reaches the store only through it.
#[derive(Debug)]
pub struct Guarded<S> {
    scope: Scope,
    inner: S,
}

impl<S> Guarded<S> {
    pub fn new(scope: Scope, inner: S) -> Self {
        Guarded { scope, inner }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    fn check(&self, path: &str) -> Result<(), StoreError> {
        if self.scope.allows(path) {
            Ok(())
        } else {
            log::error!("refusing to touch {} (outside {})", crate::bounded(path, 128), self.scope.root());
            Err(StoreError::OutOfScope(path.to_string()))
        }
    }
}

impl<S: Store> Store for Guarded<S> {
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check(path)?;
        self.inner.read(path)
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, StoreError> {
        self.check(path)?;
        self.inner.list(path)
    }

    fn write_if_present(&mut self, dir: &str, nodes: &[(&str, &str)]) -> Result<bool, StoreError> {
        self.check(dir)?;
        for (name, _) in nodes {
            self.check(&format!("{dir}/{name}"))?;
        }
        self.inner.write_if_present(dir, nodes)
    }

    fn watch(&mut self, path: &str, token: &str) -> Result<(), StoreError> {
        self.check(path)?;
        self.inner.watch(path, token)
    }

    fn next_event(&mut self) -> Result<(String, String), StoreError> {
        self.inner.next_event()
    }
}

/// [`Store`] over a XenStore [`Client`] (a guest's connection: relative
/// names are below its home, permissions are those of its domain).
#[derive(Debug)]
pub struct XsStore<T> {
    client: Client<T>,
}

impl<T: Transport> XsStore<T> {
    pub fn new(client: Client<T>) -> Self {
        XsStore { client }
    }

    pub fn client(&mut self) -> &mut Client<T> {
        &mut self.client
    }
}

fn absent_is_none<V>(r: Result<V, XsError>) -> Result<Option<V>, StoreError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(XsError::ENOENT) => Ok(None),
        Err(e) => Err(StoreError::Xs(e)),
    }
}

impl<T: Transport> Store for XsStore<T> {
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        absent_is_none(self.client.read(0, path))
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, StoreError> {
        Ok(absent_is_none(self.client.directory(0, path))?.unwrap_or_default())
    }

    fn write_if_present(&mut self, dir: &str, nodes: &[(&str, &str)]) -> Result<bool, StoreError> {
        let r = self.client.transaction(|c, tx| {
            match c.read(tx, dir) {
                Ok(_) => {}
                Err(XsError::ENOENT) => return Ok(false),
                Err(e) => return Err(e),
            }
            for (name, value) in nodes {
                c.write(tx, &format!("{dir}/{name}"), value.as_bytes())?;
            }
            Ok(true)
        });
        Ok(r?)
    }

    fn watch(&mut self, path: &str, token: &str) -> Result<(), StoreError> {
        Ok(self.client.watch(path, token)?)
    }

    fn next_event(&mut self) -> Result<(String, String), StoreError> {
        Ok(self.client.next_event()?)
    }
}

/// `DOMID_FIRST_RESERVED` (`public/xen.h`): domain ids are below it.
pub const DOMID_FIRST_RESERVED: u16 = 0x7ff0;

/// The agent's own domain id: the relative node `domid`, which XenStore
/// resolves to `/local/domain/<own>/domid` (written by the toolstack, as
/// libxl does). The one read outside the backend tree, done before the
/// agent starts.
pub fn read_own_domid<T: Transport>(client: &mut Client<T>) -> Result<u16, String> {
    let v = client.read_string(0, "domid").map_err(|e| format!("reading domid: {e}"))?;
    match canonical_number::<u16>(v.trim()) {
        Some(id) if id < DOMID_FIRST_RESERVED => Ok(id),
        _ => Err(format!("domid is {:?}, not a domain id", crate::bounded(&v, 32))),
    }
}
