//! Any text as an xl `disk` spec: a spec or an error, never a panic; a
//! spec rendered back parses to itself; its device id is its vdev's.
//! The text read as a virtual device name gives an id or nothing, and an
//! `xvd` name's id reads back as the name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = xlcfg::parse_disk(&text) {
        assert_eq!(xlcfg::vdev_to_devid(&d.vdev), Some(d.devid));
        assert_eq!(xlcfg::parse_disk(&d.to_string()).as_ref(), Ok(&d), "{d}");
    }
    if let Some(id) = xlcfg::vdev_to_devid(&text) {
        if text.starts_with("xvd") {
            assert_eq!(xlcfg::devid_to_vdev(id), text);
        }
    }
    if let Ok(b) = <[u8; 4]>::try_from(data) {
        assert!(xlcfg::devid_to_vdev(u32::from_le_bytes(b)).starts_with("xvd"));
    }
});
