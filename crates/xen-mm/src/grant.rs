//! Grant table v1: granting our pages to other domains.
//!
//! The entries live in frames shared with Xen, which sets `GTF_reading` /
//! `GTF_writing` while a peer maps the page. Granting writes `domid` and
//! `frame` before publishing `flags` (release order); revoking clears
//! `flags` by compare-and-swap only while neither busy bit is set, the
//! algorithm of Linux's `gnttab_end_foreign_access_ref_v1`.

use crate::idpool::{IdPool, PoolError};
use crate::shared::SharedMem;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use xen_abi::grant_table as gt;
use xen_abi::DomId;

/// Access to v1 entries `0..capacity()`.
pub trait EntryStore {
    /// Number of entries backed by mapped frames.
    fn capacity(&self) -> u32;
    /// Current `flags` of entry `r` (acquire).
    fn flags(&self, r: u32) -> u16;
    /// Compare-and-swap `flags`; returns the value found.
    fn cas_flags(&self, r: u32, old: u16, new: u16) -> u16;
    /// Writes `domid` and `frame` of entry `r` (before flags are published).
    fn set_target(&self, r: u32, domid: DomId, frame: u32);
    /// Publishes `flags` with release order after `set_target`.
    fn publish(&self, r: u32, flags: u16);
}

/// Why a grant operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    /// No free grant reference.
    Exhausted,
    /// The frame number does not fit a v1 entry (32 bits).
    FrameTooLarge(u64),
    /// The ref is not one we granted.
    NotGranted(u32),
    /// The peer still maps the page (`GTF_reading`/`GTF_writing`).
    InUse(u32),
}

impl core::fmt::Display for GrantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GrantError::Exhausted => write!(f, "no free grant reference"),
            GrantError::FrameTooLarge(p) => write!(f, "frame {p:#x} does not fit a v1 grant entry"),
            GrantError::NotGranted(r) => write!(f, "grant ref {r} is not granted"),
            GrantError::InUse(r) => write!(f, "grant ref {r} is still mapped by the peer"),
        }
    }
}

/// What a granted ref points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub domid: DomId,
    pub frame: u32,
    pub readonly: bool,
}

/// Our grant table.
#[derive(Debug)]
pub struct GrantTable<S> {
    store: S,
    refs: IdPool,
    granted: BTreeMap<u32, Granted>,
}

impl<S: EntryStore> GrantTable<S> {
    /// Manages the entries of `store` above the reserved ones.
    pub fn new(store: S) -> Self {
        let cap = store.capacity().saturating_sub(gt::GNTTAB_NR_RESERVED_ENTRIES);
        GrantTable { store, refs: IdPool::new(gt::GNTTAB_NR_RESERVED_ENTRIES, cap), granted: BTreeMap::new() }
    }

    /// The entry store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Refs granted now.
    pub fn granted(&self) -> impl Iterator<Item = (u32, Granted)> + '_ {
        self.granted.iter().map(|(r, g)| (*r, *g))
    }

    /// Free refs.
    pub fn free_refs(&self) -> u32 {
        self.refs.capacity() - self.refs.in_use()
    }

    /// Grants `domid` access to our page frame `pfn`.
    pub fn grant(&mut self, domid: DomId, pfn: u64, readonly: bool) -> Result<u32, GrantError> {
        let frame = u32::try_from(pfn).map_err(|_| GrantError::FrameTooLarge(pfn))?;
        let r = self.refs.alloc().map_err(|_| GrantError::Exhausted)?;
        self.store.set_target(r, domid, frame);
        self.store.publish(r, gt::GTF_PERMIT_ACCESS | if readonly { gt::GTF_READONLY } else { 0 });
        self.granted.insert(r, Granted { domid, frame, readonly });
        Ok(r)
    }

    /// Ends access through `r`, refusing while the peer maps the page.
    pub fn revoke(&mut self, r: u32) -> Result<(), GrantError> {
        if !self.granted.contains_key(&r) {
            return Err(GrantError::NotGranted(r));
        }
        let mut flags = self.store.flags(r);
        loop {
            if flags & (gt::GTF_READING | gt::GTF_WRITING) != 0 {
                return Err(GrantError::InUse(r));
            }
            let seen = self.store.cas_flags(r, flags, 0);
            if seen == flags {
                break;
            }
            flags = seen;
        }
        self.granted.remove(&r);
        match self.refs.free(r) {
            Ok(()) => Ok(()),
            Err(PoolError::NotAllocated(_) | PoolError::OutOfRange(_) | PoolError::Exhausted) => {
                Err(GrantError::NotGranted(r))
            }
        }
    }
}

