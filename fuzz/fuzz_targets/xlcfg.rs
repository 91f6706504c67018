//! Any text as an xl.cfg file: a config or an error, never a panic; a
//! config rendered back parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = xlcfg::DomainConfig::from_text(&text) {
        assert_eq!(xlcfg::DomainConfig::from_text(&c.to_string()).as_ref(), Ok(&c));
    }
});
