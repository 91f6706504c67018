//! Text output in the shape `xl` prints (tools/xl/xl_info.c in Xen 4.17),
//! so people and scripts used to `xl list` / `xl info` read thindom alike.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use xen_abi::sysctl as abi;
use xen_hyp::{DomainInfo, PhysInfo, VersionInfo};

/// `xl list`'s header line.
pub const LIST_HEADER: &str = "Name                                        ID   Mem VCPUs\tState\tTime(s)";

/// One `xl list` row.
pub fn list_row(name: &str, d: &DomainInfo) -> String {
    let s = d.state().letters();
    let st = core::str::from_utf8(&s).unwrap_or("------");
    format!(
        "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1}",
        name,
        d.domid,
        d.mem_kib() / 1024,
        d.nr_online_vcpus,
        st,
        d.cpu_time_ns as f64 / 1e9
    )
}

/// The whole `xl list` table; `name` maps a domid to its name.
pub fn list(domains: &[DomainInfo], name: &dyn Fn(u16) -> String) -> String {
    let mut out = String::from(LIST_HEADER);
    out.push('\n');
    for d in domains {
        out.push_str(&list_row(&name(d.domid), d));
        out.push('\n');
    }
    out
}

/// Scheduler name as libxl spells it.
pub fn scheduler_name(id: u32) -> &'static str {
    match id {
        abi::XEN_SCHEDULER_CREDIT => "credit",
        abi::XEN_SCHEDULER_CREDIT2 => "credit2",
        abi::XEN_SCHEDULER_ARINC653 => "arinc653",
        abi::XEN_SCHEDULER_RTDS => "rtds",
        abi::XEN_SCHEDULER_NULL => "null",
        _ => "unknown",
    }
}

fn virt_caps(c: u32) -> String {
    let mut s = String::new();
    let caps = [
        (abi::XEN_SYSCTL_PHYSCAP_PV, " pv"),
        (abi::XEN_SYSCTL_PHYSCAP_HVM, " hvm"),
        (abi::XEN_SYSCTL_PHYSCAP_HVM | abi::XEN_SYSCTL_PHYSCAP_DIRECTIO, " hvm_directio"),
        (abi::XEN_SYSCTL_PHYSCAP_PV | abi::XEN_SYSCTL_PHYSCAP_DIRECTIO, " pv_directio"),
        (abi::XEN_SYSCTL_PHYSCAP_HAP, " hap"),
        (abi::XEN_SYSCTL_PHYSCAP_SHADOW, " shadow"),
        (abi::XEN_SYSCTL_PHYSCAP_IOMMU_HAP_PT_SHARE, " iommu_hap_pt_share"),
        (abi::XEN_SYSCTL_PHYSCAP_VMTRACE, " vmtrace"),
        (abi::XEN_SYSCTL_PHYSCAP_GNTTAB_V1, " gnttab-v1"),
        (abi::XEN_SYSCTL_PHYSCAP_GNTTAB_V2, " gnttab-v2"),
    ];
    for (mask, name) in caps {
        if c & mask == mask {
            s.push_str(name);
        }
    }
    s
}

/// `x.y` + extra, e.g. `4.17.5-pre`.
pub fn version_string(v: &VersionInfo) -> String {
    format!("{}.{}{}", v.major, v.minor, v.extra)
}

/// Host facts beyond Xen's own: what thindom adds to `info`.
#[derive(Debug, Clone, Default)]
pub struct HostExtra {
    pub host: String,
    pub dom0_mem_kib: u64,
    pub dom0_vcpus: u32,
}

