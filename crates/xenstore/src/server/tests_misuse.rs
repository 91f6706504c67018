//! Misuse by a guest (or a sloppy Dom0 client), one test per finding of
//! the audit against xenstored 4.17: each failed before its fix.

use super::tests::{events, p, req, setup, tx_start, wr};
use super::*;
use crate::wire::XsError::*;

const OK: Result<Vec<u8>, XsError> = Ok(Vec::new());

fn ok_reply() -> Result<Vec<u8>, XsError> {
    Ok(b"OK\0".to_vec())
}

fn perms(s: &mut Server, d0: ConnId, path: &str, list: &[&str]) {
    let mut v = p(path);
    for l in list {
        v.extend_from_slice(&p(l));
    }
    s.request(d0, MsgType::SetPerms, 0, v).unwrap();
}

// 1. Writes inside a transaction count against the node quota as they go.
#[test]
fn transaction_writes_count_against_the_node_quota() {
    let (mut s, _, g) = setup();
    let t = tx_start(&mut s, g);
    let mut last = OK;
    for i in 0..2000 {
        last = s.request(g, MsgType::Write, t, wr(&format!("d{}/n{i}", i % 10), "v"));
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(ENOSPC));
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), ok_reply());
    assert_eq!(s.owned_nodes(5), 1000);
}

#[test]
fn a_transaction_touches_at_most_trans_nodes() {
    let mut s = Server::new(Quotas { nodes: 100_000, ..Quotas::default() });
    let d0 = s.connect(0, true);
    s.write_as(d0, "/local/domain/5", b"").unwrap();
    perms(&mut s, d0, "/local/domain/5", &["n5"]);
    let g = s.introduce(5).unwrap();
    let t = tx_start(&mut s, g);
    let mut n = 0;
    while s.request(g, MsgType::Write, t, wr(&format!("d{}/n{n}", n % 50), "")).is_ok() {
        n += 1;
    }
    // Each write touches the node, maybe its directory, and the home.
    assert!(n < Quotas::default().trans_nodes, "{n} writes");
    assert_eq!(s.request(g, MsgType::Write, t, wr("x", "")), Err(ENOSPC));
}

// 2. Concurrent transactions cannot together exceed the node quota.
#[test]
fn ten_transactions_do_not_bypass_the_node_quota() {
    let (mut s, _, g) = setup();
    let ts: Vec<u32> = (0..10).map(|_| tx_start(&mut s, g)).collect();
    for (k, &t) in ts.iter().enumerate() {
        for i in 0..99 {
            s.request(g, MsgType::Write, t, wr(&format!("t{k}/n{i}"), "v")).unwrap();
        }
    }
    let results: Vec<_> = ts.iter().map(|&t| s.request(g, MsgType::TransactionEnd, t, p("T"))).collect();
    // The home and nine transactions of 100 nodes: 901. The tenth would
    // make 1001. (Each commit also moved the home, so later ones conflict
    // first: what matters is that the quota holds.)
    assert!(results.iter().all(|r| *r == ok_reply() || *r == Err(ENOSPC) || *r == Err(EAGAIN)), "{results:?}");
    assert!(s.owned_nodes(5) <= 1000, "{}", s.owned_nodes(5));
    // Without conflicts (separate parents owned by Dom0, writable by 5):
    let (mut s, d0, g) = setup();
    for k in 0..10 {
        s.write_as(d0, &format!("/tool/t{k}"), b"").unwrap();
        perms(&mut s, d0, &format!("/tool/t{k}"), &["n0", "w5"]);
    }
    let ts: Vec<u32> = (0..10).map(|_| tx_start(&mut s, g)).collect();
    for (k, &t) in ts.iter().enumerate() {
        for i in 0..100 {
            s.request(g, MsgType::Write, t, wr(&format!("/tool/t{k}/n{i}"), "v")).unwrap();
        }
    }
    let results: Vec<_> = ts.iter().map(|&t| s.request(g, MsgType::TransactionEnd, t, p("T"))).collect();
    assert_eq!(results[..9], vec![ok_reply(); 9][..]);
    assert_eq!(results[9], Err(ENOSPC), "1 + 10 x 100 nodes");
    assert_eq!(s.owned_nodes(5), 901);
}

