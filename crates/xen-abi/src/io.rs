//! `public/io/console.h` and `public/io/xs_wire.h`: the shared rings'
//! layouts. Rings are written by another domain: these are offsets and
//! sizes for atomic access, not structs to reference.

/// `struct xencons_interface`: `in[1024]`, `out[2048]`, then four u32
/// indexes.
pub mod console {
    pub const IN_SIZE: u32 = 1024;
    pub const OUT_SIZE: u32 = 2048;
    pub const IN: usize = 0;
    pub const OUT: usize = 1024;
    pub const IN_CONS: usize = 3072;
    pub const IN_PROD: usize = 3076;
    pub const OUT_CONS: usize = 3080;
    pub const OUT_PROD: usize = 3084;
}

/// `struct xenstore_domain_interface`.
pub mod xenstore {
    pub const RING_SIZE: u32 = 1024;
    pub const REQ: usize = 0;
    pub const RSP: usize = 1024;
    pub const REQ_CONS: usize = 2048;
    pub const REQ_PROD: usize = 2052;
    pub const RSP_CONS: usize = 2056;
    pub const RSP_PROD: usize = 2060;
    pub const SERVER_FEATURES: usize = 2064;
    pub const CONNECTION: usize = 2068;
    pub const ERROR: usize = 2072;
}
