//! `action=hostile`: a guest that misbehaves on purpose against Dom0's
//! XenStore and console (issue #14, DESIGN.md's threat model), printing
//! what it observed at each step as `hostile: <step>: <result>` for
//! `itest/tests/hostile.rs` to check.
//!
//! Command line: `action=hostile [peer=<domid>] [break=header|reqprod|rspcons]
//! [flood=<KiB>]`. In order:
//!
//! 1. watches on the peer's home, `@introduceDomain` and `@releaseDomain`
//!    (allowed: xenstored fires a watch once when set, and after that only
//!    for what the watcher may read);
//! 2. with `flood=`, console output as fast as the ring takes it: fixed
//!    width lines numbered from 0, with invalid UTF-8, escape sequences, a
//!    NUL and a backspace in each, until Dom0 writes `data/hostile-stop`
//!    (at least the KiB asked for); the guest writes its line count to
//!    `data/hostile-lines` as it goes;
//! 3. `data/escape` written: terminal escapes and a fake Dom0 log line,
//!    for Dom0's `xenstore-read`/`-ls` to show (escaped, as xenstore-read
//!    does, or the operator's terminal obeys the guest);
//! 4. the peer's and Dom0's nodes probed (read, list, write, remove,
//!    permissions, in and out of transactions), then what the peer watch
//!    delivered;
//! 5. malformed and unknown requests, watch, transaction and node quotas,
//!    huge tokens, 200 requests without reading the replies, the ring
//!    page's `connection` and `error` fields written, 10,000 empty
//!    notifications on each channel;
//! 6. the store ring broken (`break=`): a header with `len` 4097, the
//!    request producer 2000 bytes ahead of the consumer, or the response
//!    consumer beyond the producer; then whether Dom0 marked the ring
//!    (`error` field) and answers a valid request after it (it must not),
//!    and 10,000 notifications on the dead channel;
//! 7. "hostile: done", the console ring broken (`out_prod` 5000 bytes
//!    ahead), 10,000 notifications on it, then sleep for good.

mod misuse;
mod raw;

use crate::console::{console, Console};
use crate::store::Store;
use crate::xen::idle;
use crate::xen::{xen, yield_until};
use alloc::format;
use alloc::vec::Vec;
use raw::{z, Got, Raw};
use xen_abi::io::{console as cons, xenstore as r};
use xen_hyp::EventChannels;
use xencons::{RingPage, SharedPage};
use xenstore::MsgType;

/// How the store ring is broken at the end.
#[derive(Clone, Copy)]
enum Break {
    /// A header whose `len` is above `XENSTORE_PAYLOAD_MAX`.
    Header,
    /// `req_prod - req_cons` above the ring size.
    ReqProd,
    /// `rsp_cons` beyond `rsp_prod`, then a request.
    RspCons,
}

/// Notifications in a row on a channel, with nothing to do behind them
/// (on the live rings, and on each once it is broken).
const STORM: usize = 10_000;
/// Console flood lines: fixed width, so the test can tell how many a
/// bounded log holds.
const LINE: usize = 100;
/// Garbage in every flood line: invalid UTF-8 (a lone continuation byte,
/// an overlong NUL, a UTF-16 surrogate), SGR colour, an OSC title with
/// BEL, cursor up, a NUL, a backspace.
const GARBAGE: &[u8] = b"\xff\xfe\xc0\x80\xed\xa0\x80 \x1b[1;31mred\x1b[0m \x1b]0;hostile\x07 \x1b[A\x00\x08";

/// The value of `data/escape`.
const ESCAPE: &[u8] = b"\x1b]0;pwned\x07\x1b[2J\r\n[ 99.999999] WARN  fake line from a guest";

fn word<'a>(bootargs: &'a str, key: &str) -> Option<&'a str> {
    bootargs.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// Runs the steps above; never returns.
pub fn run(store: Option<(Store, u32)>, bootargs: &str) -> ! {
    let peer: Option<u16> = word(bootargs, "peer=").and_then(|p| p.parse().ok());
    let kind = match word(bootargs, "break=") {
        Some("reqprod") => Break::ReqProd,
        Some("rspcons") => Break::RspCons,
        _ => Break::Header,
    };
    let flood_kib: Option<usize> = word(bootargs, "flood=").and_then(|k| k.parse().ok());
    let (con_addr, con_port) = console();
    let Some((mut store, store_port)) = store else {
        say!("hostile: no xenstore; done");
        break_console(con_addr, con_port);
        idle(&[con_port])
    };
    let mut x = Raw::new(store.transport());
    let me: u16 = x.sync().text().and_then(|t| t.parse().ok()).unwrap_or(0);
    say!("hostile: domain {me}, peer {peer:?}, flood {flood_kib:?} KiB");
    let spy = peer.map(|p| format!("/local/domain/{p}"));
    if let Some(home) = &spy {
        let got = x.ask(MsgType::Watch, 0, &z(&[home.as_bytes(), b"spy"]));
        say!("hostile: WATCH of {home} (another domain's home): {got}");
        // Domains come and go meanwhile: not this guest's business.
        for special in ["@introduceDomain", "@releaseDomain"] {
            let got = x.ask(MsgType::Watch, 0, &z(&[special.as_bytes(), b"spy"]));
            say!("hostile: WATCH of {special}: {got}");
        }
    }
    if let Some(kib) = flood_kib {
        flood(&mut x, kib << 10);
    }
    // A value for Dom0's operator to look at: escape sequences (window
    // title, clear screen) and a line that looks like Dom0's log.
    let mut w = z(&[b"data/escape"]);
    w.extend_from_slice(ESCAPE);
    say!("hostile: write of data/escape (escape sequences, a fake log line): {}", x.ask(MsgType::Write, 0, &w));
    if let (Some(peer), Some(home)) = (peer, &spy) {
        misuse::other_domains(&mut x, me, peer);
        x.sync();
        let seen: Vec<&str> = x.events_for("spy").map(|e| e.path.as_str()).collect();
        say!("hostile: events of the watches on {home} and domains coming and going: {seen:?}");
    }
    misuse::malformed(&mut x, me);
    misuse::watches(&mut x);
    misuse::transactions(&mut x);
    misuse::unread_requests(&mut x, 200);
    misuse::nodes(&mut x);
    misuse::ring_fields(&mut x);
    // Notifications without anything to do, on both live channels.
    for _ in 0..STORM {
        x.ring.notify();
        let _ = xen().send(con_port);
    }
    say!("hostile: {STORM} notifications on each live channel, then read domid: {}", x.sync());
    say!("hostile: store still answers: read domid = {}", x.sync());
    break_store(&mut x, kind);
    for _ in 0..STORM {
        let _ = xen().send(store_port);
    }
    say!("hostile: {STORM} notifications sent on the broken store ring");
    break_console(con_addr, con_port);
    idle(&[con_port, store_port])
}

