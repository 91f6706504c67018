//! Golden test: a PV disk's XenStore nodes as thindom's toolstack writes
//! them, node for node against what Debian's xl 4.17 writes for the same
//! disk (`tests/golden/xl-vbd.txt`, captured in the reference Linux Dom0
//! under real Xen by itest's `xl_vbd_layout_matches_the_golden_file`,
//! which keeps checking it there).
//!
//! Both sides are taken at the same moment: once the nodes are written,
//! while the toolstack waits for the backend, before anything acts on
//! them. In the reference Dom0 nobody does (no blkback) and xl gives up
//! after 10 s; here no driver-domain agent answers and thindom gives up
//! the same way. Domain ids are replaced by `<F>` (frontend) and `<B>`
//! (backend): Dom0 is the backend in the golden file, a driver domain
//! here, and that changes nothing else.
//!
//! Exceptions: none. Everything else matches (names, values and
//! permissions; the order does not matter), which holds because
//! - the reference serves the same path (`/images/disk0.img`, an image
//!   file in Dom0 there, in the driver domain here) with the default
//!   script, so `params` and `script` agree;
//! - the snapshot comes before the backend acts: no `hotplug-status`,
//!   `physical-device` or blkback feature nodes, states still 1;
//! - the guest is an Arm (PVH) guest on both sides, for which libxl writes
//!   no frontend `protocol`.
//!
//! Not compared: the directories above the device's (`backend/vbd/<F>`,
//! `device/vbd`), whose permissions come from the domain's own directory
//! and so differ between Dom0 and a driver domain.

use super::*;
use std::cell::RefCell;
use xenstore::daemon::perms_text;
use xenstore::{ConnId, MsgType, Server};

#[path = "../../tests/golden/xenstore_ls.rs"]
mod xenstore_ls;

use xenstore_ls::{Node, Nodes};

/// What Debian's xl wrote (see the file's header).
const GOLDEN: &str = include_str!("../../tests/golden/xl-vbd.txt");

/// The disk of the golden file, from a driver domain instead of Dom0.
const DISK: &str = "disk=['backend=domd,vdev=xvda,target=/images/disk0.img']";

fn req(s: &mut Server, c: ConnId, ty: MsgType, path: &str) -> Option<Vec<u8>> {
    let mut p = path.as_bytes().to_vec();
    p.push(0);
    s.request(c, ty, 0, p).ok()
}

/// What `xenstore-ls -fp root` lists (the nodes below `root`), read
/// through connection `c`.
fn ls(s: &mut Server, c: ConnId, root: &str, out: &mut Nodes) {
    let Some(children) = req(s, c, MsgType::Directory, root) else { return };
    for child in children.split(|&b| b == 0).filter(|x| !x.is_empty()) {
        let path = format!("{root}/{}", String::from_utf8_lossy(child));
        let value = req(s, c, MsgType::Read, &path).map(|v| String::from_utf8_lossy(&v).into_owned());
        let perms = req(s, c, MsgType::GetPerms, &path).map(|p| perms_text(&p).replace(' ', ","));
        out.insert(path.clone(), Node { value: value.unwrap_or_default(), perms: perms.unwrap_or_default() });
        ls(s, c, &path, out);
    }
}

/// Arranges for a snapshot of the first frontend's disk nodes served by
/// `backend`, listed as in the reference (see the golden file's header):
/// taken by Dom0 the first time the toolstack waits with them written;
/// nothing else acts on them. The cell gets the frontend's id and the
/// nodes.
fn snapshot_while_waiting(ts: &mut Ts<'_>, backend: DomId) -> Rc<RefCell<Option<(DomId, Nodes)>>> {
    snapshot_kind_while_waiting(ts, backend, "vbd")
}

/// [`snapshot_while_waiting`] for devices of `kind`.
fn snapshot_kind_while_waiting(
    ts: &mut Ts<'_>,
    backend: DomId,
    kind: &'static str,
) -> Rc<RefCell<Option<(DomId, Nodes)>>> {
    // The driver domain's agent is up (so the toolstack goes on to write
    // the device) but never answers for the device.
    let (s, m) = ts.store();
    s.write(m, &format!("/local/domain/{backend}/{}", crate::disks::AGENT_READY), "ready").unwrap();
    let seen: Rc<RefCell<Option<(DomId, Nodes)>>> = Rc::default();
    let snap = seen.clone();
    ts.machine.others = Some(Box::new(move |store: &mut Daemon<Rc<MemPage>>| {
        if snap.borrow().is_some() {
            return;
        }
        let s = store.server_mut();
        let c = s.connect(0, true);
        let fes = req(s, c, MsgType::Directory, &format!("/local/domain/{backend}/backend/{kind}")).unwrap_or_default();
        let fe = String::from_utf8_lossy(fes.split(|&b| b == 0).next().unwrap_or_default()).into_owned();
        if let Ok(fe) = fe.parse::<DomId>() {
            let mut nodes = Nodes::new();
            for root in [
                format!("/local/domain/{fe}/device/{kind}"),
                format!("/local/domain/{backend}/backend/{kind}/{fe}"),
                format!("/libxl/{fe}/device/{kind}"),
            ] {
                ls(s, c, &root, &mut nodes);
            }
            *snap.borrow_mut() = Some((fe, nodes));
        }
        s.disconnect(c);
    }));
    seen
}

