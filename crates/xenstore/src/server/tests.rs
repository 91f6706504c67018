//! Server behaviour, including the misuse cases that went wrong elsewhere.

use super::*;
use crate::wire::XsError::*;
use proptest::prelude::*;

pub(super) fn p(s: &str) -> Vec<u8> {
    let mut v = Vec::from(s.as_bytes());
    v.push(0);
    v
}

pub(super) fn wr(path: &str, val: &str) -> Vec<u8> {
    let mut v = p(path);
    v.extend_from_slice(val.as_bytes());
    v
}

/// A server with Dom0's connection and domain 5 introduced with the usual
/// home (owned by 5, readable by nobody else).
pub(super) fn setup() -> (Server, ConnId, ConnId) {
    let mut s = Server::default();
    let d0 = s.connect(0, true);
    s.write_as(d0, "/local/domain/5", b"").unwrap();
    s.request(d0, MsgType::SetPerms, 0, [p("/local/domain/5"), p("n5")].concat()).unwrap();
    let g = s.introduce(5).unwrap();
    s.take_output();
    (s, d0, g)
}

pub(super) fn req(s: &mut Server, c: ConnId, ty: MsgType, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
    s.request(c, ty, 0, payload)
}

pub(super) fn events(s: &mut Server, c: ConnId) -> Vec<Vec<u8>> {
    s.take_output()
        .into_iter()
        .filter(|(to, m)| *to == c && m.ty == MsgType::WatchEvent)
        .map(|(_, m)| m.payload)
        .collect()
}

#[test]
fn relative_paths_and_ownership() {
    let (mut s, d0, g) = setup();
    assert_eq!(req(&mut s, g, MsgType::Write, wr("data/x", "1")), Ok(b"OK\0".to_vec()));
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/local/domain/5/data/x")), Ok(b"1".to_vec()));
    assert_eq!(req(&mut s, g, MsgType::GetPerms, p("data/x")), Ok(b"n5\0".to_vec()));
    assert_eq!(req(&mut s, g, MsgType::GetDomainPath, p("5")), Ok(p("/local/domain/5")));
    assert_eq!(req(&mut s, g, MsgType::Directory, p("data")), Ok(p("x")));
}

#[test]
fn guest_cannot_touch_what_it_does_not_own() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/local/domain/0/secret", b"k").unwrap();
    // Reads of Dom0's nodes, and probing for their existence, are refused.
    assert_eq!(req(&mut s, g, MsgType::Read, p("/local/domain/0/secret")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Read, p("/local/domain/0/nothing")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::SetPerms, [p("/local/domain/0/secret"), p("b5")].concat()), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Write, wr("/local/domain/0/secret", "x")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Rm, p("/local/domain/0")), Err(EACCES));
    // Its own node: it may set permissions, but not give it away.
    req(&mut s, g, MsgType::Write, wr("mine", "v")).unwrap();
    assert_eq!(req(&mut s, g, MsgType::SetPerms, [p("mine"), p("n7")].concat()), Err(EPERM));
    assert_eq!(req(&mut s, g, MsgType::SetPerms, [p("mine"), p("n5"), p("r7")].concat()), Ok(b"OK\0".to_vec()));
    // Dom0 can change the owner.
    assert_eq!(req(&mut s, d0, MsgType::SetPerms, [p("/local/domain/5/mine"), p("n0")].concat()), Ok(b"OK\0".to_vec()));
    assert_eq!(req(&mut s, g, MsgType::Write, wr("mine", "again")), Err(EACCES));
}

#[test]
fn malformed_requests() {
    let (mut s, _, g) = setup();
    assert_eq!(req(&mut s, g, MsgType::Read, p("nope")), Err(ENOENT));
    assert_eq!(req(&mut s, g, MsgType::Read, b"data".to_vec()), Err(EINVAL), "no terminating NUL");
    assert_eq!(req(&mut s, g, MsgType::Read, b"da\0ta\0".to_vec()), Err(EINVAL), "embedded NUL");
    assert_eq!(req(&mut s, g, MsgType::Read, p("bad path")), Err(EINVAL));
    assert_eq!(req(&mut s, g, MsgType::Read, p("a//b")), Err(EINVAL));
    let long = "a".repeat(crate::path::REL_PATH_MAX + 1);
    assert_eq!(req(&mut s, g, MsgType::Write, wr(&long, "v")), Err(EINVAL));
    assert_eq!(req(&mut s, g, MsgType::Unknown(99), p("x")), Err(ENOSYS));
    assert_eq!(req(&mut s, g, MsgType::Introduce, [p("6"), p("1"), p("2")].concat()), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::SetPerms, [p("x"), p("q1")].concat()), Err(EINVAL));
}

#[test]
fn node_quota() {
    let (mut s, _, g) = setup();
    let mut last = Ok(Vec::new());
    for i in 0..10_001 {
        // Ten directories: a node's children list counts in its size.
        last = req(&mut s, g, MsgType::Write, wr(&format!("d{}/n{i}", i % 10), "v"));
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(ENOSPC));
    // 1000 nodes owned by domain 5: its home, ten directories, 989 more.
    assert_eq!(s.owned_nodes(5), 1000);
    req(&mut s, g, MsgType::Rm, p("d0/n0")).unwrap();
    assert!(req(&mut s, g, MsgType::Write, wr("again", "v")).is_ok(), "removal returns quota");
}

