//! Issue #14: a shortened soak (`cargo xtask soak` runs 100 cycles): the
//! driver domain, a warm-up of two rounds of the mix, then two more rounds
//! mixing the Rust guest and Linux DomUs with a disk and a network from
//! Dom-D, ending every way a domain ends; what Dom0 and Dom-D hold (Xen's
//! free memory, Dom0's heap, event channels, grant refs, mapping space,
//! XenStore nodes, watches and connections, Dom-D's loop devices, vifs and
//! bridge ports) must be the same before and after.

mod common;

use common::*;
use harness::soak::{self, Soak};

/// Cycles of a round: every guest kind and ending once; two rounds follow
/// the warm-up.
const CYCLES: usize = 5;
// (`cargo xtask soak` runs 100.)

#[test]
fn create_destroy_cycles_leave_nothing_behind() {
    let dtb = std::env::var("THINDOM_PT_DTB").expect("THINDOM_PT_DTB: run with `cargo xtask test`");
    let mut s = boot_with("soak", |c| c.dtb = Some(dtb.into()));
    let (before, mid, after) = {
        let mut k = Soak::new(&mut s);
        let r = (|| {
            k.start_domd()?;
            for c in soak::warm_up() {
                k.cycle(c)?;
            }
            let before = k.footprint()?;
            for c in soak::plan(CYCLES) {
                k.cycle(c)?;
            }
            let mid = k.settled_footprint(&before)?;
            for c in soak::plan(CYCLES) {
                k.cycle(c)?;
            }
            let after = k.settled_footprint(&before)?;
            anyhow::Ok((before, mid, after))
        })();
        match r {
            Ok(v) => v,
            Err(e) => {
                fail(&s, &format!("{e:#}"));
            }
        }
    };
    let table = soak::table(&before, &after);
    eprintln!("{table}");
    let found = soak::findings(&before, &mid, &after);
    ensure(&s, found.is_empty(), || format!("after {} cycles: {found:?}\n{table}", 2 * CYCLES));
    // The measure is not empty: the driver domain's rows are there.
    ensure(&s, before.0.iter().any(|(w, _)| *w == "Dom-D vifs"), || table.clone());
}
