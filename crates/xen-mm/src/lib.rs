//! `xen-mm`: the logic of sharing memory with Xen and other domains, apart
//! from the hardware so it runs on the host:
//!
//! - [`IdPool`]: a bounded, reusable id allocator (grant refs) that refuses
//!   double frees.
//! - [`PageSpace`]: allocates guest-physical page ranges from the extended
//!   regions Xen's DT lists (where foreign and grant mappings go).
//! - [`GrantTable`]: v1 grant entries (grant, revoke refusing while the
//!   peer maps the page), over an [`EntryStore`]: [`GrantFrames`] on the
//!   grant frames shared with Xen, or [`MemEntryStore`] in tests.
//! - [`SharedSpace`] / [`SharedMem`]: the guest-physical ranges Xen lends
//!   us (grant-table region, extended regions), accessed by bounds-checked
//!   atomics and volatile copies. The one `unsafe` module: its two
//!   constructors are `unsafe fn`s, everything else is safe.
//! - [`Page`]: a page-aligned page of our RAM to grant or copy into.
//! - [`ForeignMapper`]: maps pages of another domain through
//!   [`xen_hyp::Physmap`], reporting per-page errors and undoing partial
//!   mappings.
//! - [`guestcopy`]: writing a new guest's memory with `GNTTABOP_copy`
//!   through grant entries seeded in its own table (no foreign mapping of
//!   its RAM), then `XEN_DOMCTL_cacheflush`.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

mod foreign;
mod grant;
mod grantmap;
pub mod guestcopy;
mod idpool;
mod page;
#[allow(unsafe_code)]
mod shared;
mod space;

pub use foreign::{ForeignError, ForeignMapper, Mapping};
pub use grant::{EntryStore, GrantError, GrantFrames, GrantTable, MemEntryStore};
pub use grantmap::{copy_from_grant, GrantMap, MapError};
pub use idpool::{IdPool, PoolError};
pub use page::{Page, PAGE_SIZE};
pub use shared::{SharedMem, SharedSpace};
pub use space::{PageSpace, SpaceError};