// 3. A transaction costs what it touches, not a copy of the store.
#[test]
fn transaction_start_copies_nothing() {
    let (mut s, d0, g) = setup();
    for i in 0..3000 {
        s.write_as(d0, &format!("/tool/big/k{i}"), b"some value").unwrap();
    }
    let before = s.domain_memory(5);
    let t = tx_start(&mut s, g);
    assert_eq!(s.domain_memory(5), before);
    s.request(g, MsgType::Read, t, p("name")).unwrap_err();
    let one = s.domain_memory(5) - before;
    assert!(one > 0 && one < 200, "{one} bytes for the nodes looked at");
    // Unrelated changes do not conflict.
    s.write_as(d0, "/tool/big/k7", b"changed").unwrap();
    s.request(g, MsgType::Write, t, wr("data", "1")).unwrap();
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), ok_reply());
    s.take_output();
    assert_eq!(s.domain_memory(5), s.acct.mem(5), "the copies are released");
}

// 4. Outstanding requests, queued output and broken rings are bounded.
#[test]
fn outstanding_requests_stop_reading() {
    let (mut s, _, g) = setup();
    let read = Msg { ty: MsgType::Read, req_id: 1, tx_id: 0, payload: p("nope") };
    let mut served = 0;
    while s.request_room(g) > 0 && served < 100 {
        s.handle(g, &read);
        served += 1;
    }
    assert_eq!(served, 20);
    assert!(s.pop_output(g).is_some());
    assert_eq!(s.request_room(g), 1);
}

#[test]
fn watch_events_of_a_guest_that_does_not_read_are_bounded() {
    let mut s = Server::new(Quotas { memory: 64 * 1024, ..Quotas::default() });
    let d0 = s.connect(0, true);
    s.write_as(d0, "/tool/pub", b"").unwrap();
    perms(&mut s, d0, "/tool/pub", &["n0", "r5"]);
    let g = s.introduce(5).unwrap();
    req(&mut s, g, MsgType::Watch, [p("/tool/pub"), p("t")].concat()).unwrap();
    for i in 0..20_000 {
        s.write_as(d0, &format!("/tool/pub/k{i}"), b"").unwrap();
    }
    assert!(s.queued_bytes(g) <= 64 * 1024, "{}", s.queued_bytes(g));
    assert!(s.dropped_events(g) > 10_000);
    // Identical pending events are sent once.
    let before = s.queued_bytes(g);
    while s.pop_output(g).is_some() {}
    for _ in 0..100 {
        s.write_as(d0, "/tool/pub/k1", b"x").unwrap();
    }
    assert_eq!(events(&mut s, g).len(), 1);
    assert!(before > 0);
}

#[test]
fn a_broken_ring_loses_its_watches_and_transactions() {
    let (mut s, d0, g) = setup();
    req(&mut s, g, MsgType::Watch, [p("data"), p("t")].concat()).unwrap();
    tx_start(&mut s, g);
    s.ignore(g);
    assert_eq!(s.watch_count(), 0);
    assert_eq!(s.request_room(g), 0);
    s.write_as(d0, "/local/domain/5/data", b"x").unwrap();
    assert!(!s.has_output(g));
    assert!(s.is_introduced(5), "until released");
}

// 5. Nothing above XENSTORE_PAYLOAD_MAX; node size includes the children.
#[test]
fn directory_too_big_is_e2big() {
    let (mut s, d0, _) = setup();
    for i in 0..200 {
        s.write_as(d0, &format!("/big/child-with-a-long-name-{i:04}"), b"").unwrap();
    }
    assert_eq!(req(&mut s, d0, MsgType::Directory, p("/big")), Err(E2BIG));
    let r = req(&mut s, d0, MsgType::DirectoryPart, [p("/big"), p("0")].concat()).unwrap();
    assert!(r.len() <= crate::wire::PAYLOAD_MAX);
}

