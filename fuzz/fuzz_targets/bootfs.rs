//! Any bytes as a boot ramdisk (cpio): entries or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = bootfs::entries(data) {
        for e in entries {
            assert!(e.data.len() <= data.len());
        }
    }
});
