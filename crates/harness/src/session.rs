//! A running QEMU whose serial console we read and write.

use crate::QemuConfig;
use anyhow::{bail, Context, Result};
use regex::Regex;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Lines that mean Xen itself failed: any expectation fails at once.
pub const FATAL_PATTERNS: &[&str] = &["Panic on CPU", "Xen BUG at", "Xen WARN at"];

#[derive(Default)]
struct Shared {
    buf: Vec<u8>,
    /// (time since start, offset in `buf`) for each chunk received.
    marks: Vec<(Duration, usize)>,
    eof: bool,
}

/// The factor every wait of a session is multiplied by:
/// `THINDOM_TIME_SCALE` (a whole number, default 1), for a machine slower
/// than the ones the timeouts were chosen on. Timeouts are limits, not
/// expectations: a test only waits that long when something is wrong.
pub fn time_scale() -> u32 {
    std::env::var("THINDOM_TIME_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).clamp(1, 50)
}

/// A regex for the echo of a typed line ending in `tail`, up to its
/// newline, that allows Xen's own lines (`(XEN) ...`, a guest's messages
/// on Xen's console) and thindom's log lines (`[  12.345678] INFO  ...`)
/// to cut into it anywhere, as they do on the shared serial line.
pub fn echo_re(tail: &str) -> Regex {
    let xen = r"(?:\(XEN\)[^\n]*\n|\[ *[0-9]+\.[0-9]+\] [A-Z]+ [^\n]*\n)*";
    let chars: Vec<String> = tail.chars().map(|c| regex::escape(&c.to_string())).collect();
    Regex::new(&format!("{}{xen}\r*\n", chars.join(xen))).expect("echo regex")
}

/// Xen's own lines (`(XEN) ...`) taken out of console text.
pub fn without_xen_lines(text: &str) -> String {
    let re = Regex::new(r"\(XEN\)[^\n]*\n").expect("regex");
    re.replace_all(text, "").into_owned()
}

/// A QEMU + Xen + thindom session.
pub struct Session {
    child: Child,
    stdin: ChildStdin,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    /// Offset up to which output has been consumed by `expect`.
    cursor: usize,
    start: Instant,
    log: PathBuf,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("log", &self.log).finish()
    }
}

