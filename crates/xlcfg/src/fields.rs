//! Small value checks shared by the device specs (`disk`, `vif`).

/// Longest path-like value (a disk target, a hotplug script): with the
/// other limits, a spec's canonical form stays within [`crate::MAX_VALUE`].
pub const MAX_PATH: usize = 1024;

/// `strtoul(s, &end, 0)` where the whole of `s` must be used: decimal,
/// `0x`/`0X` hex or `0` octal. Unlike C, no leading blanks, no sign, and
/// an out-of-range value is `None` (C clamps and sets `ERANGE`).
pub(crate) fn c_number(s: &str) -> Option<u64> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None if s.len() > 1 && s.starts_with('0') => (&s[1..], 8),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A decimal number without sign, blanks or other characters.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether `s` holds a control character (C0, DEL or C1).
pub(crate) fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A backend domain given by name or id (`backend=`): 1 to 64 characters,
/// no '/', blanks or control characters (it becomes part of store paths
/// and is looked up as a domain name).
pub(crate) fn is_domain_ref(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && !s.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_numbers() {
        assert_eq!(c_number("0"), Some(0));
        assert_eq!(c_number("51712"), Some(51712));
        assert_eq!(c_number("0x10"), Some(16));
        assert_eq!(c_number("0X1f"), Some(31));
        assert_eq!(c_number("010"), Some(8));
        for bad in ["", "0x", "08", "1a", "-1", "+1", " 1", "99999999999999999999999"] {
            assert_eq!(c_number(bad), None, "{bad:?}");
        }
    }
}
