//! `xenstored-host`: serves thindom's XenStore core on a Unix socket, the
//! transport C xenstored offers Dom0 clients (`/var/run/xenstored/socket`,
//! or `$XENSTORED_PATH`), so Debian's `xenstore-*` tools and libxenstore
//! work against it unchanged. Socket clients are Dom0: privileged.
//!
//! One thread per client; the server core sits behind a mutex, and watch
//! events are routed to the client that owns the watch.

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use xenstore::wire::{Msg, WireError};
use xenstore::{ConnId, Server};

#[derive(Default)]
struct Shared {
    server: Server,
    clients: HashMap<ConnId, UnixStream>,
}

/// Runs the server on `socket` until the process ends.
pub fn serve(socket: &Path) -> Result<()> {
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).with_context(|| format!("binding {}", socket.display()))?;
    let shared = Arc::new(Mutex::new(Shared::default()));
    for stream in listener.incoming() {
        let stream = stream?;
        let sh = shared.clone();
        std::thread::spawn(move || {
            let _ = client(sh, stream);
        });
    }
    Ok(())
}

fn client(sh: Arc<Mutex<Shared>>, mut stream: UnixStream) -> Result<()> {
    let id = {
        let mut s = sh.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let id = s.server.connect(0, true);
        s.clients.insert(id, stream.try_clone()?);
        id
    };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let result = loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break Ok(()),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match Msg::parse(&buf) {
                Ok((m, used)) => {
                    buf.drain(..used);
                    deliver(&sh, id, &m)?;
                }
                Err(WireError::Incomplete) => break,
                Err(WireError::TooLong(_)) => return close(&sh, id),
            }
        }
    };
    close(&sh, id)?;
    result
}

fn deliver(sh: &Arc<Mutex<Shared>>, id: ConnId, m: &Msg) -> Result<()> {
    let mut s = sh.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    s.server.handle(id, m);
    for (to, msg) in s.server.take_output() {
        if let Some(c) = s.clients.get_mut(&to) {
            let _ = c.write_all(&msg.emit());
        }
    }
    Ok(())
}

fn close(sh: &Arc<Mutex<Shared>>, id: ConnId) -> Result<()> {
    let mut s = sh.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    s.server.disconnect(id);
    s.clients.remove(&id);
    Ok(())
}
