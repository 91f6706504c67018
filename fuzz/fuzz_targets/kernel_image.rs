//! Any bytes as a guest kernel (and device tree): the builder's checks and
//! the DT reader refuse bad input without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = builder::image::load(data);
    let _ = platform::Platform::parse(data);
});
