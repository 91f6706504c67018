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

/// Tells the world the agent is ready. Today a line on stderr, which Dom0
/// sees on Dom-D's console; another signal (a XenStore node under the
/// agent's backend tree, a file) belongs here.
fn announce_ready(own: u16) {
    eprintln!("{}", ready_line(own));
}

fn run(o: &cli::Options) -> Result<(), String> {
    let transport = open_xenbus(&o.xenbus).map_err(|e| format!("opening {}: {e}", o.xenbus))?;
    let mut client = Client::new(transport);
    let own = read_own_domid(&mut client)?;
    let mut agent = Agent::new(own, XsStore::new(client), LinuxSystem::new(o.losetup.clone()));
    agent.start().map_err(|e| format!("watching {}: {e}", agent.scope().root()))?;
    announce_ready(own);
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
