//! `cargo xtask bench xenstore`: thindom's XenStore core (served on a Unix
//! socket by `xenstored-host`) and Debian's C `xenstored` (amd64 package
//! xen-utils-4.17, run on the host with `-N -D`: no Xen needed), measured
//! in one run by the same client: operations per second and latency
//! percentiles for read, write, directory, watch-fire and transaction
//! commit.

use crate::util::{self, root};
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PKGS: &[&str] = &[
    "xen-utils-4.17",
    "libxenevtchn1",
    "libxengnttab1",
    "libxenmisc4.17",
    "libxentoollog1",
    "libxencall1",
    "libxenforeignmemory1",
    "libxendevicemodel1",
    "libxentoolcore1",
    "libxenhypfs1",
];

struct Client {
    s: UnixStream,
    id: u32,
}

impl Client {
    fn connect(p: &Path) -> Result<Client> {
        for _ in 0..200 {
            if let Ok(s) = UnixStream::connect(p) {
                return Ok(Client { s, id: 1 });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("cannot connect to {}", p.display())
    }

    fn send(&mut self, ty: u32, tx: u32, payload: &[u8]) -> Result<()> {
        self.id += 1;
        let mut m = Vec::with_capacity(16 + payload.len());
        for w in [ty, self.id, tx, payload.len() as u32] {
            m.extend_from_slice(&w.to_le_bytes());
        }
        m.extend_from_slice(payload);
        Ok(self.s.write_all(&m)?)
    }

    /// The next message: `(type, payload)`.
    fn recv(&mut self) -> Result<(u32, Vec<u8>)> {
        let mut h = [0u8; 16];
        self.s.read_exact(&mut h)?;
        let w = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let mut p = vec![0u8; w(12) as usize];
        self.s.read_exact(&mut p)?;
        Ok((w(0), p))
    }

    /// A request and its reply (skipping watch events); errors fail.
    fn call(&mut self, ty: u32, tx: u32, payload: &[u8]) -> Result<Vec<u8>> {
        self.send(ty, tx, payload)?;
        loop {
            let (t, p) = self.recv()?;
            match t {
                15 => continue,
                16 => bail!("error {}", String::from_utf8_lossy(&p)),
                _ => return Ok(p),
            }
        }
    }

    fn event(&mut self) -> Result<()> {
        loop {
            if self.recv()?.0 == 15 {
                return Ok(());
            }
        }
    }
}

fn z(parts: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p.as_bytes());
        v.push(0);
    }
    v
}

fn wr(path: &str, val: &str) -> Vec<u8> {
    let mut v = z(&[path]);
    v.extend_from_slice(val.as_bytes());
    v
}

/// ops/s, then latency p50, p90, p99 in µs.
type Figures = (f64, f64, f64, f64);

/// Times `n` runs of `op`.
fn measure(n: usize, mut op: impl FnMut(usize) -> Result<()>) -> Result<Figures> {
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(i)?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let total = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Ok((n as f64 / total, pct(0.5), pct(0.9), pct(0.99)))
}

