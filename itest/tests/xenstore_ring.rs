//! Issue #14: XenStore messages longer than the 1,024-byte ring, from a
//! Linux DomU through `/dev/xen/xenbus` (its `xsreq` helper) to thindom's
//! XenStore under real Xen. Linux's xenbus driver writes what fits in the
//! request ring and waits for a notification before it writes the rest: a
//! store that notified only after whole messages left the guest's first
//! long request, and every later one, unanswered (these tests then time
//! out waiting for the reply).

mod common;

use common::{console_attach as attach, console_detach as detach, *};
use harness::Session;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const GUEST: Duration = Duration::from_secs(120);

/// Runs `line` in the attached guest's shell and returns what it printed.
/// The line ends with `;e N`, a shell function that prints `E<1000+N>`
/// (computed, so the echoed line cannot match it); the whole typed line
/// stays within 72 characters (Xen keeps only a small buffer of serial
/// input).
fn sh(s: &mut Session, line: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let typed = format!("{line};e {n}");
    assert!(typed.len() <= 72, "keep typed lines short: {typed}");
    check(s, |s| {
        s.send_line(&typed)?;
        let end = format!("E{}", 1000 + n);
        let out = s.expect(&format!("\n{end}"), GUEST)?.replace('\r', "");
        let echo = format!(";e {n}\n");
        let from = out.rfind(&echo).map_or(0, |i| i + echo.len());
        let to = out.rfind(&end).unwrap_or(out.len()).max(from);
        Ok(out[from..to].to_string())
    })
}

/// `xsreq`'s summary line: `type T len L <first bytes>`.
fn xsreq(s: &mut Session, args: &str) -> String {
    let out = sh(s, &format!("xsreq {args}"));
    let line =
        out.lines().find(|l| l.starts_with("xsreq: ")).unwrap_or_else(|| fail(s, &format!("xsreq {args}: {out}")));
    line.trim_start_matches("xsreq: ").trim_end().to_string()
}

/// What `xsreq` writes as a value of `n` bytes: `seq`'s numbers run
/// together.
fn digits(n: usize) -> String {
    (1..=9999).map(|i| i.to_string()).collect::<String>()[..n].to_string()
}

#[test]
fn a_linux_domu_sends_and_receives_messages_longer_than_the_ring() {
    let mut s = boot("xenstore-ring");
    let out = cmd(&mut s, "create linux");
    let id: u16 = capture(&out, r"Started domain linux \(id=(\d+)\)").parse().expect("domid");
    attach(&mut s, "linux");
    wait_for(&mut s, "init done", GUEST);
    check(&mut s, |s| s.send_line("e() { echo E$(($1+1000)); }"));
    sh(&mut s, "true");

    // A 1,500-byte value: the request is half again the ring; the reply
    // to the read too.
    assert_eq!(xsreq(&mut s, "11 data/big 1500"), "type 11 len 3 OK");
    let back = xsreq(&mut s, "2 data/big");
    assert!(back.starts_with("type 2 len 1500 12345678910111213"), "{back}");
    assert_eq!(sh(&mut s, "cmp /tmp/value /tmp/reply && echo same"), "same\n");
    // The most a DomU may store in one node (xenstored's 2,048-byte
    // entry quota: record header, one permission, the value).
    assert_eq!(xsreq(&mut s, "11 data/big2 2000"), "type 11 len 3 OK");
    assert!(xsreq(&mut s, "2 data/big2").starts_with("type 2 len 2000 "));
    assert_eq!(sh(&mut s, "cmp /tmp/value /tmp/reply && echo same"), "same\n");
    // 4,000 bytes: a message four times the ring, answered as xenstored
    // 4.17 answers an unprivileged writer over the entry quota.
    assert_eq!(xsreq(&mut s, "11 data/big4 4000"), "type 16 len 7 ENOSPC");
    assert_eq!(xsreq(&mut s, "2 data/big4"), "type 16 len 7 ENOENT");

    // A directory of 50 children whose names take 1,450 bytes.
    sh(&mut s, "n=abcdefghijklmnopqrstuvwxy");
    let made = sh(&mut s, "for i in $(seq 10 59);do xsreq 12 data/d/$n-$i;done|uniq -c");
    assert_eq!(made.split_whitespace().collect::<Vec<_>>(), ["50", "xsreq:", "type", "12", "len", "3", "OK"]);
    let names: Vec<String> = (10..60).map(|i| format!("abcdefghijklmnopqrstuvwxy-{i}")).collect();
    assert!(xsreq(&mut s, "1 data/d").starts_with("type 1 len 1450 abcdefghijklmnopqrstuvwxy 10 "));
    let listed = sh(&mut s, "tr '\\0' ' ' < /tmp/reply; echo");
    assert_eq!(listed.trim_end(), names.join(" "), "the listing, in creation order");

    // Over-long paths: more than XENSTORE_REL_PATH_MAX (2,048) bytes after
    // the domain's home, relative or absolute: EINVAL.
    sh(&mut s, "p=data/$(head -c 2044 /dev/zero | tr '\\0' p)");
    assert_eq!(sh(&mut s, "echo ${#p}"), "2049\n");
    assert_eq!(xsreq(&mut s, "2 $p"), "type 16 len 7 EINVAL");
    assert_eq!(xsreq(&mut s, "11 $p 10"), "type 16 len 7 EINVAL");
    assert_eq!(xsreq(&mut s, &format!("2 /local/domain/{id}/$p")), "type 16 len 7 EINVAL");

    // The connection goes on: small and long requests still answered.
    assert_eq!(xsreq(&mut s, "2 name"), "type 2 len 5 linux");
    assert!(xsreq(&mut s, "2 data/big").starts_with("type 2 len 1500 "));
    assert_eq!(xsreq(&mut s, "11 data/big 1234"), "type 11 len 3 OK");
    assert!(xsreq(&mut s, "2 data/big").starts_with("type 2 len 1234 "));
    detach(&mut s);

    // Dom0 reads what the guest stored, whole.
    let v = cmd(&mut s, &format!("xenstore-read /local/domain/{id}/data/big2"));
    assert_eq!(v.trim(), digits(2000));
    assert!(!s.output().contains("broke its ring"), "no ring was broken");
}