#[test]
fn size_and_perm_quotas() {
    let (mut s, _, g) = setup();
    assert_eq!(req(&mut s, g, MsgType::Write, wr("big", &"x".repeat(2100))), Err(ENOSPC));
    req(&mut s, g, MsgType::Write, wr("p", "v")).unwrap();
    let many = [p("p"), p("n5"), p("r1"), p("r2"), p("r3"), p("r4"), p("r6")].concat();
    assert_eq!(req(&mut s, g, MsgType::SetPerms, many), Err(ENOSPC));
}

#[test]
fn watch_quota_and_events() {
    let (mut s, d0, g) = setup();
    for i in 0..128 {
        req(&mut s, g, MsgType::Watch, [p("data"), p(&format!("t{i}"))].concat()).unwrap();
    }
    assert_eq!(req(&mut s, g, MsgType::Watch, [p("data"), p("t128")].concat()), Err(E2BIG));
    assert_eq!(req(&mut s, g, MsgType::Watch, [p("data"), p("t1")].concat()), Err(EEXIST));
    req(&mut s, g, MsgType::ResetWatches, Vec::new()).unwrap();
    assert_eq!(events(&mut s, g).len(), 128, "one initial event per watch");
    req(&mut s, g, MsgType::Watch, [p("data"), p("tok")].concat()).unwrap();
    assert_eq!(events(&mut s, g), [[p("data"), p("tok")].concat()], "initial event, relative");
    s.write_as(d0, "/local/domain/5/data/k", b"1").unwrap();
    assert_eq!(events(&mut s, g), [[p("data/k"), p("tok")].concat()]);
    // A node the watcher may not read does not reach it.
    req(&mut s, g, MsgType::Watch, [p("/local/domain/0"), p("spy")].concat()).unwrap();
    events(&mut s, g);
    s.write_as(d0, "/local/domain/0/secret", b"1").unwrap();
    assert!(events(&mut s, g).is_empty());
    assert_eq!(req(&mut s, g, MsgType::Unwatch, [p("data"), p("nope")].concat()), Err(ENOENT));
}

#[test]
fn special_watches() {
    let (mut s, d0, _) = setup();
    req(&mut s, d0, MsgType::Watch, [p("@releaseDomain"), p("r")].concat()).unwrap();
    req(&mut s, d0, MsgType::Watch, [p("@introduceDomain"), p("i")].concat()).unwrap();
    events(&mut s, d0);
    s.introduce(9).unwrap();
    assert_eq!(events(&mut s, d0), [[p("@introduceDomain"), p("i")].concat()]);
    s.release(9).unwrap();
    assert_eq!(events(&mut s, d0), [[p("@releaseDomain"), p("r")].concat()]);
    assert_eq!(req(&mut s, d0, MsgType::IsDomainIntroduced, p("9")), Ok(p("F")));
}

pub(super) fn tx_start(s: &mut Server, c: ConnId) -> u32 {
    let id = s.request(c, MsgType::TransactionStart, 0, p("")).unwrap();
    core::str::from_utf8(id.strip_suffix(&[0]).unwrap()).unwrap().parse().unwrap()
}

#[test]
fn transactions_isolate_and_conflict() {
    let (mut s, d0, g) = setup();
    req(&mut s, g, MsgType::Write, wr("data/a", "1")).unwrap();
    let t = tx_start(&mut s, g);
    s.request(g, MsgType::Write, t, wr("data/b/c", "2")).unwrap();
    assert_eq!(req(&mut s, g, MsgType::Read, p("data/b/c")), Err(ENOENT), "isolated until commit");
    assert_eq!(s.request(g, MsgType::Read, t, p("data/a")), Ok(b"1".to_vec()));
    // A direct write to something the transaction read: EAGAIN.
    s.write_as(d0, "/local/domain/5/data/a", b"changed").unwrap();
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), Err(EAGAIN));
    assert_eq!(req(&mut s, g, MsgType::Read, p("data/b/c")), Err(ENOENT), "nothing applied");
    // Retried, it commits, nested parents included, and watches fire.
    req(&mut s, g, MsgType::Watch, [p("data"), p("w")].concat()).unwrap();
    events(&mut s, g);
    let t = tx_start(&mut s, g);
    s.request(g, MsgType::Write, t, wr("data/b/c", "2")).unwrap();
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), Ok(b"OK\0".to_vec()));
    assert_eq!(req(&mut s, g, MsgType::Read, p("data/b/c")), Ok(b"2".to_vec()));
    assert_eq!(req(&mut s, g, MsgType::Directory, p("data/b")), Ok(p("c")));
    // As xenstored: the written node fires, not the parent made for it.
    assert_eq!(events(&mut s, g), [[p("data/b/c"), p("w")].concat()]);
    // Removal in a transaction.
    let t = tx_start(&mut s, g);
    s.request(g, MsgType::Rm, t, p("data/b")).unwrap();
    s.request(g, MsgType::TransactionEnd, t, p("T")).unwrap();
    assert_eq!(req(&mut s, g, MsgType::Read, p("data/b/c")), Err(ENOENT));
}