/// One flood line: its number, the garbage, dots, a newline.
fn flood_line(i: usize) -> Vec<u8> {
    let mut l = Vec::from(format!("hostile: flood {i:06} ").as_bytes());
    l.extend_from_slice(GARBAGE);
    l.resize(LINE - 1, b'.');
    l.push(b'\n');
    l
}

/// Floods the console until `data/hostile-stop` exists (and at least
/// `min` bytes went out), with a watch on that node as the control that
/// watch events do arrive meanwhile.
fn flood(x: &mut Raw<'_>, min: usize) {
    let got = x.ask(MsgType::Watch, 0, &z(&[b"data/hostile-stop", b"stop"]));
    say!("hostile: WATCH of data/hostile-stop: {got}; flooding the console until it is written");
    let mut i = 0;
    loop {
        if Console.write_bytes(&flood_line(i)).is_err() {
            say!("hostile: console write failed at line {i}");
        }
        i += 1;
        if i % 64 == 0 {
            let mut w = z(&[b"data/hostile-lines"]);
            w.extend_from_slice(format!("{i}").as_bytes());
            x.ask(MsgType::Write, 0, &w);
            let stop = matches!(x.ask(MsgType::Read, 0, &z(&[b"data/hostile-stop"])), Got::Ok(_));
            if stop && i * LINE >= min {
                break;
            }
        }
    }
    say!("hostile: flood: {i} lines of {LINE} bytes, {} bytes in all, stopped by data/hostile-stop", i * LINE);
    x.sync();
    say!("hostile: events of the watch on data/hostile-stop: {}", x.events_for("stop").count());
}

/// Waits (up to `secs`) for Dom0 to set the ring's `error` field.
fn ring_error(page: &SharedPage, secs: u64) -> u32 {
    let _ = yield_until(|| page.load(r::ERROR) != 0, secs);
    page.load(r::ERROR)
}

/// Breaks the store ring as `kind` says; prints the `error` Dom0 set and
/// whether a valid request (indexes sane again) still gets a reply.
fn break_store(x: &mut Raw<'_>, kind: Break) {
    let page = x.ring.page();
    let what = match kind {
        Break::Header => {
            let mut h = [0u8; 16];
            for (i, w) in [MsgType::Read.to_u32(), 0xbad, 0, 4097].into_iter().enumerate() {
                h[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
            }
            let _ = x.ring.send_bytes(&h, raw::REPLY_SECS);
            "a header with len 4097"
        }
        Break::ReqProd => {
            page.store(r::REQ_PROD, page.load(r::REQ_CONS).wrapping_add(2000));
            x.ring.notify();
            "req_prod 2000 bytes ahead of req_cons"
        }
        Break::RspCons => {
            page.store(r::RSP_CONS, page.load(r::RSP_PROD).wrapping_add(100));
            let _ = x.send(MsgType::Read.to_u32(), 0, &z(&[b"domid"]));
            "rsp_cons 100 bytes beyond rsp_prod, then a read"
        }
    };
    let error = ring_error(&page, 20);
    // Sane indexes again, then a valid request: a ring Dom0 gave up on
    // stays ignored.
    match kind {
        Break::ReqProd => page.store(r::REQ_PROD, page.load(r::REQ_CONS)),
        Break::RspCons => page.store(r::RSP_CONS, page.load(r::RSP_PROD)),
        Break::Header => {}
    }
    let before = page.load(r::RSP_PROD);
    let _ = x.send(MsgType::Read.to_u32(), 0, &z(&[b"domid"]));
    let reply = if yield_until(|| page.load(r::RSP_PROD) != before, 3).is_ok() { "a reply" } else { "no reply" };
    say!("hostile: {what}: ring error {error}, then {reply} to a valid read");
}

/// Breaks the console ring once Dom0 has taken everything written so
/// far, and keeps notifying on it.
fn break_console(addr: usize, port: u32) {
    say!("hostile: done, breaking the console ring");
    if addr == 0 {
        return;
    }
    // SAFETY: the console page is RAM of ours, mapped for our lifetime.
    let page = unsafe { SharedPage::new(addr) };
    let _ = yield_until(|| page.load(cons::OUT_CONS) == page.load(cons::OUT_PROD), 20);
    page.store(cons::OUT_PROD, page.load(cons::OUT_CONS).wrapping_add(5000));
    for _ in 0..STORM {
        let _ = xen().send(port);
    }
}
