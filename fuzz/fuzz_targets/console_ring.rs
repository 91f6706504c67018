//! A guest's console page with arbitrary contents: Dom0's side reads and
//! writes it without panicking and never takes more than the ring holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xencons::{MemPage, RingPage};

fuzz_target!(|data: &[u8]| {
    let p = MemPage::default();
    let n = data.len().min(4096);
    p.write(0, &data[..n]);
    let mut buf = [0u8; 4096];
    if let Ok(k) = xencons::read_output(&p, &mut buf) {
        assert!(k <= 2048);
    }
    let _ = xencons::write_input(&p, data);
});
