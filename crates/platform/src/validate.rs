//! A structural check of a flattened device tree, run before the `fdt`
//! crate reads it: that crate `expect`s well-formedness (string offsets,
//! tokens, UTF-8) and panics otherwise, which hostile input must not cause.

use crate::Error;
use alloc::string::String;

const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn bad(what: &str) -> Error {
    Error::Invalid(String::from(what))
}

fn cstr(b: &[u8], at: usize) -> Option<(&str, usize)> {
    let rest = b.get(at..)?;
    let n = rest.iter().position(|&c| c == 0)?;
    Some((core::str::from_utf8(&rest[..n]).ok()?, n + 1))
}

/// Checks the header, the structure block and every name.
pub fn validate(b: &[u8]) -> Result<(), Error> {
    if be32(b, 0) != Some(0xd00d_feed) {
        return Err(bad("bad magic"));
    }
    let h = |i: usize| be32(b, i * 4).map(|v| v as usize).ok_or_else(|| bad("truncated header"));
    let (total, off_struct, off_strings, version) = (h(1)?, h(2)?, h(3)?, h(5)?);
    let (size_strings, size_struct) = (h(8)?, h(9)?);
    if total > b.len() || total < 40 || version < 16 {
        return Err(bad("bad total size or version"));
    }
    let blk = |off: usize, size: usize| off.checked_add(size).filter(|&e| e <= total).map(|e| &b[off..e]);
    let st = blk(off_struct, size_struct).ok_or_else(|| bad("structure block outside the blob"))?;
    let strings = blk(off_strings, size_strings).ok_or_else(|| bad("strings block outside the blob"))?;
    let mut at = 0usize;
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let tok = be32(st, at).ok_or_else(|| bad("structure block ends without FDT_END"))?;
        at += 4;
        match tok {
            BEGIN_NODE => {
                if depth == 0 && seen_root {
                    return Err(bad("more than one root node"));
                }
                seen_root = true;
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(bad("nodes nested too deep"));
                }
                let (_, n) = cstr(st, at).ok_or_else(|| bad("bad node name"))?;
                at = (at + n + 3) & !3;
            }
            END_NODE => depth = depth.checked_sub(1).ok_or_else(|| bad("unbalanced FDT_END_NODE"))?,
            PROP => {
                if depth == 0 {
                    return Err(bad("property outside a node"));
                }
                let len = be32(st, at).ok_or_else(|| bad("truncated property"))? as usize;
                let nameoff = be32(st, at + 4).ok_or_else(|| bad("truncated property"))? as usize;
                cstr(strings, nameoff).ok_or_else(|| bad("bad property name"))?;
                let end =
                    (at + 8).checked_add(len).filter(|&e| e <= st.len()).ok_or_else(|| bad("property too long"))?;
                at = (end + 3) & !3;
            }
            NOP => {}
            END if depth == 0 && seen_root => return Ok(()),
            _ => return Err(bad("bad structure token")),
        }
    }
}