#[test]
fn a_disks_nodes_are_the_ones_debians_xl_writes() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let domd = ts.create("domd", &[], false).unwrap();
    let seen = snapshot_while_waiting(&mut ts, domd);
    // Nobody serves the disk: a bounded wait, then all of it goes, as in
    // the reference.
    let e = ts.create("user", &[DISK.into()], true).unwrap_err();
    assert!(e.contains("not ready after 10 s"), "{e}");
    let (fe, got) = seen.borrow_mut().take().expect("the toolstack waited for the backend");
    for p in [format!("/local/domain/{domd}/backend/vbd/{fe}"), format!("/libxl/{fe}"), format!("/local/domain/{fe}")] {
        assert!(read(&mut ts, &p).is_err(), "{p} left behind");
    }

    let (gfe, gbe) = xenstore_ls::domids(GOLDEN).expect("the golden file's `# domids:` line");
    let want = xenstore_ls::normalize(&xenstore_ls::parse(GOLDEN), gfe, gbe);
    for dir in
        ["/local/domain/<F>/device/vbd/51712", "/local/domain/<B>/backend/vbd/<F>/51712", "/libxl/<F>/device/vbd/51712"]
    {
        assert!(want.contains_key(dir), "the golden file lacks {dir}");
    }
    let got = xenstore_ls::normalize(&got, u32::from(fe), u32::from(domd));
    let diff = xenstore_ls::diff(&want, &got);
    assert!(diff.is_empty(), "thindom vs xl:\n{}\n--- thindom ---\n{}", diff.join("\n"), xenstore_ls::print(&got));
    // Spot checks of what the normalized comparison stands for.
    let node = |p: &str| got.get(p).unwrap_or_else(|| panic!("{p}")).clone();
    assert_eq!(
        node("/local/domain/<F>/device/vbd/51712/backend-id"),
        Node { value: "<B>".into(), perms: "n<F>,r<B>".into() }
    );
    assert_eq!(node("/local/domain/<B>/backend/vbd/<F>/51712/params").perms, "n<B>,r<F>");
    assert_eq!(node("/libxl/<F>/device/vbd/51712/backend").value, "/local/domain/<B>/backend/vbd/<F>/51712");
}

/// The disk keywords behind the golden file's defaults: `untrusted` is
/// the frontend's `trusted = "0"` (as in libxl); `specification=virtio`
/// (a virtio-mmio device, which needs QEMU or an ioreq server) is refused
/// rather than written as a Xen PV disk.
#[test]
fn untrusted_and_virtio_disks() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let domd = ts.create("domd", &[], false).unwrap();
    let seen = snapshot_while_waiting(&mut ts, domd);
    let spec = "disk=['backend=domd,vdev=xvda,untrusted,target=/images/disk0.img']";
    ts.create("user", &[spec.into()], true).unwrap_err();
    let (fe, got) = seen.borrow_mut().take().expect("the toolstack waited for the backend");
    assert_eq!(got[&format!("/local/domain/{fe}/device/vbd/51712/trusted")].value, "0");
    let spec = "disk=['backend=domd,vdev=xvda,specification=virtio,target=/images/disk0.img']";
    let e = ts.create("user", &[spec.into()], true).unwrap_err();
    assert!(e.contains("specification=virtio is not available"), "{e}");
}

/// What Debian's xl wrote for a network interface (see the file's header).
const GOLDEN_VIF: &str = include_str!("../../tests/golden/xl-vif.txt");

/// The interface of the golden file, from a driver domain instead of Dom0.
const VIF: &str = "vif=['backend=domd,bridge=xenbr0,mac=00:16:3e:12:34:56,ip=10.0.0.2']";

/// The same comparison for a PV network interface: libxl's generic
/// device layout plus the vif keys, `hotplug-status` written empty (netback
/// waits for the hotplug script) and the read-only `mtu` in the frontend
/// (owned by the backend, as libxl's `ro_frontend_perms`).
#[test]
fn a_vifs_nodes_are_the_ones_debians_xl_writes() {
    let (xen, disk) = (sim(), ramdisk());
    let mut ts = toolstack(&xen, &disk);
    let domd = ts.create("domd", &[], false).unwrap();
    let seen = snapshot_kind_while_waiting(&mut ts, domd, "vif");
    let e = ts.create("user", &["disk=[]".into(), VIF.into()], true).unwrap_err();
    assert!(e.contains("not ready after 10 s"), "{e}");
    let (fe, got) = seen.borrow_mut().take().expect("the toolstack waited for the backend");
    for p in [format!("/local/domain/{domd}/backend/vif/{fe}"), format!("/libxl/{fe}"), format!("/local/domain/{fe}")] {
        assert!(read(&mut ts, &p).is_err(), "{p} left behind");
    }
    let (gfe, gbe) = xenstore_ls::domids(GOLDEN_VIF).expect("the golden file's `# domids:` line");
    let want = xenstore_ls::normalize(&xenstore_ls::parse(GOLDEN_VIF), gfe, gbe);
    for dir in ["/local/domain/<F>/device/vif/0", "/local/domain/<B>/backend/vif/<F>/0", "/libxl/<F>/device/vif/0"] {
        assert!(want.contains_key(dir), "the golden file lacks {dir}");
    }
    let got = xenstore_ls::normalize(&got, u32::from(fe), u32::from(domd));
    let diff = xenstore_ls::diff(&want, &got);
    assert!(diff.is_empty(), "thindom vs xl:\n{}\n--- thindom ---\n{}", diff.join("\n"), xenstore_ls::print(&got));
    let node = |p: &str| got.get(p).unwrap_or_else(|| panic!("{p}")).clone();
    assert_eq!(node("/local/domain/<F>/device/vif/0/mtu"), Node { value: "1500".into(), perms: "n<B>,r<F>".into() });
    assert_eq!(node("/local/domain/<F>/device/vif/0/mac").perms, "n<F>,r<B>");
    assert_eq!(node("/local/domain/<B>/backend/vif/<F>/0/hotplug-status").value, "");
}