#[test]
fn over_long_watch_events_are_dropped() {
    let (mut s, d0, g) = setup();
    let token = "t".repeat(4000);
    req(&mut s, g, MsgType::Watch, [p("data"), p(&token)].concat()).unwrap();
    assert_eq!(events(&mut s, g).len(), 1, "the initial event fits");
    let long = "x".repeat(200);
    s.write_as(d0, &format!("/local/domain/5/data/{long}"), b"").unwrap();
    s.write_as(d0, "/local/domain/5/data/k", b"").unwrap();
    let ev = events(&mut s, g);
    assert_eq!(ev, [[p("data/k"), p(&token)].concat()]);
}

#[test]
fn node_size_counts_the_children_list() {
    let (mut s, _, g) = setup();
    let mut last = OK;
    for i in 0..40 {
        last = req(&mut s, g, MsgType::Write, wr(&format!("dir/{}{i:03}", "c".repeat(97)), ""));
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(ENOSPC));
    let list = req(&mut s, g, MsgType::Directory, p("dir")).unwrap();
    assert!(list.len() < 2048 && list.len() > 1800, "{}", list.len());
}

// 6. MKDIR on an existing node needs write permission.
#[test]
fn mkdir_does_not_reveal_unwritable_nodes() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/tool/ro", b"").unwrap();
    perms(&mut s, d0, "/tool/ro", &["n0", "r5"]);
    assert_eq!(req(&mut s, g, MsgType::Mkdir, p("/local/domain/0/name")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Mkdir, p("/local/domain/0/nothing")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Mkdir, p("/tool/ro")), Err(EACCES));
    assert_eq!(req(&mut s, g, MsgType::Mkdir, p("data")), ok_reply());
    assert_eq!(req(&mut s, g, MsgType::Mkdir, p("data")), ok_reply());
}

// 7. Removal and permission changes reach watchers who could read.
#[test]
fn removing_an_unreadable_ancestor_fires_for_readable_nodes() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/tool/hidden/x", b"").unwrap();
    perms(&mut s, d0, "/tool/hidden/x", &["n0", "r5"]);
    req(&mut s, g, MsgType::Watch, [p("/tool/hidden/x"), p("w")].concat()).unwrap();
    events(&mut s, g);
    req(&mut s, d0, MsgType::Rm, p("/tool/hidden")).unwrap();
    assert_eq!(events(&mut s, g), [[p("/tool/hidden/x"), p("w")].concat()]);
}

#[test]
fn losing_read_access_still_fires() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/tool/p", b"").unwrap();
    perms(&mut s, d0, "/tool/p", &["n0", "r5"]);
    req(&mut s, g, MsgType::Watch, [p("/tool/p"), p("w")].concat()).unwrap();
    events(&mut s, g);
    perms(&mut s, d0, "/tool/p", &["n0"]);
    assert_eq!(events(&mut s, g), [[p("/tool/p"), p("w")].concat()]);
    perms(&mut s, d0, "/tool/p", &["n0", "n5"]);
    assert!(events(&mut s, g).is_empty(), "no access before or after");
}

// 8. INTRODUCE and RELEASE as messages do what the toolstack's calls do.
#[derive(Default)]
struct Recorder(Vec<(u16, u64, u32, bool)>, Vec<u16>);

impl Host for Recorder {
    fn introduce(&mut self, domid: u16, _: ConnId, gfn: u64, port: u32, again: bool) -> Result<(), XsError> {
        if gfn == 666 {
            return Err(EINVAL);
        }
        self.0.push((domid, gfn, port, again));
        Ok(())
    }
    fn release(&mut self, domid: u16, _: ConnId) {
        self.1.push(domid);
    }
}

