//! `domd-agent`: the driver domain's hotplug agent (see the library's
//! documentation). This file is the edge: options, logging to stderr,
//! opening `/dev/xen/xenbus`, and the event loop.
#![forbid(unsafe_code)]

use domd_agent::cli::{self, Command};
use domd_agent::linux::{open_xenbus, LinuxSystem};
use domd_agent::store::read_own_domid;
use domd_agent::{ready_line, Agent, XsStore};
use std::process::ExitCode;
use xenstore::client::Client;

/// Log lines on stderr, `domd-agent: ` first.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            match r.level() {
                log::Level::Info => eprintln!("domd-agent: {}", r.args()),
                l => eprintln!("domd-agent: {}: {}", l.as_str().to_lowercase(), r.args()),
            }
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Tells Dom0 the agent is (about to be) ready: `data/domd-agent = ready`
/// in its own domain's `data` directory
/// (which the toolstack makes writable by the domain), which Dom0 waits
/// for before it gives this domain devices to serve.
fn announce_ready<T: xenstore::client::Transport>(client: &mut Client<T>, own: u16) -> Result<(), String> {
    client
        .write(0, domd_agent::READY_NODE, b"ready")
        .map_err(|e| format!("writing {}: {e}", domd_agent::READY_NODE))?;
    log::debug!("{} written for domain {own}", domd_agent::READY_NODE);
    Ok(())
}

fn run(o: &cli::Options) -> Result<(), String> {
    let transport = open_xenbus(&o.xenbus).map_err(|e| format!("opening {}: {e}", o.xenbus))?;
    let mut client = Client::new(transport);
    let own = read_own_domid(&mut client)?;
    // Devices Dom0 writes between this and the watch are found by the
    // scan `start` makes.
    announce_ready(&mut client, own)?;
    let mut bridges = o.bridges.clone();
    if let Some(path) = &o.cmdline {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        bridges.extend(cli::bridges_from_cmdline(&text).map_err(|e| format!("{path}: {e}"))?);
    }
    let mut sys = LinuxSystem::new(o.losetup.clone()).with_bridges(bridges);
    // Not fatal: disks are served all the same, and a vif on a bridge that
    // could not be made reports why.
    if let Err(e) = sys.setup_bridges() {
        log::warn!("making the bridges: {e}");
    }
    let mut agent = Agent::new(own, XsStore::new(client), sys);
    agent.start().map_err(|e| format!("watching {}: {e}", agent.scope().root()))?;
    eprintln!("{}", ready_line(own));
    loop {
        agent.step().map_err(|e| format!("waiting for XenStore events: {e}"))?;
    }
}

fn main() -> ExitCode {
    let cmd = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("domd-agent: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let o = match cmd {
        Command::Help => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Command::Run(o) => o,
    };
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if o.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info });
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domd-agent: error: {e}");
            ExitCode::FAILURE
        }
    }
}