#[test]
fn transaction_limits_and_resets() {
    let (mut s, _, g) = setup();
    for _ in 0..10 {
        tx_start(&mut s, g);
    }
    assert_eq!(s.request(g, MsgType::TransactionStart, 0, p("")), Err(ENOSPC));
    // RESET_WATCHES inside a transaction drops the transactions too.
    assert_eq!(s.request(g, MsgType::ResetWatches, 1, Vec::new()), Ok(b"OK\0".to_vec()));
    assert_eq!(s.request(g, MsgType::TransactionEnd, 1, p("T")), Err(ENOENT));
    assert_eq!(s.request(g, MsgType::Read, 3, p("data")), Err(ENOENT), "unknown transaction");
    let t = tx_start(&mut s, g);
    assert_eq!(s.request(g, MsgType::TransactionStart, t, p("")), Err(EBUSY), "no nesting");
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("X")), Err(EINVAL));
}

#[test]
fn release_in_the_middle_of_a_transaction() {
    let (mut s, d0, g) = setup();
    let t = tx_start(&mut s, g);
    s.request(g, MsgType::Write, t, wr("data/x", "1")).unwrap();
    let nodes = s.node_count();
    s.release(5).unwrap();
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), Err(EIO), "connection is gone");
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/local/domain/5")), Err(ENOENT), "home removed");
    assert!(s.node_count() < nodes);
    assert_eq!(s.conn_count(), 1);
    assert_eq!(s.release(5), Err(ENOENT));
}

#[test]
fn directory_part_pages() {
    let (mut s, d0, _) = setup();
    for i in 0..400 {
        s.write_as(d0, &format!("/big/child-with-a-long-name-{i:04}"), b"").unwrap();
    }
    let mut names = Vec::new();
    let mut off = 0;
    loop {
        let r = req(&mut s, d0, MsgType::DirectoryPart, [p("/big"), p(&off.to_string())].concat()).unwrap();
        assert!(r.len() <= crate::wire::PAYLOAD_MAX);
        let body = &r[r.iter().position(|&b| b == 0).unwrap() + 1..];
        let end = body.ends_with(&[0, 0]) || body == [0];
        let list = body.strip_suffix(&[0]).unwrap_or(body);
        let list = if end { list } else { body };
        for n in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            names.push(String::from_utf8(n.to_vec()).unwrap());
        }
        off += list.iter().filter(|&&b| b == 0).count() + list.iter().filter(|&&b| b != 0).count();
        if end {
            break;
        }
    }
    assert_eq!(names.len(), 400);
}

proptest! {
    /// Dom0's writes and removals against a map model.
    #[test]
    fn tree_matches_model(ops in proptest::collection::vec((0u8..3, "[a-c]{1,2}(/[a-c]{1,2}){0,2}", "[a-z]{0,3}"), 0..60)) {
        let mut s = Server::default();
        let d0 = s.connect(0, true);
        let mut model: std::collections::BTreeMap<String, String> = Default::default();
        for (op, path, val) in ops {
            let abs = format!("/t/{path}");
            match op {
                0 => {
                    s.write_as(d0, &abs, val.as_bytes()).unwrap();
                    let mut q = crate::path::parent(&abs);
                    while let Some(a) = q { if a == "/" { break; } model.entry(a.into()).or_default(); q = crate::path::parent(a); }
                    model.insert(abs, val);
                }
                1 => {
                    let _ = req(&mut s, d0, MsgType::Rm, p(&abs));
                    model.retain(|k, _| !crate::path::is_under(k, &abs));
                }
                _ => {
                    let got = req(&mut s, d0, MsgType::Read, p(&abs)).ok();
                    prop_assert_eq!(got, model.get(&abs).map(|v| v.clone().into_bytes()));
                }
            }
        }
    }

    /// Random requests from several domains never panic and keep quotas.
    #[test]
    fn random_messages_keep_invariants(msgs in proptest::collection::vec((0u8..3, 0u32..24, 0u32..3, proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(b'/'), Just(b'1'), Just(b'b'), Just(b'T'), Just(b'@'), any::<u8>()], 0..12)), 0..200)) {
        let mut s = Server::default();
        let conns = [s.connect(0, true), s.introduce(1).unwrap(), s.introduce(2).unwrap()];
        for (c, ty, tx, payload) in msgs {
            let m = Msg { ty: MsgType::from_u32(ty), req_id: 1, tx_id: tx, payload };
            s.handle(conns[c as usize], &m);
            let out = s.take_output();
            prop_assert!(out.iter().all(|(_, m)| m.payload.len() <= crate::wire::PAYLOAD_MAX));
        }
        prop_assert!(s.watch_count() <= 3 * 128);
    }
}