#[test]
fn introduce_and_release_by_message() {
    let (mut s, d0, _) = setup();
    let mut h = Recorder::default();
    let intro = |d: &str, gfn: &str| [p(d), p(gfn), p("3")].concat();
    assert_eq!(s.request_with(d0, MsgType::Introduce, 0, intro("7", "100"), &mut h), ok_reply());
    assert_eq!(req(&mut s, d0, MsgType::IsDomainIntroduced, p("7")), Ok(p("T")));
    let c = s.domain_conn(7).unwrap();
    req(&mut s, c, MsgType::Watch, [p("data"), p("t")].concat()).unwrap();
    // Again: the channel is bound anew, the connection reset, no EEXIST.
    assert_eq!(s.request_with(d0, MsgType::Introduce, 0, intro("7", "100"), &mut h), ok_reply());
    assert_eq!((s.domain_conn(7), s.watch_count()), (Some(c), 0));
    assert_eq!(h.0, [(7, 100, 3, false), (7, 100, 3, true)]);
    // A ring the host cannot map is refused, and nothing is introduced.
    assert_eq!(s.request_with(d0, MsgType::Introduce, 0, intro("8", "666"), &mut h), Err(EINVAL));
    assert_eq!(req(&mut s, d0, MsgType::IsDomainIntroduced, p("8")), Ok(p("F")));
    assert_eq!(s.request_with(d0, MsgType::Introduce, 0, [p("9"), p("1"), p("0")].concat(), &mut h), Err(EINVAL));
    assert_eq!(s.request_with(d0, MsgType::Release, 0, p("7"), &mut h), ok_reply());
    assert_eq!(h.1, [7]);
    assert_eq!(req(&mut s, d0, MsgType::IsDomainIntroduced, p("7")), Ok(p("F")));
    assert_eq!(req(&mut s, d0, MsgType::Release, p("7")), Err(ENOENT));
    assert_eq!(req(&mut s, d0, MsgType::Release, p("0")), Err(EINVAL));
}

// Semantic gaps.
#[test]
fn release_removes_what_the_domain_owns_and_its_permission_entries() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/tool/mine", b"").unwrap();
    perms(&mut s, d0, "/tool/mine", &["n5"]);
    s.write_as(d0, "/tool/mine/sub", b"").unwrap();
    s.write_as(d0, "/tool/shared", b"").unwrap();
    perms(&mut s, d0, "/tool/shared", &["n0", "r5", "b6"]);
    req(&mut s, g, MsgType::Write, wr("data", "1")).unwrap();
    s.write_as(d0, "/local/domain/6", b"").unwrap();
    req(&mut s, d0, MsgType::Watch, [p("/tool"), p("w")].concat()).unwrap();
    events(&mut s, d0);
    s.release(5).unwrap();
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/tool/mine/sub")), Err(ENOENT));
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/local/domain/5")), Err(ENOENT), "owned by 5");
    assert_eq!(req(&mut s, d0, MsgType::GetPerms, p("/tool/shared")), Ok([p("n0"), p("b6")].concat()));
    assert_eq!(s.owned_nodes(5), 0);
    let ev = events(&mut s, d0);
    assert!(ev.contains(&[p("/tool/mine"), p("w")].concat()), "{ev:?}");
    // A new domain 5 inherits nothing.
    let g = s.introduce(5).unwrap();
    assert_eq!(req(&mut s, g, MsgType::Read, p("/tool/shared")), Err(EACCES));
    // A home owned by Dom0 is the toolstack's to remove.
    s.write_as(d0, "/local/domain/9/name", b"x").unwrap();
    s.introduce(9).unwrap();
    s.release(9).unwrap();
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/local/domain/9/name")), Ok(b"x".to_vec()));
}

#[test]
fn release_domain_fires_on_shutdown_once_until_resume() {
    let (mut s, d0, _) = setup();
    req(&mut s, d0, MsgType::Watch, [p("@releaseDomain"), p("r")].concat()).unwrap();
    events(&mut s, d0);
    assert!(s.domain_shutdown(5));
    assert!(!s.domain_shutdown(5));
    assert_eq!(events(&mut s, d0).len(), 1);
    assert_eq!(req(&mut s, d0, MsgType::Resume, p("5")), ok_reply());
    assert!(s.domain_shutdown(5));
    s.domain_gone(5);
    assert_eq!(events(&mut s, d0).len(), 2, "shutdown, then death");
    s.domain_gone(5);
    assert!(events(&mut s, d0).is_empty(), "not introduced any more");
}

