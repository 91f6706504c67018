//! Store requests a guest has no business sending, each answered by Dom0
//! with an error while the connection goes on working: malformed and
//! unknown requests, paths no valid name has, bogus transactions, quotas
//! overrun, other domains' nodes, and many requests whose replies it does
//! not read. Each step prints `hostile: <what>: <what Dom0 answered>`.

use super::raw::{z, Got, Raw};
use crate::xen::yield_until;
use alloc::format;
use alloc::vec::Vec;
use xen_abi::io::xenstore as r;
use xencons::RingPage;
use xenstore::{Msg, MsgType};

fn step(x: &mut Raw<'_>, what: &str, ty: MsgType, tx: u32, payload: &[u8]) {
    let got = x.ask(ty, tx, payload);
    say!("hostile: {what}: {got}");
}

/// Requests Dom0 must refuse: unknown or privileged types, payloads
/// that are not NUL-terminated strings, invalid names, transactions that
/// do not exist, node and permission quotas.
pub fn malformed(x: &mut Raw<'_>, me: u16) {
    use MsgType::*;
    for (what, ty) in [("unknown type 99", 99), ("unknown type 4294967295", u32::MAX)] {
        let got = x.ask_num(ty, 0, &z(&[b"domid"]));
        say!("hostile: {what}: {got}");
    }
    step(x, "ERROR sent by a guest", Error, 0, &z(&[b"EINVAL"]));
    step(x, "WATCH_EVENT sent by a guest", WatchEvent, 0, &z(&[b"domid", b"token"]));
    step(x, "INTRODUCE", Introduce, 0, &z(&[b"7", b"4660", b"1"]));
    step(x, "RELEASE of Dom0", Release, 0, &z(&[b"0"]));
    step(x, "SET_TARGET", SetTarget, 0, &z(&[format!("{me}").as_bytes(), b"0"]));
    step(x, "IS_DOMAIN_INTRODUCED", IsDomainIntroduced, 0, &z(&[b"0"]));
    step(x, "RESUME", Resume, 0, &z(&[b"0"]));
    step(x, "CONTROL", Control, 0, &z(&[b"log", b"on"]));
    step(x, "read of a path without NUL", Read, 0, b"domid");
    step(x, "read of two paths", Read, 0, &z(&[b"domid", b"name"]));
    step(x, "read of an empty payload", Read, 0, b"");
    step(x, "read of a non-UTF-8 path", Read, 0, b"data/\xff\xfe\xc0\x80\0");
    step(x, "read of a path with control characters", Read, 0, b"data/\x1b[2J\x07\n\0");
    step(x, "write to a path with control characters", Write, 0, b"data/\x01\x02\0value");
    step(x, "write without a NUL", Write, 0, b"data/x");
    step(x, "read of ../0/name", Read, 0, &z(&[b"../0/name"]));
    let long_rel = format!("data/{}", "p".repeat(2044));
    step(x, "read of a 2049-byte relative path", Read, 0, &z(&[long_rel.as_bytes()]));
    let mut w = z(&[long_rel.as_bytes()]);
    w.extend_from_slice(b"v");
    step(x, "write to a 2049-byte relative path", Write, 0, &w);
    let long_abs = format!("/{}", "a".repeat(3072));
    step(x, "read of a 3073-byte absolute path", Read, 0, &z(&[long_abs.as_bytes()]));
    step(x, "read in a bogus transaction", Read, 0xdead_beef, &z(&[b"domid"]));
    step(x, "write in a bogus transaction", Write, 0xdead_beef, b"data/x\0v");
    step(x, "TRANSACTION_END of a bogus transaction", TransactionEnd, 0xdead_beef, &z(&[b"T"]));
    step(x, "TRANSACTION_START in a bogus transaction", TransactionStart, 0xdead_beef, &z(&[b""]));
    if let Some(tx) = x.ask(TransactionStart, 0, &z(&[b""])).text().and_then(|t| t.parse().ok()) {
        step(x, "TRANSACTION_END with argument X", TransactionEnd, tx, &z(&[b"X"]));
        step(x, "TRANSACTION_END of it with F", TransactionEnd, tx, &z(&[b"F"]));
    }
    step(x, "GET_DOMAIN_PATH of abc", GetDomainPath, 0, &z(&[b"abc"]));
    step(x, "DIRECTORY_PART at offset abc", DirectoryPart, 0, &z(&[b"data", b"abc"]));
    step(x, "SET_PERMS with entry x9", SetPerms, 0, &z(&[b"data/greeting", b"x9"]));
    let me_n = format!("n{me}");
    let six: [&[u8]; 7] = [b"data/greeting", me_n.as_bytes(), b"r0", b"r1", b"r2", b"r3", b"r4"];
    step(x, "SET_PERMS with 6 entries", SetPerms, 0, &z(&six));
    step(x, "SET_PERMS giving data/greeting to Dom0", SetPerms, 0, &z(&[b"data/greeting", b"n0"]));
    let mut big = z(&[b"data/big"]);
    big.extend_from_slice(&[b'v'; 3000]);
    step(x, "write of a 3000-byte value", Write, 0, &big);
    step(x, "WATCH with one argument", Watch, 0, &z(&[b"data"]));
    step(x, "WATCH of a path with control characters", Watch, 0, &z(&[b"data/\x1b", b"t"]));
    step(x, "UNWATCH of a watch never set", Unwatch, 0, &z(&[b"data", b"nope"]));
}

