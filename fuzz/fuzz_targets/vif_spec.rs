//! Any text as an xl `vif` spec: a spec or an error, never a panic; a
//! spec rendered back parses to itself; a default MAC is a unicast
//! address in Xen's OUI.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = xlcfg::parse_vif(&text) {
        assert_eq!(xlcfg::parse_vif(&v.to_string()).as_ref(), Ok(&v), "{v}");
        let mac = v.mac_or_default(&text, v.devid_or_index(0));
        assert!(!mac.is_multicast());
        if v.mac.is_none() {
            assert_eq!(mac.0[..3], xlcfg::Mac::XEN_OUI);
        }
    }
});