/// The v1 entries of grant frames shared with Xen (`public/grant_table.h:
/// grant_entry_v1`, 8 bytes each), accessed only atomically.
#[derive(Debug, Clone, Copy)]
pub struct GrantFrames {
    mem: SharedMem,
    entries: u32,
}

const ENTRY: usize = core::mem::size_of::<gt::GrantEntryV1>();
const FLAGS: usize = core::mem::offset_of!(gt::GrantEntryV1, flags);
const DOMID: usize = core::mem::offset_of!(gt::GrantEntryV1, domid);
const FRAME: usize = core::mem::offset_of!(gt::GrantEntryV1, frame);

impl GrantFrames {
    /// The entries in `mem` (where the grant frames are mapped); `None`
    /// unless it is 8-byte aligned.
    pub fn new(mem: SharedMem) -> Option<Self> {
        let entries = u32::try_from(mem.len() / ENTRY).ok()?;
        mem.addr().is_multiple_of(ENTRY as u64).then_some(GrantFrames { mem, entries })
    }

    /// Offset of field `field` of entry `r`.
    fn off(&self, r: u32, field: usize) -> usize {
        assert!(r < self.entries, "grant ref {r} beyond {} entries", self.entries);
        r as usize * ENTRY + field
    }

    /// `(domid, frame)` of entry `r`.
    pub fn target(&self, r: u32) -> (DomId, u32) {
        (
            self.mem.load_u16(self.off(r, DOMID), Ordering::Acquire),
            self.mem.load_u32(self.off(r, FRAME), Ordering::Acquire),
        )
    }
}

impl EntryStore for GrantFrames {
    fn capacity(&self) -> u32 {
        self.entries
    }
    fn flags(&self, r: u32) -> u16 {
        self.mem.load_u16(self.off(r, FLAGS), Ordering::Acquire)
    }
    fn cas_flags(&self, r: u32, old: u16, new: u16) -> u16 {
        self.mem.compare_exchange_u16(self.off(r, FLAGS), old, new)
    }
    fn set_target(&self, r: u32, domid: DomId, frame: u32) {
        self.mem.store_u16(self.off(r, DOMID), domid, Ordering::Relaxed);
        self.mem.store_u32(self.off(r, FRAME), frame, Ordering::Relaxed);
    }
    fn publish(&self, r: u32, flags: u16) {
        self.mem.store_u16(self.off(r, FLAGS), flags, Ordering::Release);
    }
}

/// An in-memory [`EntryStore`] (host tests, and a model of a peer that sets
/// the busy bits as Xen would).
#[derive(Debug)]
pub struct MemEntryStore {
    flags: alloc::vec::Vec<AtomicU16>,
    target: alloc::vec::Vec<(AtomicU16, AtomicU32)>,
}

impl MemEntryStore {
    pub fn new(entries: u32) -> Self {
        MemEntryStore {
            flags: (0..entries).map(|_| AtomicU16::new(0)).collect(),
            target: (0..entries).map(|_| (AtomicU16::new(0), AtomicU32::new(0))).collect(),
        }
    }

    /// What Xen does when a peer maps entry `r` for writing.
    pub fn peer_maps(&self, r: u32) {
        self.flags[r as usize].fetch_or(gt::GTF_WRITING, Ordering::SeqCst);
    }

    /// What Xen does when the peer unmaps it.
    pub fn peer_unmaps(&self, r: u32) {
        self.flags[r as usize].fetch_and(!(gt::GTF_WRITING | gt::GTF_READING), Ordering::SeqCst);
    }

    /// `(domid, frame)` of entry `r`.
    pub fn target(&self, r: u32) -> (DomId, u32) {
        let t = &self.target[r as usize];
        (t.0.load(Ordering::Acquire), t.1.load(Ordering::Acquire))
    }
}

