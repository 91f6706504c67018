//! Debian's own XenStore C tools (package xenstore-utils, libxenstore 4.17)
//! against thindom's server over the Unix socket.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn daemon(name: &str) -> Daemon {
    let socket = std::env::temp_dir().join(format!("thindom-xs-{name}-{}.sock", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_xenstored-host"))
        .arg(&socket)
        .stderr(Stdio::null())
        .spawn()
        .expect("start xenstored-host");
    // Ready when it accepts a connection (the socket file appears at bind,
    // a moment before listen: a loaded CI host saw ECONNREFUSED there).
    for _ in 0..2000 {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Daemon { child, socket }
}

fn tool(d: &Daemon, prog: &str, args: &[&str]) -> Output {
    Command::new(prog).args(args).env("XENSTORED_PATH", &d.socket).output().unwrap_or_else(|e| {
        panic!("cannot run Debian's {prog} ({e}): install package xenstore-utils (cargo xtask setup does)")
    })
}

fn ok(d: &Daemon, prog: &str, args: &[&str]) -> String {
    let o = tool(d, prog, args);
    assert!(o.status.success(), "{prog} {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn read_write_ls_rm_exists() {
    let d = daemon("rw");
    ok(&d, "xenstore-write", &["/tool/test/a", "hello", "/tool/test/b/c", "nested value"]);
    assert_eq!(ok(&d, "xenstore-read", &["/tool/test/a"]), "hello\n");
    assert_eq!(ok(&d, "xenstore-read", &["/tool/test/b/c"]), "nested value\n");
    let ls = ok(&d, "xenstore-ls", &["/tool/test"]);
    assert!(ls.contains("a = \"hello\"") && ls.contains("c = \"nested value\""), "{ls}");
    assert!(tool(&d, "xenstore-exists", &["/tool/test/a"]).status.success());
    assert!(!tool(&d, "xenstore-exists", &["/tool/test/nope"]).status.success());
    ok(&d, "xenstore-rm", &["/tool/test/b"]);
    assert!(!tool(&d, "xenstore-exists", &["/tool/test/b/c"]).status.success());
    let list = ok(&d, "xenstore-list", &["/tool/test"]);
    assert_eq!(list, "a\n");
}

#[test]
fn errors_reach_the_tools() {
    let d = daemon("err");
    let o = tool(&d, "xenstore-read", &["/no/such/node"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("couldn't read path /no/such/node"), "{o:?}");
    let o = tool(&d, "xenstore-write", &["/bad path", "x"]);
    assert!(!o.status.success(), "invalid characters accepted");
}

#[test]
fn chmod_and_permissions_listing() {
    let d = daemon("perms");
    ok(&d, "xenstore-write", &["/local/domain/3/x", "v"]);
    ok(&d, "xenstore-chmod", &["/local/domain/3/x", "n3", "r0"]);
    let ls = ok(&d, "xenstore-ls", &["-p", "/local/domain/3"]);
    assert!(ls.contains("(n3,r0)"), "{ls}");
}

#[test]
fn watch_sees_writes() {
    let d = daemon("watch");
    ok(&d, "xenstore-write", &["/tool/w", ""]);
    let watcher = Command::new("xenstore-watch")
        .args(["-n", "3", "/tool/w"])
        .env("XENSTORED_PATH", &d.socket)
        .stdout(Stdio::piped())
        .spawn()
        .expect("xenstore-watch");
    std::thread::sleep(Duration::from_millis(300));
    ok(&d, "xenstore-write", &["/tool/w/k1", "1"]);
    ok(&d, "xenstore-write", &["/tool/w/k2", "2"]);
    let out = watcher.wait_with_output().expect("watch output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().collect::<Vec<_>>(), ["/tool/w", "/tool/w/k1", "/tool/w/k2"], "{text}");
}

/// libxenstore asks DIRECTORY, gets E2BIG for a list above 4096 bytes and
/// falls back to DIRECTORY_PART: the whole list arrives.
#[test]
fn long_directories_come_in_parts() {
    let d = daemon("part");
    let mut args = Vec::new();
    for i in 0..300 {
        args.push(format!("/tool/big/a-rather-long-child-name-{i:04}"));
        args.push(String::new());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&d, "xenstore-write", &refs);
    let list = ok(&d, "xenstore-list", &["/tool/big"]);
    let names: Vec<&str> = list.lines().collect();
    assert_eq!(names.len(), 300, "{list}");
    assert_eq!(names[0], "a-rather-long-child-name-0000");
    assert_eq!(names[299], "a-rather-long-child-name-0299");
}

/// A raw protocol client.
struct Raw(std::os::unix::net::UnixStream, u32);

impl Raw {
    fn new(d: &Daemon) -> Raw {
        Raw(std::os::unix::net::UnixStream::connect(&d.socket).expect("connect"), 0)
    }

    fn send(&mut self, ty: u32, payload: &[u8]) {
        use std::io::Write;
        self.1 += 1;
        let mut m = Vec::new();
        for w in [ty, self.1, 0, payload.len() as u32] {
            m.extend_from_slice(&w.to_le_bytes());
        }
        m.extend_from_slice(payload);
        self.0.write_all(&m).expect("send");
    }

    /// The next message that is not a watch event: `(type, payload)`.
    fn reply(&mut self) -> (u32, Vec<u8>) {
        use std::io::Read;
        loop {
            let mut h = [0u8; 16];
            self.0.read_exact(&mut h).expect("header");
            let w = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().unwrap());
            let mut p = vec![0u8; w(12) as usize];
            self.0.read_exact(&mut p).expect("payload");
            if w(0) != 15 {
                return (w(0), p);
            }
        }
    }

    fn call(&mut self, ty: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        self.send(ty, payload);
        self.reply()
    }
}

/// INTRODUCE and RELEASE from a Dom0 client change the server's state.
#[test]
fn introduce_by_message() {
    let d = daemon("intro");
    let mut c = Raw::new(&d);
    assert_eq!(c.call(17, b"7\0"), (17, b"F\0".to_vec()));
    assert_eq!(c.call(8, b"7\x004096\x003\x00"), (8, b"OK\0".to_vec()));
    assert_eq!(c.call(17, b"7\0"), (17, b"T\0".to_vec()));
    assert_eq!(c.call(8, b"7\x004096\x003\x00"), (8, b"OK\0".to_vec()), "re-introduction");
    assert_eq!(c.call(9, b"7\0"), (9, b"OK\0".to_vec()));
    assert_eq!(c.call(17, b"7\0"), (17, b"F\0".to_vec()));
    assert_eq!(c.call(9, b"7\0"), (16, b"ENOENT\0".to_vec()));
}

/// A client that watches a busy node and never reads does not stall the
/// others: it is disconnected once its backlog fills.
#[test]
fn a_client_that_stops_reading_stalls_nobody() {
    let d = daemon("stall");
    let mut lazy = Raw::new(&d);
    lazy.send(4, b"/tool/busy\0t\0");
    let socket = d.socket.clone();
    let writer = std::thread::spawn(move || {
        let mut c = Raw(std::os::unix::net::UnixStream::connect(&socket).expect("connect"), 0);
        for i in 0..20_000 {
            let mut p = format!("/tool/busy/k{i}").into_bytes();
            p.push(0);
            p.extend_from_slice(b"some value to make the events and replies bigger");
            assert_eq!(c.call(11, &p).0, 11);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !writer.is_finished() {
        assert!(std::time::Instant::now() < deadline, "the writer is stalled by a client that does not read");
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.join().expect("writer");
    assert_eq!(
        ok(&d, "xenstore-read", &["/tool/busy/k19999"]).trim(),
        "some value to make the events and replies bigger"
    );
    drop(lazy);
}
