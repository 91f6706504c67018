//! Links the test guest with aarch64-rt's `link.ld` (only for the
//! `-none` targets; on the host the crate is an empty program so workspace
//! commands work).
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/aarch64-rt/link.ld");
    if target.contains("-none") {
        println!("cargo:rustc-link-arg-bins=-T{script}");
    }
    println!("cargo:rerun-if-changed={script}");
    println!("cargo:rerun-if-changed=build.rs");
}
