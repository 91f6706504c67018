//! `xenstore`: the XenStore protocol (docs/misc/xenstore.txt and
//! `public/io/xs_wire.h` of Xen 4.17) and a server core to run inside
//! thindom.
//!
//! - [`wire`]: message header and types, checked parsing ([`wire::Msg`]),
//!   the error strings as Xen spells them.
//! - [`path`]: node names (validation, relative → absolute) and permission
//!   lists (`n0`, `r1`, ...).
//! - [`store`]: the tree, with per-node generation counts for transaction
//!   conflict detection.
//! - [`server`]: connections (one per domain), permission checks with
//!   xenstored's semantics, watches (incl. `@introduceDomain` and
//!   `@releaseDomain`), transactions (snapshot, `EAGAIN` on conflict) and
//!   per-domain quotas with xenstored's defaults.
//! - [`client`]: a client over any transport, with transactions retried on
//!   `EAGAIN`.
//! - [`ring`]: the shared-page transport of docs/misc/xenstore-ring.txt.
//!
//! The core is deterministic: no clock, no I/O.
//!
//! Threat model: every byte from a guest is hostile. Messages are parsed
//! with bounds checks (payload ≤ 4096, paths ≤ limits, valid characters);
//! ring indexes are read once and validated; a guest sees and changes only
//! what its permissions allow; every resource it can consume (nodes,
//! watches, transactions, node size, permissions) has xenstored's quota.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod client;
pub mod path;
pub mod ring;
pub mod server;
pub mod store;
pub mod wire;

pub use server::{ConnId, Quotas, Server};
pub use wire::{Msg, MsgType, XsError};
