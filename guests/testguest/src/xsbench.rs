//! `action=xsbench [ops=N]`: XenStore as a guest sees it. A fixed mix of
//! operations over this guest's own ring, in its own home
//! (`/local/domain/<id>/data/xsbench`, which the guest may write under
//! both thindom and libxl), each op timed with the generic timer
//! (`CNTVCT_EL0`, at `CNTFRQ_EL0` Hz). `cargo xtask bench xenstore
//! --compare` runs it against thindom's xenstored and C xenstored.
//!
//! One round is one op of each kind, in this order; a number of untimed
//! warm-up rounds come first:
//! - *read*: `READ data/xsbench/r`;
//! - *write*: `WRITE data/xsbench/w/k<i mod 16>`;
//! - *directory*: `DIRECTORY data/xsbench/dir` (64 children);
//! - *watch*: `WATCH data/xsbench/watched`, its initial event,
//!   `WRITE data/xsbench/watched/x` and the event it fires; the `UNWATCH`
//!   that follows each is not timed;
//! - *transaction*: `TRANSACTION_START`, a read, a write, `TRANSACTION_END`
//!   committing, started again on `EAGAIN` (timed in full; counted).
//!
//! Waiting for Dom0 blocks in `SCHEDOP_poll` on the store channel, as a
//! Linux guest sleeps until its store interrupt (`wait=yield` on the
//! command line: yield the CPU in a loop instead, what the other actions
//! do; Xen then runs Dom0 only when the spinning guest's slice ends if
//! both share a CPU).
//!
//! Then one line per kind, `xsbench: <kind> n=<N> ops/s=<..> p50_us=<..>
//! p99_us=<..>` (the transaction line ends with `retries=<..>`), and
//! `xsbench: done, <ms> ms in all`; or `xsbench: error: ...`. ops/s is N over the summed
//! time of the N timed ops.

use crate::store::Store;
use crate::xen::{xen, SHARED_INFO};
use aarch64_rt::cpu;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xenstore::{MsgType, XsError};

/// Rounds when the command line has no `ops=`.
const DEFAULT_OPS: usize = 500;
/// At most this many rounds (their latencies are kept in the heap).
const MAX_OPS: usize = 2000;
const READ_KEY: &str = "data/xsbench/r";
const DIR: &str = "data/xsbench/dir";
const DIR_CHILDREN: usize = 64;
const WATCHED: &str = "data/xsbench/watched";
const TOKEN: &str = "xsbench";
/// Distinct keys the writes cycle over.
const KEYS: usize = 16;
/// Most `EAGAIN` commits in a row before a transaction op fails.
const MAX_RETRIES: u32 = 64;

/// The kinds of op, in the order a round runs them.
const KINDS: [&str; 5] = ["read", "write", "directory", "watch", "transaction"];

/// Runs the benchmark and prints its lines (the caller powers off).
pub fn run(store: Option<&mut Store>, bootargs: &str) {
    let arg = |k: &str| bootargs.split_whitespace().find_map(|w| w.strip_prefix(k));
    let rounds = arg("ops=").and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_OPS).clamp(1, MAX_OPS);
    let Some(s) = store else {
        say!("xsbench: error: no xenstore connection");
        return;
    };
    let block = arg("wait=") != Some("yield")
        && xen().add_to_physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 0, SHARED_INFO.pfn()).is_ok();
    s.transport().set_blocking(block);
    let freq = cpu::counter_freq();
    let warmup = (rounds / 10).max(5);
    let wait = if block { "blocking in SCHEDOP_poll" } else { "yielding" };
    say!("xsbench: {rounds} rounds after {warmup} warm-up rounds, counter {freq} Hz, waits {wait}");
    let t0 = cpu::counter();
    match bench(s, rounds, warmup) {
        Ok((lat, retries)) => {
            for (kind, ticks) in KINDS.iter().zip(lat) {
                let tail = if *kind == "transaction" { format!(" retries={retries}") } else { String::new() };
                say!("xsbench: {kind} {}{tail}", summary(ticks, freq));
            }
            let ms = cpu::counter().wrapping_sub(t0) * 1000 / freq.max(1);
            say!("xsbench: done, {ms} ms in all (set-up, warm-up and unwatches included)");
        }
        Err(e) => say!("xsbench: error: {e}"),
    }
}

