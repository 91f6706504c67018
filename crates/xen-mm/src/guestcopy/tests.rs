//! Against a model of Xen that does what `GNTTABOP_copy` does with v1
//! entries (checks each op's refs, offsets and the entry it names, then
//! copies) and keeps the physmaps, so the bytes that land in the guest
//! and everything left behind are checked, not just the calls made.

use super::*;
use crate::grant::MemEntryStore;
use crate::shared::leaked;
use crate::space::PageSpace;
use core::cell::{Cell, RefCell};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::vec;

const DOM: DomId = 9;
/// The guest's RAM in the model: frames `RAM..RAM + RAM_PAGES`.
const RAM: u64 = 0x40000;
const RAM_PAGES: u64 = 1600;
/// Dom0's zero page in the model.
const ZERO_PFN: u64 = 0x4_7fff;
/// What guest RAM holds before anything is written (not zeroed).
const JUNK: u8 = 0xee;

/// A view of v1 entries: `(flags, domid, frame)` of ref `r`.
trait Peek {
    fn peek(&self, r: u32) -> (u16, DomId, u32);
}
impl Peek for GrantFrames {
    fn peek(&self, r: u32) -> (u16, DomId, u32) {
        let (d, f) = self.target(r);
        (self.flags(r), d, f)
    }
}
impl Peek for MemEntryStore {
    fn peek(&self, r: u32) -> (u16, DomId, u32) {
        let (d, f) = self.target(r);
        (self.flags(r), d, f)
    }
}

struct Model<'a> {
    entries: &'a dyn Peek,
    /// Dom0's source bytes and the address they lie at.
    src: Vec<u8>,
    src_at: u64,
    guest: RefCell<BTreeMap<u64, Vec<u8>>>,
    /// Where the guest's grant frame is in its physmap, if anywhere.
    seeded: Cell<Option<u64>>,
    /// Dom0's foreign mappings: our gpfn -> (domain, gfn).
    mapped: RefCell<BTreeMap<u64, (DomId, u64)>>,
    flushed: RefCell<Vec<(u64, u64)>>,
    copies: Cell<usize>,
    /// The named call fails (`"add"`, `"map"`, `"copy"`, `"status"`,
    /// `"unmap"`, `"remove"`, `"flush"`).
    fail: Cell<Option<&'static str>>,
}

impl<'a> Model<'a> {
    fn new(entries: &'a dyn Peek, src: Vec<u8>, src_at: u64) -> Self {
        Model {
            entries,
            src,
            src_at,
            guest: RefCell::new(BTreeMap::new()),
            seeded: Cell::new(None),
            mapped: RefCell::new(BTreeMap::new()),
            flushed: RefCell::new(Vec::new()),
            copies: Cell::new(0),
            fail: Cell::new(None),
        }
    }

    fn fails(&self, what: &str) -> bool {
        self.fail.get() == Some(what)
    }

    /// Byte `a` of guest-physical memory.
    fn guest_byte(&self, a: u64) -> u8 {
        self.guest.borrow().get(&(a / PAGE)).map_or(JUNK, |p| p[(a % PAGE) as usize])
    }

    /// What Xen's `gnttab_copy_one` decides for one op, then the copy.
    fn copy_one(&self, op: &gt::GnttabCopy) -> i16 {
        if op.flags != gt::GNTCOPY_DEST_GREF || op.source.domid != DOMID_SELF {
            return gt::GNTST_PERMISSION_DENIED;
        }
        if op.dest.domid != DOM {
            return gt::GNTST_BAD_DOMAIN;
        }
        let len = u64::from(op.len);
        if u64::from(op.source.offset) + len > PAGE || u64::from(op.dest.offset) + len > PAGE {
            return gt::GNTST_BAD_COPY_ARG;
        }
        if op.dest.u >= u64::from(gt::ENTRIES_PER_FRAME_V1) {
            return gt::GNTST_BAD_GNTREF;
        }
        let (flags, domid, frame) = self.entries.peek(op.dest.u as u32);
        if flags & gt::GTF_TYPE_MASK != gt::GTF_PERMIT_ACCESS || flags & gt::GTF_READONLY != 0 || domid != 0 {
            return gt::GNTST_GENERAL_ERROR;
        }
        let gfn = u64::from(frame);
        if !(RAM..RAM + RAM_PAGES).contains(&gfn) {
            return gt::GNTST_BAD_PAGE;
        }
        let bytes: Vec<u8> = if op.source.u == ZERO_PFN {
            vec![0; op.len as usize]
        } else {
            let a = op.source.u * PAGE + u64::from(op.source.offset);
            if a < self.src_at || a + len > self.src_at + self.src.len() as u64 {
                return gt::GNTST_BAD_PAGE;
            }
            let i = (a - self.src_at) as usize;
            self.src[i..i + op.len as usize].to_vec()
        };
        let mut g = self.guest.borrow_mut();
        let page = g.entry(gfn).or_insert_with(|| vec![JUNK; PAGE as usize]);
        let o = op.dest.offset as usize;
        page[o..o + bytes.len()].copy_from_slice(&bytes);
        gt::GNTST_OKAY
    }
}