/// Reads, writes and listings of Dom0's and the peer's nodes: all
/// `EACCES`, existing or not (existence does not leak either).
pub fn other_domains(x: &mut Raw<'_>, me: u16, peer: u16) {
    use MsgType::*;
    let home = format!("/local/domain/{peer}");
    step(x, "read /local/domain/0/name", Read, 0, &z(&[b"/local/domain/0/name"]));
    step(x, "directory /local/domain/0", Directory, 0, &z(&[b"/local/domain/0"]));
    for node in ["name", "domid", "data/greeting", "data/secret", "no-such-node"] {
        let p = format!("{home}/{node}");
        step(x, &format!("read {p}"), Read, 0, &z(&[p.as_bytes()]));
    }
    step(x, &format!("directory {home}"), Directory, 0, &z(&[home.as_bytes()]));
    let data = format!("{home}/data");
    step(x, &format!("get-perms {data}"), GetPerms, 0, &z(&[data.as_bytes()]));
    let evil = format!("{home}/data/evil");
    step(x, &format!("write {evil}"), Write, 0, format!("{evil}\0pwned").as_bytes());
    step(x, &format!("mkdir {home}/evil"), Mkdir, 0, &z(&[format!("{home}/evil").as_bytes()]));
    let greeting = format!("{home}/data/greeting");
    step(x, &format!("rm {greeting}"), Rm, 0, &z(&[greeting.as_bytes()]));
    let mine = format!("b{me}");
    step(x, &format!("set-perms {data} {mine}"), SetPerms, 0, &z(&[data.as_bytes(), mine.as_bytes()]));
    if let Some(tx) = x.ask(TransactionStart, 0, &z(&[b""])).text().and_then(|t| t.parse().ok()) {
        step(x, &format!("read {greeting} in a transaction"), Read, tx, &z(&[greeting.as_bytes()]));
        step(x, &format!("write {evil} in a transaction"), Write, tx, format!("{evil}\0pwned").as_bytes());
        step(x, "TRANSACTION_END of it with T", TransactionEnd, tx, &z(&[b"T"]));
    }
}

/// A token of `len` bytes starting with `head`.
fn token(head: &str, len: usize) -> Vec<u8> {
    let mut t = Vec::from(head.as_bytes());
    t.resize(len, b'k');
    t
}

/// Watches with huge tokens, an event that would be longer than a
/// message may be, and the watch quota; leaves no watch behind.
pub fn watches(x: &mut Raw<'_>) {
    use MsgType::*;
    x.events.clear();
    let t = token("huge", 4000);
    step(x, "WATCH with a 4000-byte token", Watch, 0, &z(&[b"data/greeting", &t]));
    x.sync();
    let whole = x.events_for("huge").filter(|e| e.token_len == 4000 && e.path == "data/greeting").count();
    say!("hostile: events with the 4000-byte token, whole: {whole}");
    step(x, "UNWATCH of it", Unwatch, 0, &z(&[b"data/greeting", &t]));

    // Its events would be longer than XENSTORE_PAYLOAD_MAX: dropped.
    let t = token("long", 4085);
    step(x, "WATCH of data/w with a 4085-byte token", Watch, 0, &z(&[b"data/w", &t]));
    step(x, "write of data/w/a-child (event over 4096 bytes)", Write, 0, b"data/w/a-child\0x");
    let sync = x.sync();
    let n = x.events_for("long").count();
    say!("hostile: events for the 4085-byte token: {n}, then read domid: {sync}");
    step(x, "UNWATCH of it", Unwatch, 0, &z(&[b"data/w", &t]));
    step(x, "rm data/w", Rm, 0, &z(&[b"data/w"]));

    // The quota: 128 watches (xenstored 4.17), whatever their tokens.
    step(x, "RESET_WATCHES", ResetWatches, 0, b"");
    x.events.clear();
    x.events_lost = 0;
    let (mut accepted, mut refused) = (0, Got::NoReply);
    for i in 0..140 {
        let t = token(&format!("q{i:03}-"), 1000);
        match x.ask(Watch, 0, &z(&[b"data", &t])) {
            Got::Ok(_) => accepted += 1,
            other => {
                refused = other;
                break;
            }
        }
    }
    say!("hostile: watches with 1000-byte tokens: {accepted} accepted, then {refused}");
    x.sync();
    let fired = x.events_for("q").filter(|e| e.token_len == 1000).count() + x.events_lost;
    say!("hostile: their first events: {fired}");
    step(x, "RESET_WATCHES", ResetWatches, 0, b"");
    x.events.clear();
    x.events_lost = 0;
}