impl EntryStore for MemEntryStore {
    fn capacity(&self) -> u32 {
        self.flags.len() as u32
    }
    fn flags(&self, r: u32) -> u16 {
        self.flags[r as usize].load(Ordering::Acquire)
    }
    fn cas_flags(&self, r: u32, old: u16, new: u16) -> u16 {
        match self.flags[r as usize].compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }
    fn set_target(&self, r: u32, domid: DomId, frame: u32) {
        self.target[r as usize].0.store(domid, Ordering::Relaxed);
        self.target[r as usize].1.store(frame, Ordering::Relaxed);
    }
    fn publish(&self, r: u32, flags: u16) {
        self.flags[r as usize].store(flags, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grant_revoke_refuses_while_mapped() {
        let mut t = GrantTable::new(MemEntryStore::new(16));
        let r = t.grant(3, 0x58123, false).unwrap();
        assert_eq!(r, 8, "refs 0..7 are reserved");
        assert_eq!(t.store().target(r), (3, 0x58123));
        assert_eq!(t.store().flags(r), gt::GTF_PERMIT_ACCESS);
        t.store().peer_maps(r);
        assert_eq!(t.revoke(r), Err(GrantError::InUse(r)));
        t.store().peer_unmaps(r);
        t.revoke(r).unwrap();
        assert_eq!(t.store().flags(r), 0);
        assert_eq!(t.revoke(r), Err(GrantError::NotGranted(r)), "no double revoke");
        assert_eq!(t.grant(1, 1 << 40, true), Err(GrantError::FrameTooLarge(1 << 40)));
    }

    #[test]
    fn exhaustion_is_an_error() {
        let mut t = GrantTable::new(MemEntryStore::new(10));
        t.grant(1, 1, true).unwrap();
        t.grant(1, 2, true).unwrap();
        assert_eq!(t.grant(1, 3, true), Err(GrantError::Exhausted));
        assert_eq!(t.store().flags(9), gt::GTF_PERMIT_ACCESS | gt::GTF_READONLY);
    }

    #[test]
    fn grant_frames_write_v1_entries_in_place() {
        let mem = crate::shared::leaked(2 * 4096);
        let mut t = GrantTable::new(GrantFrames::new(mem).unwrap());
        assert_eq!(t.store().capacity(), 1024);
        let r = t.grant(5, 0x4_0123, true).unwrap();
        assert_eq!(r, 8);
        let mut e = [0u8; 8];
        mem.read(r as usize * 8, &mut e);
        let flags = gt::GTF_PERMIT_ACCESS | gt::GTF_READONLY;
        assert_eq!(e, [flags as u8, 0, 5, 0, 0x23, 0x01, 0x04, 0], "flags, domid, frame (little endian)");
        assert_eq!(t.store().target(r), (5, 0x4_0123));
        // The peer maps it: Xen sets GTF_reading in the shared entry.
        mem.write_u8(r as usize * 8, (flags | gt::GTF_READING) as u8);
        assert_eq!(t.revoke(r), Err(GrantError::InUse(r)));
        mem.write_u8(r as usize * 8, flags as u8);
        t.revoke(r).unwrap();
        assert_eq!(t.store().flags(r), 0);
        let last = t.grant(1, 1, false).unwrap();
        assert!(last < 1024);
    }

    #[test]
    fn grant_frames_need_alignment() {
        let mem = crate::shared::leaked(64);
        assert!(GrantFrames::new(mem.sub(4, 32).unwrap()).is_none());
        assert_eq!(GrantFrames::new(mem.sub(8, 20).unwrap()).map(|f| f.capacity()), Some(2));
    }

    #[test]
    #[should_panic(expected = "beyond")]
    fn grant_frames_check_the_ref() {
        GrantFrames::new(crate::shared::leaked(64)).unwrap().flags(8);
    }

    proptest! {
        #[test]
        fn granted_set_matches_model(ops in proptest::collection::vec((0u8..3, 0u32..24), 0..200)) {
            let mut t = GrantTable::new(MemEntryStore::new(24));
            let mut model = std::collections::BTreeSet::new();
            for (op, r) in ops {
                match op {
                    0 => if let Ok(r) = t.grant(1, u64::from(r), false) { prop_assert!(model.insert(r)); },
                    1 => prop_assert_eq!(t.revoke(r).is_ok(), model.remove(&r)),
                    _ => if model.contains(&r) { t.store().peer_maps(r); prop_assert_eq!(t.revoke(r), Err(GrantError::InUse(r))); t.store().peer_unmaps(r); },
                }
                prop_assert_eq!(t.granted().count(), model.len());
            }
        }
    }
}