impl GrantTables for Model<'_> {
    fn query_size(&self, _: DomId) -> xen_hyp::Result<(u32, u32)> {
        Err(Errno::ENOSYS)
    }
    fn map_grant(&self, _: DomId, _: u32, _: u64, _: bool) -> Result<u32, xen_hyp::GrantError> {
        Err(xen_hyp::GrantError::Hypercall(Errno::ENOSYS))
    }
    fn unmap_grant(&self, _: u64, _: u32) -> Result<(), xen_hyp::GrantError> {
        Err(xen_hyp::GrantError::Hypercall(Errno::ENOSYS))
    }
    fn copy(&self, ops: &mut [gt::GnttabCopy]) -> xen_hyp::Result<()> {
        if self.fails("copy") {
            return Err(Errno::EFAULT);
        }
        self.copies.set(self.copies.get() + 1);
        for (i, op) in ops.iter_mut().enumerate() {
            op.status = if self.fails("status") && i == 1 { gt::GNTST_BAD_PAGE } else { self.copy_one(op) };
        }
        Ok(())
    }
}

impl GuestPhysmap for Model<'_> {
    fn add_to_physmap_of(&self, dom: DomId, space: u32, idx: u64, gpfn: u64) -> xen_hyp::Result<()> {
        assert_eq!((dom, space, idx), (DOM, memory::XENMAPSPACE_GRANT_TABLE, 0), "grant frame 0 of the guest");
        if self.fails("add") {
            return Err(Errno::EPERM);
        }
        self.seeded.set(Some(gpfn));
        Ok(())
    }
    fn remove_from_physmap_of(&self, dom: DomId, gpfn: u64) -> xen_hyp::Result<()> {
        assert_eq!(dom, DOM);
        if self.seeded.get() != Some(gpfn) {
            return Err(Errno::ENOENT);
        }
        self.seeded.set(None);
        if self.fails("remove") {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
    fn cacheflush(&self, dom: DomId, gfn: u64, nr: u64) -> xen_hyp::Result<()> {
        assert_eq!(dom, DOM);
        if self.fails("flush") {
            return Err(Errno::EINVAL);
        }
        self.flushed.borrow_mut().push((gfn, nr));
        Ok(())
    }
}

impl Physmap for Model<'_> {
    fn add_to_physmap(&self, _: u32, _: u64, _: u64) -> xen_hyp::Result<()> {
        Err(Errno::ENOSYS)
    }
    fn map_foreign(&self, d: DomId, gfns: &[u64], gpfns: &[u64], errs: &mut [i32]) -> xen_hyp::Result<()> {
        for i in 0..gfns.len() {
            let ok = d == DOM && self.seeded.get() == Some(gfns[i]) && !self.fails("map");
            errs[i] = if ok { 0 } else { -22 };
            if ok {
                self.mapped.borrow_mut().insert(gpfns[i], (d, gfns[i]));
            }
        }
        Ok(())
    }
    fn remove_from_physmap(&self, gpfn: u64) -> xen_hyp::Result<()> {
        self.mapped.borrow_mut().remove(&gpfn).ok_or(Errno::ENOENT)?;
        if self.fails("unmap") {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
    fn populate_physmap(&self, _: DomId, _: &mut [u64], _: u32) -> xen_hyp::Result<usize> {
        Err(Errno::ENOSYS)
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 4096) as u8).collect()
}

fn mapper() -> ForeignMapper {
    ForeignMapper::new(PageSpace::new(&[(0x4040_0000, 0x10000)]))
}

/// The grant frame as Dom0 maps it, with the toolstack's entries 0 and 1
/// in place (which must stay as they are).
fn grant_frame() -> (SharedMem, GrantFrames) {
    let mem = leaked(PAGE as usize);
    let f = GrantFrames::new(mem).unwrap();
    f.set_target(0, 0, 0x39000);
    f.publish(0, gt::GTF_PERMIT_ACCESS);
    f.set_target(1, 0, 0x39001);
    f.publish(1, gt::GTF_PERMIT_ACCESS);
    (mem, f)
}

/// Nothing is left: no seeded frame, no mapping, no space, the used
/// entries cleared and the reserved ones untouched.
fn assert_clean(x: &Model<'_>, f: &GrantFrames, m: &ForeignMapper, free0: u64) {
    assert_eq!(x.seeded.get(), None, "grant frame left in the guest's physmap");
    assert!(x.mapped.borrow().is_empty(), "grant frame left mapped");
    assert_eq!(m.space().free_pages(), free0, "mapping space leaked");
    assert_eq!(f.peek(0), (gt::GTF_PERMIT_ACCESS, 0, 0x39000));
    assert_eq!(f.peek(1), (gt::GTF_PERMIT_ACCESS, 0, 0x39001));
    for r in FIRST_REF..gt::ENTRIES_PER_FRAME_V1 {
        assert_eq!(f.peek(r), (0, 0, 0), "entry {r} left set");
    }
}

#[test]
fn writes_a_kernel_sized_run_in_batches_and_leaves_nothing() {
    let (mem, f) = grant_frame();
    let len = 1100 * PAGE as usize + 123;
    // A source that is not page aligned: two ops per guest page.
    let x = Model::new(&f, pattern(len), 0x4812_3456);
    let mut m = mapper();
    let free0 = m.space().free_pages();
    let mut ops = Vec::new();
    let gpa = (RAM + 8) * PAGE;
    write_guest(&x, &mut m, |_| Some(mem), &mut ops, DOM, gpa, len as u64, Source::Dom0(x.src_at)).unwrap();
    assert!((0..len as u64).all(|i| x.guest_byte(gpa + i) == x.src[i as usize]), "bytes differ");
    assert_eq!((x.guest_byte(gpa - 1), x.guest_byte(gpa + len as u64)), (JUNK, JUNK), "written outside");
    assert_eq!(x.copies.get(), 3, "1101 pages: 504 + 504 + 93");
    assert!(ops.len() <= 2 * BATCH_PAGES as usize + 1);
    assert_eq!(*x.flushed.borrow(), [(RAM + 8, 1101)], "every frame written is flushed");
    assert_clean(&x, &f, &m, free0);
}

#[test]
fn zeroes_from_the_zero_page() {
    let (mem, f) = grant_frame();
    let x = Model::new(&f, Vec::new(), 0);
    let mut m = mapper();
    let mut ops = Vec::new();
    let gpa = RAM * PAGE + 100;
    write_guest(&x, &mut m, |_| Some(mem), &mut ops, DOM, gpa, 3 * PAGE, Source::Zero(ZERO_PFN)).unwrap();
    assert!((0..3 * PAGE).all(|i| x.guest_byte(gpa + i) == 0));
    assert_eq!((x.guest_byte(gpa - 1), x.guest_byte(gpa + 3 * PAGE)), (JUNK, JUNK));
    assert_eq!(ops.len(), 4, "one op per guest page touched");
    assert!(ops.iter().all(|o| o.source.u == ZERO_PFN && o.source.offset == o.dest.offset));
    assert_eq!(*x.flushed.borrow(), [(RAM, 4)]);
}

#[test]
fn ops_name_our_frames_and_the_guests_refs() {
    let mut ops = Vec::new();
    batch_ops(DOM, 0x4000_0ff0, 0x20, Source::Dom0(0x5000_0ffc), FIRST_REF, &mut ops);
    let v: Vec<_> = ops.iter().map(|o| (o.source.u, o.source.offset, o.dest.u, o.dest.offset, o.len)).collect();
    // 4 bytes to the source page's end, 12 to the guest page's end, 16 on.
    assert_eq!(v, [(0x50000, 0xffc, 8, 0xff0, 4), (0x50001, 0, 8, 0xff4, 12), (0x50001, 12, 9, 0, 16)]);
    assert!(ops.iter().all(|o| o.flags == gt::GNTCOPY_DEST_GREF && o.source.domid == DOMID_SELF));
    assert!(ops.iter().all(|o| o.dest.domid == DOM));
}

#[test]
fn batches_cut_at_page_boundaries() {
    let b: Vec<_> = batches(0x1800, 3 * PAGE, 2).unwrap().collect();
    assert_eq!(b, [(0x1800, 0x800 + PAGE), (0x3000, 0x1800)]);
    assert_eq!(batches(0, 0, 2).unwrap().count(), 0);
    assert!(batches(u64::MAX - 1, 2, 2).is_none(), "wraps");
}

#[test]
fn every_failure_is_reported_and_cleaned_up() {
    for what in ["add", "map", "copy", "status", "unmap", "remove", "flush"] {
        let (mem, f) = grant_frame();
        let len = 600 * PAGE as usize;
        let x = Model::new(&f, pattern(len), 0x4812_3000);
        x.fail.set(Some(what));
        let mut m = mapper();
        let free0 = m.space().free_pages();
        let mut ops = Vec::new();
        let r = write_guest(&x, &mut m, |_| Some(mem), &mut ops, DOM, RAM * PAGE, len as u64, Source::Dom0(x.src_at));
        let e = r.unwrap_err();
        match what {
            "status" => assert_eq!(e, CopyError::Status { gpa: (RAM + 1) * PAGE, status: gt::GNTST_BAD_PAGE }),
            "copy" => assert_eq!(e, CopyError::Hypercall("GNTTABOP_copy", Errno::EFAULT)),
            "map" => assert!(matches!(e, CopyError::Map(ForeignError::Pages(_))), "{e:?}"),
            _ => {}
        }
        assert!(!e.to_string().is_empty());
        if what == "copy" || what == "status" {
            assert!(x.copies.get() <= 1, "{what}: no batch after a failure");
        }
        assert_clean(&x, &f, &m, free0);
    }
}

#[test]
fn a_mapping_outside_the_shared_space_is_refused() {
    let (_, f) = grant_frame();
    let x = Model::new(&f, pattern(64), 0x4812_3000);
    let mut m = mapper();
    let free0 = m.space().free_pages();
    let e = write_guest(&x, &mut m, |_| None, &mut Vec::new(), DOM, RAM * PAGE, 64, Source::Dom0(x.src_at));
    assert!(matches!(e, Err(CopyError::NoView(_))));
    assert_clean(&x, &f, &m, free0);
}

#[test]
fn bad_ranges_make_no_call() {
    let (mem, f) = grant_frame();
    let x = Model::new(&f, Vec::new(), 0);
    let mut m = mapper();
    let e = write_guest(&x, &mut m, |_| Some(mem), &mut Vec::new(), DOM, u64::MAX - 10, 20, Source::Zero(ZERO_PFN));
    assert_eq!(e, Err(CopyError::Range { gpa: u64::MAX - 10, len: 20 }));
    assert_eq!(write_guest(&x, &mut m, |_| Some(mem), &mut Vec::new(), DOM, 0, 0, Source::Zero(ZERO_PFN)), Ok(()));
    assert_eq!(x.seeded.get(), None);
    // A guest frame beyond a v1 entry's 32 bits.
    let mut ops = Vec::new();
    let e = SeededCopy::new(&x, &f, DOM, &mut ops).copy(1 << 44, 8, Source::Zero(ZERO_PFN));
    assert_eq!(e, Err(CopyError::Range { gpa: 1 << 44, len: 8 }));
    assert_eq!(x.copies.get(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any guest range from any source alignment, in batches of 3 pages
    /// (a table with 11 entries): the guest holds exactly the source.
    #[test]
    fn copies_land_where_they_belong(off in 0u64..5 * PAGE, len in 0usize..9 * PAGE as usize, skew in 0u64..PAGE) {
        let e = MemEntryStore::new(FIRST_REF + 3);
        let x = Model::new(&e, pattern(len), 0x4812_3000 + skew);
        let mut ops = Vec::new();
        let gpa = RAM * PAGE + off;
        SeededCopy::new(&x, &e, DOM, &mut ops).copy(gpa, len as u64, Source::Dom0(x.src_at)).unwrap();
        for i in 0..len as u64 {
            prop_assert_eq!(x.guest_byte(gpa + i), x.src[i as usize]);
        }
        prop_assert_eq!(x.guest_byte(gpa - 1), JUNK);
        prop_assert_eq!(x.guest_byte(gpa + len as u64), JUNK);
        prop_assert!(ops.iter().all(|o| (FIRST_REF..FIRST_REF + 3).contains(&(o.dest.u as u32))));
        for r in FIRST_REF..FIRST_REF + 3 {
            prop_assert_eq!(e.peek(r), (0, 0, 0));
        }
    }
}
