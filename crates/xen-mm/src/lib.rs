//! `xen-mm`: the logic of sharing memory with Xen and other domains, apart
//! from the hardware so it runs on the host:
//!
//! - [`IdPool`]: a bounded, reusable id allocator (grant refs) that refuses
//!   double frees.
//! - [`PageSpace`]: allocates guest-physical page ranges from the extended
//!   regions Xen's DT lists (where foreign and grant mappings go).
//! - [`GrantTable`]: v1 grant entries (grant, revoke refusing while the
//!   peer maps the page), over an [`EntryStore`] that the kernel implements
//!   on the shared grant frames with atomics.
//! - [`ForeignMapper`]: maps pages of another domain through
//!   [`xen_hyp::Physmap`], reporting per-page errors and undoing partial
//!   mappings.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod foreign;
mod grant;
mod idpool;
mod space;

pub use foreign::{ForeignError, ForeignMapper, Mapping};
pub use grant::{EntryStore, GrantError, GrantTable, MemEntryStore};
pub use idpool::{IdPool, PoolError};
pub use space::{PageSpace, SpaceError};
