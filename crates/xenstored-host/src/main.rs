//! `xenstored-host [SOCKET]`: serves XenStore on SOCKET (default
//! `$XENSTORED_PATH`, else `/var/run/xenstored/socket`).

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("XENSTORED_PATH").ok())
        .unwrap_or_else(|| "/var/run/xenstored/socket".into());
    eprintln!("xenstored-host: serving {path}");
    xenstored_host::serve(std::path::Path::new(&path))
}