fn workload(sock: &Path, n: usize) -> Result<Vec<(&'static str, Figures)>> {
    let mut c = Client::connect(sock)?;
    let mut w = Client::connect(sock)?;
    for i in 0..64 {
        c.call(11, 0, &wr(&format!("/bench/dir/k{i}"), "v"))?;
    }
    let mut out = vec![];
    out.push(("write", measure(n, |i| c.call(11, 0, &wr(&format!("/bench/w/k{}", i % 256), "value")).map(drop))?));
    out.push(("read", measure(n, |i| c.call(2, 0, &z(&[&format!("/bench/w/k{}", i % 256)])).map(drop))?));
    out.push(("directory (64)", measure(n, |_| c.call(1, 0, &z(&["/bench/dir"])).map(drop))?));
    w.call(4, 0, &z(&["/bench/watched", "tok"]))?;
    w.event()?;
    out.push((
        "watch-fire",
        measure(n, |i| {
            c.call(11, 0, &wr("/bench/watched/x", &i.to_string()))?;
            w.event()
        })?,
    ));
    out.push((
        "transaction commit",
        measure(n, |i| {
            let id = c.call(6, 0, &z(&[""]))?;
            let tx: u32 = String::from_utf8_lossy(id.strip_suffix(&[0]).unwrap_or(&id)).parse()?;
            c.call(11, tx, &wr(&format!("/bench/tx/k{}", i % 64), "v"))?;
            c.call(7, tx, &z(&["T"])).map(drop)
        })?,
    ));
    Ok(out)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's C xenstored and the library path it needs.
fn c_xenstored() -> Result<(PathBuf, String)> {
    let dir = root().join(".cache/amd64-xen");
    let bin = dir.join("root/usr/lib/xen-4.17/bin/xenstored");
    if !bin.exists() {
        std::fs::create_dir_all(&dir)?;
        for p in PKGS {
            util::run(Command::new("apt-get").args(["download", "-q", p]).current_dir(&dir))?;
        }
        for e in std::fs::read_dir(&dir)?.flatten() {
            if e.path().extension().is_some_and(|x| x == "deb") {
                util::run(Command::new("dpkg-deb").arg("-x").arg(e.path()).arg(dir.join("root")))?;
            }
        }
    }
    let libs = ["root/usr/lib/x86_64-linux-gnu", "root/usr/lib/xen-4.17/lib"]
        .iter()
        .map(|l| dir.join(l).display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    Ok((bin, libs))
}

pub fn run(ops: usize) -> Result<()> {
    util::cargo(&["build", "--release", "-p", "xenstored-host"])?;
    let ours_sock = std::env::temp_dir().join("thindom-bench-xs.sock");
    let ours = Proc(
        Command::new(root().join("target/release/xenstored-host"))
            .arg(&ours_sock)
            .stderr(Stdio::null())
            .spawn()
            .context("xenstored-host")?,
    );
    let ours_r = workload(&ours_sock, ops)?;
    drop(ours);
    let c_r = match c_xenstored() {
        Ok((bin, libs)) => {
            let rundir = std::env::temp_dir().join("thindom-bench-cxs");
            std::fs::create_dir_all(&rundir)?;
            let _ = std::fs::remove_file(rundir.join("socket"));
            let p = Proc(
                Command::new(&bin)
                    .args(["-N", "-D", "-F"])
                    .arg(rundir.join("pid"))
                    .env("LD_LIBRARY_PATH", libs)
                    .env("XENSTORED_RUNDIR", &rundir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?,
            );
            let r = workload(&rundir.join("socket"), ops);
            let mut p = p;
            let exited = p.0.try_wait().ok().flatten();
            drop(p);
            r.map_err(|e| match exited {
                Some(st) => format!(
                    "{e:#}; the daemon exited ({st}). Without domain initialisation (-D: it needs /dev/xen, i.e. Xen) \
                     C xenstored 4.17 has no Dom0 domain to account a socket client's nodes to, and dies on its first WRITE"
                ),
                None => format!("{e:#}"),
            })
        }
        Err(e) => Err(format!("{e:#}")),
    };
    println!("\nXenStore over a Unix socket, {ops} operations each, one client (ops/s; latency p50/p90/p99 in µs):");
    println!("{:<20} {:>34}   {:>34}", "", "thindom (xenstored-host)", "Debian C xenstored 4.17");
    for (i, (name, o)) in ours_r.iter().enumerate() {
        let c = match &c_r {
            Ok(v) => format!("{:>9.0}  {:>6.1}/{:>6.1}/{:>7.1}", v[i].1 .0, v[i].1 .1, v[i].1 .2, v[i].1 .3),
            Err(_) => "n/a".into(),
        };
        println!("{name:<20} {:>9.0}  {:>6.1}/{:>6.1}/{:>7.1}   {c:>34}", o.0, o.1, o.2, o.3);
    }
    if let Err(e) = c_r {
        println!("C xenstored not measured: {e}");
    }
    Ok(())
}
