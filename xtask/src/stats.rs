//! Summaries of measured figures, shared by the benches, and the parsers
//! of what thindom reports about its own phases.

use regex::Regex;

/// Median, min and max of `v` (NaN for none).
pub fn spread(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Named figures of several runs: each name's median, in the order the
/// names first appear (a name missing from a run counts as 0 there).
pub fn medians(runs: &[Vec<(String, f64)>]) -> Vec<(String, f64)> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for (n, _) in r {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    names
        .into_iter()
        .map(|n| {
            let v: Vec<f64> = runs.iter().map(|r| r.iter().find(|(m, _)| *m == n).map_or(0.0, |p| p.1)).collect();
            let med = spread(&v).0;
            (n, med)
        })
        .collect()
}

/// `name 1.234, other 5.678` (milliseconds).
pub fn phases_text(p: &[(String, f64)]) -> String {
    p.iter().map(|(n, ms)| format!("{n} {ms:.1}")).collect::<Vec<_>>().join(", ")
}

/// A create's own account: total and phases, in milliseconds.
pub type CreateTiming = (f64, Vec<(String, f64)>);

/// Where a create's time went, as thindom leaves it in XenStore
/// (`/vm/<uuid>/create-timing`, `toolstack::create::TIMING_KEY`:
/// `<cfg> <domid> paused|running <total> ms|ticks: <phase> <value>,
/// ...`): the total and each phase in milliseconds (`hz`: the counter's
/// frequency, for values in ticks).
pub fn create_timing(text: &str, hz: f64) -> Option<CreateTiming> {
    let re = Regex::new(r"\S+ \d+ (?:paused|running) ([\d.]+) (ms|ticks): (.*)").ok()?;
    let c = re.captures(text)?;
    let scale = if &c[2] == "ms" { 1.0 } else { 1000.0 / hz };
    let total = c[1].parse::<f64>().ok()? * scale;
    let phases = c[3]
        .trim()
        .split(", ")
        .map(|p| {
            let (n, v) = p.rsplit_once(' ')?;
            Some((n.to_string(), v.parse::<f64>().ok()? * scale))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((total, phases))
}

/// The line Xen prints as it hands the machine over to Dom0 (the end of
/// `init_done`; Dom0's vCPU is already unpaused).
pub const XEN_HANDOVER: &str = r"\(XEN\) Freed \d+kB init memory";

/// thindom's boot steps from its `boottime` output (`   12.345  key: what
/// the step did`): each step's key and its stamp (ms since Dom0's first
/// instruction, the counter `entry.S` saves), in order.
pub fn boot_steps(out: &str) -> Vec<(String, f64)> {
    let stamp = Regex::new(r"^\s*(\d+\.\d+)  ([^:]+):").expect("stamp regex");
    out.lines()
        .filter_map(|l| {
            let c = stamp.captures(l.trim_end_matches('\r'))?;
            Some((c[2].to_string(), c[1].parse::<f64>().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_timings_in_ms_or_ticks() {
        let (t, p) = create_timing("linux 3 paused 45.120 ms: config 0.200, image 0.010, kernel 40.000", 0.0).unwrap();
        assert_eq!(t, 45.12);
        assert_eq!(p[2], ("kernel".to_string(), 40.0));
        let (t, p) = create_timing("x 1 running 62500 ticks: evtchn+params 6250, busy-irq wait 0", 62.5e6).unwrap();
        assert!((t - 1.0).abs() < 1e-9 && (p[0].1 - 0.1).abs() < 1e-9);
        assert_eq!(p[1].0, "busy-irq wait");
        assert!(create_timing("xenstore-read: ENOENT", 1.0).is_none());
    }

    #[test]
    fn medians_of_named_figures() {
        let r = |v: &[(&str, f64)]| v.iter().map(|(n, x)| (n.to_string(), *x)).collect::<Vec<_>>();
        let m = medians(&[r(&[("a", 1.0), ("b", 5.0)]), r(&[("a", 3.0)]), r(&[("a", 2.0), ("b", 4.0)])]);
        assert_eq!(m, r(&[("a", 2.0), ("b", 4.0)]));
        assert_eq!(phases_text(&m), "a 2.0, b 4.0");
    }

    #[test]
    fn boot_steps_from_boottime() {
        let out = "boottime\r\nthindom's boot (ms since its first instruction):\r\n     2.881  MMU: identity map, 1 GiB\r\n\
                   \x20    5.451  heap: 486832 KiB\n    51.136  console input: event channel 2\n    52.000  ready: the shell\n";
        let s = boot_steps(out);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].0, "MMU");
        assert!((s[1].1 - 5.451).abs() < 1e-9);
        assert_eq!(s[2], ("console input".to_string(), 51.136));
        assert_eq!(s[3].0, "ready");
    }
}