#[test]
fn special_watch_permissions() {
    let (mut s, d0, g) = setup();
    req(&mut s, g, MsgType::Watch, [p("@releaseDomain"), p("r")].concat()).unwrap();
    events(&mut s, g);
    s.introduce(9).unwrap();
    s.release(9).unwrap();
    assert!(events(&mut s, g).is_empty(), "unprivileged: not by default");
    let set = |who| [p("@releaseDomain"), p(who), p("r5")].concat();
    assert_eq!(req(&mut s, g, MsgType::SetPerms, set("n5")), Err(EACCES));
    assert_eq!(req(&mut s, d0, MsgType::SetPerms, set("n0")), ok_reply());
    assert_eq!(req(&mut s, d0, MsgType::SetPerms, [p("@other"), p("n0")].concat()), Err(EINVAL));
    assert_eq!(req(&mut s, d0, MsgType::GetPerms, p("@releaseDomain")), Err(EINVAL), "as 4.17");
    s.introduce(9).unwrap();
    s.release(9).unwrap();
    assert_eq!(events(&mut s, g), [[p("@releaseDomain"), p("r")].concat()]);
    req(&mut s, g, MsgType::Watch, [p("@introduceDomain"), p("i")].concat()).unwrap();
    events(&mut s, g);
    s.introduce(9).unwrap();
    assert!(events(&mut s, g).is_empty());
}

/// A relative name of exactly `n` bytes in segments short enough for the
/// node-size quota.
fn long(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        if !s.is_empty() && s.len() % 500 == 499 {
            s.push('/');
        } else {
            s.push('a');
        }
    }
    s
}

#[test]
fn path_length_as_xenstored() {
    let (mut s, d0, g) = setup();
    // Outside the domains' homes the whole name counts: 2048 bytes.
    assert_eq!(req(&mut s, d0, MsgType::Write, wr(&format!("/{}", long(2047)), "")), ok_reply());
    assert_eq!(req(&mut s, d0, MsgType::Write, wr(&format!("/{}", long(2048)), "")), Err(EINVAL));
    // Below a home, 2048 bytes after `/local/domain/N/`, however named.
    assert_eq!(req(&mut s, g, MsgType::Write, wr(&long(2048), "")), ok_reply());
    assert_eq!(req(&mut s, g, MsgType::Write, wr(&format!("/local/domain/5/{}", long(2048)), "v")), ok_reply());
    assert_eq!(req(&mut s, g, MsgType::Write, wr(&long(2049), "")), Err(EINVAL));
    assert_eq!(req(&mut s, d0, MsgType::Write, wr(&format!("/local/domain/5/{}", long(2049)), "")), Err(EINVAL));
}

#[test]
fn rm_of_a_missing_node() {
    let (mut s, d0, g) = setup();
    s.write_as(d0, "/local/domain/5/ro", b"").unwrap();
    perms(&mut s, d0, "/local/domain/5/ro", &["n0", "r5"]);
    req(&mut s, g, MsgType::Write, wr("data", "")).unwrap();
    assert_eq!(req(&mut s, g, MsgType::Rm, p("data/none")), ok_reply(), "its parent exists");
    assert_eq!(req(&mut s, g, MsgType::Rm, p("a/b/c")), Err(ENOENT));
    assert_eq!(req(&mut s, g, MsgType::Rm, p("ro/missing")), Err(EACCES), "readable, not writable");
    assert_eq!(req(&mut s, g, MsgType::Rm, p("/local/domain/0/none")), Err(EACCES));
}

#[test]
fn directory_part_past_the_end() {
    let (mut s, d0, _) = setup();
    s.write_as(d0, "/d/a", b"").unwrap();
    let r = req(&mut s, d0, MsgType::DirectoryPart, [p("/d"), p("100")].concat()).unwrap();
    assert!(r.ends_with(&[0, 0]) && r.iter().filter(|&&b| b == 0).count() == 2, "{r:?}");
    let r = req(&mut s, d0, MsgType::DirectoryPart, [p("/d"), p("0")].concat()).unwrap();
    assert!(r.ends_with(b"\0a\0\0"), "{r:?}");
}

#[test]
fn set_target_needs_both_domains() {
    let (mut s, d0, _) = setup();
    assert_eq!(req(&mut s, d0, MsgType::SetTarget, [p("5"), p("77")].concat()), Err(ENOENT));
    assert_eq!(req(&mut s, d0, MsgType::SetTarget, [p("77"), p("5")].concat()), Err(ENOENT));
    s.introduce(6).unwrap();
    assert_eq!(req(&mut s, d0, MsgType::SetTarget, [p("6"), p("5")].concat()), ok_reply());
}

