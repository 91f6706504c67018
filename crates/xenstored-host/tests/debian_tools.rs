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
    for _ in 0..200 {
        if socket.exists() {
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
