//! `xenstore`: the XenStore protocol (docs/misc/xenstore.txt and
//! `public/io/xs_wire.h` of Xen 4.17) and a server core to run inside
//! thindom.
//!
//! - [`wire`]: message header and types, checked parsing ([`wire::Msg`]),
//!   the error strings as Xen spells them.
//! - [`path`]: node names (validation, relative → absolute) and permission
//!   lists (`n0`, `r1`, ...).
//! - [`store`]: the tree; each node holds its value, permissions, children
//!   list and generation, as in xenstored's database.
//! - [`server`]: connections (one per domain) with per-connection output
//!   queues, permission checks with xenstored's semantics, watches (incl.
//!   `@introduceDomain` and `@releaseDomain` with their permissions),
//!   transactions (copies of the nodes they touch, `EAGAIN` when one changed
//!   meanwhile), domain introduction/release (INTRODUCE and RELEASE through a
//!   [`server::Host`]) and per-domain quotas with xenstored 4.17's defaults.
//! - [`client`]: a client over any transport, with transactions retried on
//!   `EAGAIN`.
//! - [`ring`]: the shared-page transport of docs/misc/xenstore-ring.txt.
//! - [`daemon`]: the server over guest rings and Dom0's own connection, as
//!   Dom0 runs it (pages and event channels through an `xencons::RingHost`).
//!
//! The core is deterministic: no clock, no I/O.
//!
//! Threat model: every byte from a guest is hostile. Messages are parsed
//! with bounds checks (payload ≤ 4096, paths ≤ limits, valid characters);
//! ring indexes are read once and validated; a guest sees and changes only
//! what its permissions allow; every resource it can consume has
//! xenstored's quota: nodes, node size (children list included), watches,
//! transactions and the nodes each touches, outstanding requests, and a
//! memory quota over all it makes the server hold (owned nodes, transaction
//! copies, watches, queued replies and events; events beyond it are
//! dropped). No reply or event exceeds 4096 bytes (`E2BIG`, or dropped).
//! A malformed request is answered with an error and logged once per
//! connection.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod client;
pub mod daemon;
pub mod path;
pub mod ring;
pub mod server;
pub mod store;
pub mod wire;

pub use server::{ConnId, Quotas, Server};
pub use wire::{Msg, MsgType, XsError};
