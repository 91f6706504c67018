//! Where the time of a create goes: named phases on a free-running
//! counter (the generic timer's, on target), shown in milliseconds.
//!
//! A [`Phases`] is started with the counter's value; each
//! [`Phases::enter`] ends the running phase and starts the next one;
//! [`Phases::finish`] ends the last. A phase entered twice (a build tried
//! again) accumulates. Only differences of counter values are used, so the
//! counter may start anywhere and wrap.

use alloc::vec::Vec;
use core::fmt;

/// Phases being timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phases {
    /// The running phase and the counter value it started at.
    running: (&'static str, u64),
    done: Vec<(&'static str, u64)>,
    start: u64,
}

impl Phases {
    /// Starts timing at counter value `now`, in phase `first`.
    pub fn new(first: &'static str, now: u64) -> Self {
        Phases { running: (first, now), done: Vec::new(), start: now }
    }

    /// Ends the running phase at `now` and starts `name`.
    pub fn enter(&mut self, name: &'static str, now: u64) {
        let (prev, since) = core::mem::replace(&mut self.running, (name, now));
        self.add(prev, now.wrapping_sub(since));
    }

    fn add(&mut self, name: &'static str, ticks: u64) {
        match self.done.iter_mut().find(|(n, _)| *n == name) {
            Some((_, t)) => *t = t.wrapping_add(ticks),
            None => self.done.push((name, ticks)),
        }
    }

    /// Ends the running phase at `now`: each phase's ticks in the order
    /// first entered, and the total.
    pub fn finish(mut self, now: u64) -> Timing {
        let (last, since) = self.running;
        self.add(last, now.wrapping_sub(since));
        Timing { phases: self.done, total: now.wrapping_sub(self.start) }
    }
}

/// Counter ticks per phase, and in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub phases: Vec<(&'static str, u64)>,
    pub total: u64,
}

impl Timing {
    /// `<total> ms: <phase> <ms>, ...` for a counter of `hz` ticks per
    /// second (in ticks if `hz` is 0).
    pub fn display(&self, hz: u64) -> impl fmt::Display + '_ {
        Shown(self, hz)
    }
}

struct Shown<'a>(&'a Timing, u64);

/// Writes `ticks` as milliseconds with microsecond digits (exact integer
/// arithmetic, no floating point in `no_std`).
fn ms(f: &mut fmt::Formatter<'_>, ticks: u64, hz: u64) -> fmt::Result {
    if hz == 0 {
        return write!(f, "{ticks}");
    }
    let us = u128::from(ticks) * 1_000_000 / u128::from(hz);
    write!(f, "{}.{:03}", us / 1000, us % 1000)
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, hz) = (self.0, self.1);
        ms(f, t.total, hz)?;
        f.write_str(if hz == 0 { " ticks:" } else { " ms:" })?;
        for (i, (name, ticks)) in t.phases.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{name} ")?;
            ms(f, *ticks, hz)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn phases_add_up_and_repeat_accumulates() {
        let mut p = Phases::new("config", 1000);
        p.enter("build", 1010);
        p.enter("console", 1060);
        p.enter("build", 1065);
        let t = p.finish(1100);
        assert_eq!(t.phases, [("config", 10), ("build", 85), ("console", 5)]);
        assert_eq!(t.total, 100);
        assert_eq!(t.phases.iter().map(|p| p.1).sum::<u64>(), t.total);
    }

    #[test]
    fn shown_in_milliseconds_or_ticks() {
        let mut p = Phases::new("a", u64::MAX - 10);
        p.enter("b", 62_500 - 11); // wraps: 62_500 ticks in a
        let t = p.finish(62_500 - 11 + 3_125_000);
        assert_eq!(t.display(62_500_000).to_string(), "51.000 ms: a 1.000, b 50.000");
        assert_eq!(t.display(0).to_string(), "3187500 ticks: a 62500, b 3125000");
        let one = Phases::new("x", 0).finish(1);
        assert_eq!(one.display(62_500_000).to_string(), "0.000 ms: x 0.000");
    }
}