/// `xl info`-style key/value listing.
pub fn info(p: &PhysInfo, v: &VersionInfo, sched: u32, extra: &HostExtra) -> String {
    let mut o = String::new();
    let mib = |pages: u64| pages / 256;
    let mut kv = |k: &str, v: &dyn core::fmt::Display| {
        let _ = writeln!(o, "{k:<23}: {v}");
    };
    kv("host", &extra.host);
    kv("nr_cpus", &p.nr_cpus);
    kv("nr_nodes", &p.nr_nodes);
    kv("cores_per_socket", &p.cores_per_socket);
    kv("threads_per_core", &p.threads_per_core);
    kv("cpu_mhz", &format!("{}.{:03}", p.cpu_khz / 1000, p.cpu_khz % 1000));
    kv("virt_caps", &String::from(virt_caps(p.capabilities).trim_start()));
    kv("total_memory", &mib(p.total_pages));
    kv("free_memory", &mib(p.free_pages.saturating_sub(p.outstanding_pages)));
    kv("outstanding_claims", &mib(p.outstanding_pages));
    kv("xen_major", &v.major);
    kv("xen_minor", &v.minor);
    kv("xen_extra", &v.extra);
    kv("xen_version", &version_string(v));
    kv("xen_caps", &v.capabilities);
    kv("xen_scheduler", &scheduler_name(sched));
    kv("xen_pagesize", &4096);
    kv("xen_changeset", &v.changeset);
    kv("xen_commandline", &v.commandline);
    kv("cc_compiler", &v.compiler);
    kv("cc_compile_by", &v.compile_by);
    kv("cc_compile_domain", &v.compile_domain);
    kv("cc_compile_date", &v.compile_date);
    kv("dom0_memory", &format!("{} MiB", extra.dom0_mem_kib / 1024));
    kv("dom0_vcpus", &extra.dom0_vcpus);
    o
}

/// `version` command output.
pub fn version(v: &VersionInfo) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Xen version {} ({}@{}) ({})", version_string(v), v.compile_by, v.compile_domain, v.compiler);
    let _ = writeln!(o, "extraversion: {}", v.extra);
    let _ = writeln!(o, "changeset:    {}", v.changeset);
    let _ = writeln!(o, "capabilities: {}", v.capabilities);
    let _ = writeln!(o, "compiled:     {}", v.compile_date);
    o
}

/// Formats a duration in ns as `1d 02:03:04.567` / `02:03:04.567`.
pub fn uptime(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (d, h, m, s, ms) = (ms / 86_400_000, ms / 3_600_000 % 24, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{ms:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_matches_xl_columns() {
        let d = DomainInfo {
            domid: 0,
            flags: abi::XEN_DOMINF_RUNNING,
            tot_pages: 32768,
            nr_online_vcpus: 1,
            cpu_time_ns: 12_345_000_000,
            ..Default::default()
        };
        let row = list_row("Domain-0", &d);
        assert_eq!(row, "Domain-0                                     0   128     1     r-----      12.3");
        let t = list(&[d], &|_| "Domain-0".into());
        assert!(t.starts_with(LIST_HEADER));
    }

    #[test]
    fn crashed_and_paused_states() {
        let d =
            DomainInfo { flags: abi::XEN_DOMINF_PAUSED | abi::XEN_DOMINF_SHUTDOWN | (3 << 16), ..Default::default() };
        assert_eq!(&d.state().letters(), b"--p-c-");
        let d = DomainInfo { flags: abi::XEN_DOMINF_BLOCKED | abi::XEN_DOMINF_SHUTDOWN, ..Default::default() };
        assert_eq!(&d.state().letters(), b"-b-s--");
    }

    #[test]
    fn info_has_xl_keys() {
        let p = PhysInfo {
            nr_cpus: 2,
            total_pages: 524288,
            free_pages: 262144,
            cpu_khz: 62500,
            capabilities: abi::XEN_SYSCTL_PHYSCAP_HVM | abi::XEN_SYSCTL_PHYSCAP_HAP,
            ..Default::default()
        };
        let v = VersionInfo { major: 4, minor: 17, extra: ".5".into(), ..Default::default() };
        let s = info(
            &p,
            &v,
            abi::XEN_SCHEDULER_CREDIT2,
            &HostExtra { host: "thindom".into(), dom0_mem_kib: 131072, dom0_vcpus: 1 },
        );
        assert!(s.contains("nr_cpus                : 2\n"), "{s}");
        assert!(s.contains("total_memory           : 2048\n"));
        assert!(s.contains("free_memory            : 1024\n"));
        assert!(s.contains("cpu_mhz                : 62.500\n"));
        assert!(s.contains("virt_caps              : hvm hap\n"));
        assert!(s.contains("xen_version            : 4.17.5\n"));
        assert!(s.contains("xen_scheduler          : credit2\n"));
        assert!(s.contains("dom0_memory            : 128 MiB\n"));
    }

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(3_723_004_000_000), "01:02:03.004");
        assert_eq!(uptime(90_000_000_000_000), "1d 01:00:00.000");
    }
}