impl Session {
    /// Starts QEMU; the whole serial log goes to `log` as it arrives.
    pub fn spawn(cfg: &QemuConfig, log: &Path) -> Result<Session> {
        if let Some(d) = log.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut cmd = cfg.command(false);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {cmd:?}"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let mut stdout = child.stdout.take().context("no stdout")?;
        let mut stderr = child.stderr.take().context("no stderr")?;
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let mut file = std::fs::File::create(log)?;
        writeln!(file, "# {cmd:?}")?;
        let sh = shared.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                let n = match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let _ = file.write_all(&chunk[..n]);
                let (m, cv) = &*sh;
                let mut s = m.lock().expect("harness lock");
                let off = s.buf.len();
                s.marks.push((start.elapsed(), off));
                s.buf.extend_from_slice(&chunk[..n]);
                cv.notify_all();
            }
            let (m, cv) = &*sh;
            m.lock().expect("harness lock").eof = true;
            cv.notify_all();
        });
        let sh = shared.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            if !s.is_empty() {
                let (m, cv) = &*sh;
                m.lock().expect("harness lock").buf.extend_from_slice(format!("\n[qemu stderr] {s}").as_bytes());
                cv.notify_all();
            }
        });
        Ok(Session { child, stdin, shared, cursor: 0, start, log: log.to_path_buf() })
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The whole output so far, lossily decoded.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.shared.0.lock().expect("harness lock").buf).into_owned()
    }

    /// The last `n` lines of output.
    pub fn tail(&self, n: usize) -> String {
        let out = self.output();
        let lines: Vec<&str> = out.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// When (since start) the byte at `offset` arrived.
    pub fn time_at(&self, offset: usize) -> Option<Duration> {
        let s = self.shared.0.lock().expect("harness lock");
        s.marks.iter().rev().find(|(_, o)| *o <= offset).map(|(t, _)| *t)
    }

    /// Waits until `re` matches output after the cursor; returns the text
    /// from the cursor to the end of the match and moves the cursor past it.
    pub fn expect_re(&mut self, re: &Regex, timeout: Duration) -> Result<String> {
        self.expect_re_at(re, timeout).map(|(s, _)| s)
    }

    /// Like [`expect_re`](Self::expect_re), also returning the absolute
    /// offset of the match start.
    pub fn expect_re_at(&mut self, re: &Regex, timeout: Duration) -> Result<(String, usize)> {
        let timeout = timeout * time_scale();
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.shared;
        let mut s = m.lock().expect("harness lock");
        loop {
            let text = String::from_utf8_lossy(&s.buf[self.cursor.min(s.buf.len())..]).into_owned();
            for fatal in FATAL_PATTERNS {
                if text.contains(fatal) {
                    drop(s);
                    bail!("Xen failed ({fatal:?}) while waiting for {:?}", re.as_str());
                }
            }
            if let Some(mt) = re.find(&text) {
                // Map the match end in the lossy string back to bytes: the
                // lossy decoding only differs on invalid UTF-8, which the
                // console does not produce in matched text.
                let consumed = text[..mt.end()].len();
                let at = self.cursor + mt.start();
                self.cursor += consumed;
                return Ok((text[..mt.end()].to_string(), at));
            }
            if s.eof {
                drop(s);
                bail!("QEMU exited while waiting for {:?}", re.as_str());
            }
            let now = Instant::now();
            if now >= deadline {
                drop(s);
                bail!("timed out after {timeout:?} waiting for {:?}", re.as_str());
            }
            s = cv.wait_timeout(s, deadline - now).expect("harness lock").0;
        }
    }

    /// Waits for the literal `pat`.
    pub fn expect(&mut self, pat: &str, timeout: Duration) -> Result<String> {
        let re = Regex::new(&regex::escape(pat)).expect("escaped literal");
        self.expect_re(&re, timeout)
    }

    /// Types `line` followed by Enter, a byte at a time with a short pause
    /// so Xen's serial receive buffer never overflows.
    pub fn send_line(&mut self, line: &str) -> Result<()> {
        self.send_raw(line.as_bytes())?;
        self.send_raw(b"\r")
    }

    /// Sends bytes as typed input.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        for chunk in bytes.chunks(8) {
            self.stdin.write_all(chunk)?;
            self.stdin.flush()?;
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    /// Sends `bytes` as a terminal pastes them over a serial line of
    /// `baud` (10 bits a byte): in one go, at the line's rate.
    pub fn send_paced(&mut self, bytes: &[u8], baud: u32) -> Result<()> {
        let start = Instant::now();
        let mut sent = 0;
        while sent < bytes.len() {
            let due = (start.elapsed().as_secs_f64() * f64::from(baud) / 10.0) as usize;
            let end = due.clamp(sent + 1, bytes.len());
            self.stdin.write_all(&bytes[sent..end])?;
            self.stdin.flush()?;
            sent = end;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// Sends `bytes` in one write: as fast as QEMU takes them.
    pub fn send_at_once(&mut self, bytes: &[u8]) -> Result<()> {
        self.stdin.write_all(bytes)?;
        Ok(self.stdin.flush()?)
    }

    /// Waits for QEMU to exit (e.g. after `poweroff`); returns whether it
    /// exited within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout * time_scale();
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(false)
    }

    /// Stops QEMU.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn echo_matches_through_xens_lines() {
        // As a soak saw it: the echo of `block-list soak059`.
        let re = super::echo_re("list soak059");
        let cut = "thindom> block-li(XEN) d60v0: vGICD: RAZ\nst soak0(XEN) d60v0: SGI\n59\r\r\nVdev";
        assert!(re.is_match(cut));
        assert!(!re.is_match("thindom> block-list soak05\r\n9"));
        assert!(re.is_match("list soak059\r\n"));
        assert!(!re.is_match("list soak0590\r\n"));
        // A log line of thindom's cutting in.
        let re = super::echo_re("reboot=destroy");
        let cut = "on_reboot=dest[  515.568934] INFO  dom_exc: domain 60 is gone\nroy\r\r\nParsing";
        assert!(re.is_match(cut));
        let out = super::without_xen_lines("a\n(XEN) d1v0 hello\nb\n");
        assert_eq!(out, "a\nb\n");
    }
}