#[test]
fn unknown_transaction_for_every_operation() {
    let (mut s, _, g) = setup();
    for (ty, payload) in [
        (MsgType::GetDomainPath, p("5")),
        (MsgType::ResetWatches, Vec::new()),
        (MsgType::TransactionStart, p("")),
        (MsgType::Read, p("data")),
        (MsgType::TransactionEnd, p("T")),
    ] {
        assert_eq!(s.request(g, ty, 42, payload), Err(ENOENT), "{ty:?}");
    }
    // WATCH ignores the transaction.
    assert_eq!(s.request(g, MsgType::Watch, 42, [p("data"), p("t")].concat()), ok_reply());
    assert_eq!(req(&mut s, g, MsgType::IsDomainIntroduced, p("5")), Err(EACCES), "privileged only in 4.17");
}

#[test]
fn commit_fires_only_for_changed_nodes() {
    let (mut s, _, g) = setup();
    req(&mut s, g, MsgType::Write, wr("data/a", "1")).unwrap();
    req(&mut s, g, MsgType::Watch, [p("data"), p("w")].concat()).unwrap();
    events(&mut s, g);
    let t = tx_start(&mut s, g);
    s.request(g, MsgType::Read, t, p("data/a")).unwrap();
    s.request(g, MsgType::Write, t, wr("data/b/c", "2")).unwrap();
    s.request(g, MsgType::Rm, t, p("data/a")).unwrap();
    s.request(g, MsgType::TransactionEnd, t, p("T")).unwrap();
    let mut ev = events(&mut s, g);
    ev.sort();
    // Not `data` (its children changed), not `data/b` (made for `data/b/c`).
    assert_eq!(ev, [[p("data/a"), p("w")].concat(), [p("data/b/c"), p("w")].concat()]);
}

#[test]
fn bad_requests_get_errors_not_panics() {
    let (mut s, _, g) = setup();
    for ty in 0..30 {
        for payload in [Vec::new(), vec![0], vec![0xff; 5000], p("@x"), p("/"), [p("/"), p("0")].concat()] {
            let m = Msg { ty: MsgType::from_u32(ty), req_id: 9, tx_id: 0, payload };
            s.handle(g, &m);
        }
    }
    let out = s.take_output();
    assert!(out.iter().all(|(_, m)| m.payload.len() <= crate::wire::PAYLOAD_MAX));
    assert_eq!(req(&mut s, g, MsgType::Read, p("/")), Err(EACCES));
}

/// Linux's `shutdown_handler` (drivers/xen/manage.c): on the watch event,
/// a transaction reads `control/shutdown`, clears it and commits.
#[test]
fn linux_shutdown_handshake() {
    let mut s = Server::default();
    let d0 = s.connect(0, true);
    for (path, perm) in
        [("/local/domain/1", "n0"), ("/local/domain/1/control", "n0"), ("/local/domain/1/control/shutdown", "n1")]
    {
        s.write_as(d0, path, b"").unwrap();
        let list: &[&str] = if perm == "n0" { &["n0", "r1"] } else { &["n1"] };
        perms(&mut s, d0, path, list);
    }
    let g = s.introduce(1).unwrap();
    req(&mut s, g, MsgType::ResetWatches, Vec::new()).unwrap();
    req(&mut s, g, MsgType::Watch, [p("control/shutdown"), p("FFFF0000")].concat()).unwrap();
    assert_eq!(events(&mut s, g).len(), 1);
    s.write_as(d0, "/local/domain/1/control/shutdown", b"poweroff").unwrap();
    assert_eq!(events(&mut s, g), [[p("control/shutdown"), p("FFFF0000")].concat()]);
    let t = tx_start(&mut s, g);
    assert_eq!(s.request(g, MsgType::Read, t, p("control/shutdown")), Ok(b"poweroff".to_vec()));
    assert_eq!(s.request(g, MsgType::Write, t, wr("control/shutdown", "")), ok_reply());
    assert_eq!(s.request(g, MsgType::TransactionEnd, t, p("T")), ok_reply());
    assert_eq!(req(&mut s, d0, MsgType::Read, p("/local/domain/1/control/shutdown")), Ok(Vec::new()));
}