/// Latencies in counter ticks per kind, and the transaction retries.
type Timings = ([Vec<u32>; 5], u32);

fn bench(s: &mut Store, rounds: usize, warmup: usize) -> Result<Timings, XsError> {
    s.write(0, READ_KEY, b"value")?;
    for i in 0..DIR_CHILDREN {
        s.write(0, &format!("{DIR}/k{i}"), b"v")?;
    }
    let mut lat: [Vec<u32>; 5] = Default::default();
    lat.iter_mut().for_each(|v| v.reserve_exact(rounds));
    let mut retries = 0;
    for i in 0..warmup + rounds {
        let mut times = [0u64; 5];
        for (k, t) in times.iter_mut().enumerate() {
            let t0 = cpu::counter();
            match k {
                0 => s.read(0, READ_KEY).map(drop)?,
                1 => s.write(0, &format!("data/xsbench/w/k{}", i % KEYS), b"value")?,
                2 => directory(s)?,
                3 => watch(s, i)?,
                _ => {
                    let r = transaction(s, i)?;
                    if i >= warmup {
                        retries += r;
                    }
                }
            }
            *t = cpu::counter().wrapping_sub(t0);
            if k == 3 {
                s.unwatch(WATCHED, TOKEN)?;
            }
        }
        if i >= warmup {
            for (v, t) in lat.iter_mut().zip(times) {
                v.push(u32::try_from(t).unwrap_or(u32::MAX));
            }
        }
    }
    Ok((lat, retries))
}

fn directory(s: &mut Store) -> Result<(), XsError> {
    match s.directory(0, DIR)?.len() {
        DIR_CHILDREN => Ok(()),
        _ => Err(XsError::EIO),
    }
}

/// Waits for the watch event of `TOKEN` on `path` (absolute or relative,
/// as the Dom0 reports it), skipping others.
fn event(s: &mut Store, path: &str) -> Result<(), XsError> {
    loop {
        let (p, t) = s.next_event()?;
        if t == TOKEN && p.ends_with(path) {
            return Ok(());
        }
    }
}

fn watch(s: &mut Store, i: usize) -> Result<(), XsError> {
    s.watch(WATCHED, TOKEN)?;
    // A new watch fires once at once (xenstore.txt).
    event(s, WATCHED)?;
    let node = format!("{WATCHED}/x");
    s.write(0, &node, format!("{i}").as_bytes())?;
    event(s, &node)
}

/// One committed transaction; returns how many commits said `EAGAIN`.
fn transaction(s: &mut Store, i: usize) -> Result<u32, XsError> {
    let mut retries = 0;
    loop {
        let id = s.request(MsgType::TransactionStart, 0, b"\0".to_vec())?;
        let tx = core::str::from_utf8(id.strip_suffix(&[0]).unwrap_or(&id))
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(XsError::EIO)?;
        let body = s.read(tx, READ_KEY).and_then(|_| s.write(tx, &format!("data/xsbench/t/k{}", i % KEYS), b"v"));
        if let Err(e) = body {
            let _ = s.request(MsgType::TransactionEnd, tx, b"F\0".to_vec());
            return Err(e);
        }
        match s.request(MsgType::TransactionEnd, tx, b"T\0".to_vec()) {
            Ok(_) => return Ok(retries),
            Err(XsError::EAGAIN) if retries < MAX_RETRIES => retries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// `n=.. ops/s=.. p50_us=.. p99_us=..` of latencies in ticks.
fn summary(mut ticks: Vec<u32>, freq: u64) -> String {
    ticks.sort_unstable();
    let n = ticks.len();
    let total: u64 = ticks.iter().map(|&t| u64::from(t)).sum();
    let freq = freq.max(1);
    let ops_s = (n as u128 * u128::from(freq)).checked_div(u128::from(total)).unwrap_or(0);
    // Tenths of a microsecond.
    let tenths = |t: u32| u128::from(t) * 10_000_000 / u128::from(freq);
    let pct = |p: usize| tenths(ticks.get((n * p / 100).min(n.saturating_sub(1))).copied().unwrap_or(0));
    let (p50, p99) = (pct(50), pct(99));
    format!("n={n} ops/s={ops_s} p50_us={}.{} p99_us={}.{}", p50 / 10, p50 % 10, p99 / 10, p99 % 10)
}