/// The transaction quota (10, xenstored 4.17): the transactions stay
/// open (the ring break or the domain's end must drop them).
pub fn transactions(x: &mut Raw<'_>) {
    let (mut opened, mut refused) = (0, Got::NoReply);
    for _ in 0..12 {
        match x.ask(MsgType::TransactionStart, 0, &z(&[b""])) {
            Got::Ok(_) => opened += 1,
            other => {
                refused = other;
                break;
            }
        }
    }
    say!("hostile: transactions: {opened} opened, then {refused}");
}

/// Sends `n` reads without reading the replies: Dom0 must stop taking
/// requests at its outstanding-request quota (20 replies waiting besides
/// what fills the reply ring), then answer every one, in order, once the
/// guest reads.
pub fn unread_requests(x: &mut Raw<'_>, n: usize) {
    let page = x.ring.page();
    // What each read returns (asked before: nothing is outstanding).
    let domid = match x.sync() {
        Got::Ok(v) => v,
        _ => Vec::new(),
    };
    let base = x.id();
    for _ in 0..n {
        x.id();
    }
    let msg = |i: usize| Msg { ty: MsgType::Read, req_id: base + i as u32, tx_id: 0, payload: z(&[b"domid"]) }.emit();
    let len = msg(0).len();
    let wire: Vec<u8> = (0..n).flat_map(msg).collect();
    let cons0 = page.load(r::REQ_CONS);
    let mut sent = 0;
    // Write while Dom0 takes them, reading nothing, until it has taken
    // nothing for 3 s with the request ring full.
    loop {
        sent += x.ring.try_send(&wire[sent..]).unwrap_or(0);
        if sent == wire.len() {
            break;
        }
        let c = page.load(r::REQ_CONS);
        if yield_until(|| page.load(r::REQ_CONS) != c, 3).is_err() {
            break;
        }
    }
    let taken = page.load(r::REQ_CONS).wrapping_sub(cons0) as usize / len;
    // Read the replies, writing the rest of the requests as room comes.
    let (mut got, mut in_order) = (0, true);
    while got < n {
        let mut progress = false;
        if sent < wire.len() {
            let k = x.ring.try_send(&wire[sent..]).unwrap_or(0);
            sent += k;
            progress |= k > 0;
        }
        while let Ok(Some(m)) = x.ring.try_recv() {
            progress = true;
            if m.ty == MsgType::WatchEvent {
                x.note(&m);
                continue;
            }
            in_order &= m.req_id == base + got as u32 && m.ty == MsgType::Read && m.payload == domid;
            got += 1;
        }
        let idle = || page.load(r::RSP_PROD) == page.load(r::RSP_CONS);
        if !progress && got < n && yield_until(|| !idle(), 10).is_err() {
            break;
        }
    }
    let order = if in_order { "in order" } else { "NOT in order" };
    say!("hostile: {n} requests without reading replies: Dom0 took {taken}, then stopped; answered {got} {order}");
}

/// The node quota (1000 nodes a domain owns, xenstored 4.17): nodes
/// written until Dom0 refuses, in directories of 100 (a node's children
/// list counts towards its 2048-byte size), then removed; a write works
/// again after.
pub fn nodes(x: &mut Raw<'_>) {
    let (mut written, mut refused) = (0, Got::NoReply);
    'all: for d in 0..11 {
        for i in 0..100 {
            let mut w = Vec::from(format!("data/q{d}/{i}").as_bytes());
            w.push(0);
            match x.ask(MsgType::Write, 0, &w) {
                Got::Ok(_) => written += 1,
                other => {
                    refused = other;
                    break 'all;
                }
            }
        }
    }
    say!("hostile: nodes: {written} written, then {refused}");
    let removed =
        (0..11).filter(|d| matches!(x.ask(MsgType::Rm, 0, &z(&[format!("data/q{d}").as_bytes()])), Got::Ok(_)));
    let removed = removed.count();
    say!("hostile: rm of their 11 directories: {removed} OK");
    step(x, "write of data/after-quota", MsgType::Write, 0, b"data/after-quota\0x");
}

/// The ring page's `connection` (XENSTORE_RECONNECT, a feature Dom0 does
/// not offer) and `error` fields written by the guest: Dom0 keeps its own
/// state and goes on answering. Both are put back to 0.
pub fn ring_fields(x: &mut Raw<'_>) {
    let page = x.ring.page();
    page.store(r::CONNECTION, 1);
    let got = x.sync();
    say!("hostile: connection field set to XENSTORE_RECONNECT, then read domid: {got}");
    page.store(r::CONNECTION, 0);
    page.store(r::ERROR, 3);
    let got = x.sync();
    say!("hostile: error field set to XENSTORE_ERROR_PROTO by the guest, then read domid: {got}");
    page.store(r::ERROR, 0);
}
