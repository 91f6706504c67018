//! `xenstored-host`: serves thindom's XenStore core on a Unix socket, the
//! transport C xenstored offers Dom0 clients (`/var/run/xenstored/socket`,
//! or `$XENSTORED_PATH`), so Debian's `xenstore-*` tools and libxenstore
//! work against it unchanged. Socket clients are Dom0: privileged.
//!
//! One reader thread and one writer thread per client. The server core sits
//! behind a mutex that is never held while writing to a socket: replies and
//! watch events go to the client's writer through a bounded queue
//! ([`CLIENT_BACKLOG`] messages), and a client that lets it fill up (it
//! stopped reading) is disconnected instead of stalling everyone else.
//! INTRODUCE and RELEASE change the server's state only (there are no rings
//! on a host): IS_DOMAIN_INTRODUCED then answers as xenstored would.

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use xenstore::wire::{Msg, WireError};
use xenstore::{ConnId, Server};

/// Messages queued for one client before it counts as stuck and is
/// disconnected.
pub const CLIENT_BACKLOG: usize = 4096;

struct Client {
    out: SyncSender<Vec<u8>>,
    stream: UnixStream,
}

#[derive(Default)]
struct Shared {
    server: Server,
    clients: HashMap<ConnId, Client>,
}

fn lock(sh: &Mutex<Shared>) -> Result<MutexGuard<'_, Shared>> {
    sh.lock().map_err(|_| anyhow::anyhow!("xenstored-host: state poisoned"))
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
            if let Err(e) = client(sh, stream) {
                eprintln!("xenstored-host: {e:#}");
            }
        });
    }
    Ok(())
}

fn client(sh: Arc<Mutex<Shared>>, mut stream: UnixStream) -> Result<()> {
    let (out, rx) = sync_channel::<Vec<u8>>(CLIENT_BACKLOG);
    let mut wstream = stream.try_clone()?;
    std::thread::spawn(move || {
        for bytes in rx {
            if wstream.write_all(&bytes).is_err() {
                let _ = wstream.shutdown(Shutdown::Both);
                break;
            }
        }
    });
    let id = {
        let mut s = lock(&sh)?;
        let id = s.server.connect(0, true);
        s.clients.insert(id, Client { out, stream: stream.try_clone()? });
        id
    };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let result = 'read: loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break Ok(()),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match Msg::parse(&buf) {
                Ok((m, used)) => {
                    buf.drain(..used);
                    let mut s = lock(&sh)?;
                    if !s.clients.contains_key(&id) {
                        break 'read Ok(());
                    }
                    s.server.handle(id, &m);
                    route(&mut s);
                }
                Err(WireError::Incomplete) => break,
                Err(e @ WireError::TooLong(_)) => {
                    eprintln!("xenstored-host: client {id}: {e}; disconnecting it");
                    break 'read Ok(());
                }
            }
        }
    };
    let mut s = lock(&sh)?;
    s.server.disconnect(id);
    s.clients.remove(&id);
    result
}

/// Hands queued output to the clients' writers, without blocking.
fn route(s: &mut Shared) {
    let mut stuck = Vec::new();
    for (&id, c) in &s.clients {
        while let Some(m) = s.server.pop_output(id) {
            match c.out.try_send(m.emit()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    stuck.push(id);
                    break;
                }
            }
        }
    }
    for id in stuck {
        eprintln!("xenstored-host: client {id} does not read its replies ({CLIENT_BACKLOG} queued); disconnecting it");
        s.server.disconnect(id);
        if let Some(c) = s.clients.remove(&id) {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
    }
    // Domains introduced over the socket have no ring to take theirs.
    drop(s.server.take_output());
}
