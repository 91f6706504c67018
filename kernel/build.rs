//! Links the bare-metal kernel with `link.ld` (only for the `-none` target;
//! on the host the crate is an empty program so workspace commands work).
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-none") || target.ends_with("-none-softfloat") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
