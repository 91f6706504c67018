//! Any bytes as what the driver domain's agent reads: the node values of
//! a vbd (`params`, `type`, `mode`) and a vif (`script`, `bridge`,
//! `vifname`) directory, a watch event's path, and its `--bridge` /
//! kernel command-line bridge specs. A request or an error, never a
//! panic; what is accepted is safe to act on (an absolute target path,
//! interface names Linux takes, events only inside the agent's tree).
#![no_main]

use domd_agent::{block, cli, net, Scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(4, |&b| b == 0xff).collect();
    let part = |i: usize| parts.get(i).copied();
    if let Ok(r) = block::parse(part(0), part(1), part(2)) {
        assert!(r.target.starts_with('/'), "{:?}", r.target);
    }
    if let Ok(r) = net::parse(part(0), part(1), part(2)) {
        assert!(net::is_ifname(&r.bridge));
        assert!(r.vifname.as_deref().is_none_or(net::is_ifname));
    }
    let text = String::from_utf8_lossy(data);
    let scope = Scope::new(5);
    if scope.classify(&text).is_some() {
        assert!(scope.allows(&text));
    }
    if let Ok(b) = cli::BridgeConf::parse(&text) {
        assert!(net::is_ifname(&b.name));
        assert_eq!(cli::BridgeConf::parse(&match &b.addr {
            Some(a) => format!("{}:{a}", b.name),
            None => b.name.clone(),
        }), Ok(b));
    }
    if let Ok(bs) = cli::bridges_from_cmdline(&text) {
        assert!(bs.iter().all(|b| net::is_ifname(&b.name)));
    }
});
