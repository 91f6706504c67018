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
        d.list_mem_mib(),
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
        (abi::XEN_SYSCTL_PHYSCAP_VPMU, " vpmu"),
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

/// What `info` shows beyond `physinfo` and `xen_version`: Dom0's own
/// "uname" (xl prints the toolstack domain's), and the facts xl gathers
/// with other calls.
#[derive(Debug, Clone, Default)]
pub struct HostExtra {
    /// `uname -n` / `-r` / `-v` / `-m` of Dom0.
    pub host: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    /// CPUs in no cpupool (`XEN_SYSCTL_CPUPOOL_OP_FREEINFO`), if Xen said.
    pub free_cpus: Option<u32>,
    pub sharing_freed_pages: u64,
    pub sharing_used_frames: u64,
    pub dom0_mem_kib: u64,
    pub dom0_vcpus: u32,
}

/// `xl info`: the keys, order and formats of tools/xl/xl_info.c
/// (`print_info`: node, physinfo, xeninfo, `xend_config_format`), then
/// thindom's own Dom0 lines.
pub fn info(p: &PhysInfo, v: &VersionInfo, sched: u32, extra: &HostExtra) -> String {
    let mut o = String::new();
    let page = if v.pagesize == 0 { 4096 } else { v.pagesize };
    let mib = |pages: u64| pages / ((1 << 20) / page).max(1);
    let mut kv = |k: &str, v: &dyn core::fmt::Display| {
        let _ = writeln!(o, "{k:<23}: {v}");
    };
    kv("host", &extra.host);
    kv("release", &extra.release);
    kv("version", &extra.version);
    kv("machine", &extra.machine);
    kv("nr_cpus", &p.nr_cpus);
    kv("max_cpu_id", &p.max_cpu_id);
    kv("nr_nodes", &p.nr_nodes);
    kv("cores_per_socket", &p.cores_per_socket);
    kv("threads_per_core", &p.threads_per_core);
    kv("cpu_mhz", &format!("{}.{:03}", p.cpu_khz / 1000, p.cpu_khz % 1000));
    let hw: alloc::vec::Vec<String> = p.hw_cap.iter().map(|w| format!("{w:08x}")).collect();
    kv("hw_caps", &hw.join(":"));
    kv("virt_caps", &String::from(virt_caps(p.capabilities).trim_start()));
    kv("total_memory", &mib(p.total_pages));
    kv("free_memory", &mib(p.free_pages.saturating_sub(p.outstanding_pages)));
    kv("sharing_freed_memory", &mib(extra.sharing_freed_pages));
    kv("sharing_used_memory", &mib(extra.sharing_used_frames));
    kv("outstanding_claims", &mib(p.outstanding_pages));
    if let Some(n) = extra.free_cpus {
        kv("free_cpus", &n);
    }
    kv("xen_major", &v.major);
    kv("xen_minor", &v.minor);
    kv("xen_extra", &v.extra);
    kv("xen_version", &version_string(v));
    kv("xen_caps", &v.capabilities);
    kv("xen_scheduler", &scheduler_name(sched));
    kv("xen_pagesize", &page);
    kv("platform_params", &format!("virt_start={:#x}", v.virt_start));
    kv("xen_changeset", &v.changeset);
    kv("xen_commandline", &v.commandline);
    kv("cc_compiler", &v.compiler);
    kv("cc_compile_by", &v.compile_by);
    kv("cc_compile_domain", &v.compile_domain);
    kv("cc_compile_date", &v.compile_date);
    kv("build_id", &v.build_id);
    kv("xend_config_format", &4);
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

/// One bound port as the `evtchn` command shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRow {
    pub port: u32,
    pub name: String,
    /// Xen's view (`EVTCHNOP_status`): state and vCPU, or why it failed.
    pub state: Result<(xen_hyp::EvtchnState, u32), xen_hyp::Errno>,
    pub masked: bool,
    /// Events seen.
    pub count: u32,
}

/// The `evtchn` table.
pub fn evtchn_table(rows: &[PortRow]) -> String {
    let mut out = String::from("port  name                state                         vcpu  masked  events\n");
    for r in rows {
        let (state, vcpu) = match r.state {
            Ok((s, v)) => (evtchn_state(&s), format!("{v}")),
            Err(e) => (format!("status failed: {e}"), "-".into()),
        };
        let masked = if r.masked { "yes" } else { "no" };
        let _ =
            writeln!(out, "{:>4}  {:<18}  {:<28}  {:>4}  {:<6}  {:>6}", r.port, r.name, state, vcpu, masked, r.count);
    }
    out
}

/// An event channel's state as the `evtchn` command shows it.
pub fn evtchn_state(s: &xen_hyp::EvtchnState) -> String {
    use xen_hyp::EvtchnState as S;
    match *s {
        S::Closed => "closed".into(),
        S::Unbound { remote } => format!("unbound (for dom {remote})"),
        S::Interdomain { remote, remote_port } => format!("interdomain dom {remote} port {remote_port}"),
        S::Pirq(n) => format!("pirq {n}"),
        S::Virq(n) => format!("virq {n}"),
        S::Ipi => "ipi".into(),
        S::Unknown(n) => format!("unknown ({n})"),
    }
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

/// A value another domain wrote, made safe to print on the operator's
/// terminal as Xen's `xenstore-read`/`xenstore-ls` do (`sanitise_value`
/// in tools/xenstore): printable ASCII as it is, `\a \b \f \n \r \t \v`
/// and `\\` for those, every other byte (control characters, DEL, bytes
/// of UTF-8 sequences) as `\` and three octal digits. No escape sequence
/// or line break a guest writes reaches the terminal.
pub fn escape_value(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for &b in v {
        match b {
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(char::from(b)),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            _ => {
                let _ = write!(out, "\\{:03o}", b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn values_are_escaped_as_xenstore_read_does() {
        assert_eq!(escape_value(b"plain text 1.2"), "plain text 1.2");
        assert_eq!(escape_value(b"a\\b"), "a\\\\b");
        assert_eq!(escape_value(b"\x1b]0;x\x07\r\n[ 9] WARN"), "\\033]0;x\\a\\r\\n[ 9] WARN");
        assert_eq!(escape_value("é".as_bytes()), "\\303\\251");
        assert_eq!(escape_value(&[0, 0x7f, 0x0b, 0x0c, 8, b'\t']), "\\000\\177\\v\\f\\b\\t");
    }

    proptest::proptest! {
        #[test]
        fn escaped_values_have_no_control_bytes(v in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let e = escape_value(&v);
            proptest::prop_assert!(e.bytes().all(|b| (b' '..=b'~').contains(&b)));
        }
    }
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

    /// A domain with `flags` and shutdown code `reason` (if shut down).
    fn dom(flags: u32, reason: Option<u32>) -> DomainInfo {
        let sd = reason.map_or(0, |r| abi::XEN_DOMINF_SHUTDOWN | (r << abi::XEN_DOMINF_SHUTDOWNSHIFT));
        DomainInfo { flags: flags | sd, ..Default::default() }
    }

    #[test]
    fn states_as_xl_shows_them() {
        // xl: r b p s, then the shutdown reason from "-rscwS", then d.
        let cases = [
            (dom(abi::XEN_DOMINF_RUNNING, None), "r-----"),
            (dom(abi::XEN_DOMINF_BLOCKED, Some(0)), "-b-s--"),
            (dom(0, Some(1)), "---sr-"),
            (dom(0, Some(2)), "---ss-"),
            (dom(abi::XEN_DOMINF_PAUSED, Some(3)), "--psc-"),
            (dom(0, Some(4)), "---sw-"),
            (dom(0, Some(5)), "---sS-"),
            (dom(0, Some(9)), "---s?-"),
            (dom(abi::XEN_DOMINF_DYING, Some(3)), "---scd"),
            (dom(abi::XEN_DOMINF_DYING | abi::XEN_DOMINF_PAUSED, None), "--p--d"),
        ];
        for (d, want) in cases {
            let row = list_row("g", &d);
            assert_eq!(&row[63..69], want, "{row}");
        }
        assert!(dom(0, Some(3)).state().crashed());
    }

    #[test]
    fn list_mem_counts_outstanding_claims() {
        let d = DomainInfo { domid: 3, tot_pages: 4096, outstanding_pages: 1024, ..Default::default() };
        assert!(list_row("g", &d).starts_with(&format!("{:<40}     3    20", "g")));
    }

    #[test]
    fn info_keys_in_xl_order() {
        let p = PhysInfo {
            nr_cpus: 2,
            max_cpu_id: 1,
            capabilities: abi::XEN_SYSCTL_PHYSCAP_HVM
                | abi::XEN_SYSCTL_PHYSCAP_HAP
                | abi::XEN_SYSCTL_PHYSCAP_VPMU
                | abi::XEN_SYSCTL_PHYSCAP_GNTTAB_V1,
            hw_cap: [0xa, 0, 0, 0, 0, 0, 0, 0xffff_ffff],
            ..Default::default()
        };
        let v = VersionInfo { pagesize: 4096, virt_start: 0x200000, build_id: "7a23".into(), ..Default::default() };
        let e = HostExtra { free_cpus: Some(0), ..Default::default() };
        let s = info(&p, &v, abi::XEN_SCHEDULER_CREDIT2, &e);
        let keys: alloc::vec::Vec<&str> = s.lines().map(|l| l.split(" :").next().unwrap().trim_end()).collect();
        let xl = [
            "host",
            "release",
            "version",
            "machine",
            "nr_cpus",
            "max_cpu_id",
            "nr_nodes",
            "cores_per_socket",
            "threads_per_core",
            "cpu_mhz",
            "hw_caps",
            "virt_caps",
            "total_memory",
            "free_memory",
            "sharing_freed_memory",
            "sharing_used_memory",
            "outstanding_claims",
            "free_cpus",
            "xen_major",
            "xen_minor",
            "xen_extra",
            "xen_version",
            "xen_caps",
            "xen_scheduler",
            "xen_pagesize",
            "platform_params",
            "xen_changeset",
            "xen_commandline",
            "cc_compiler",
            "cc_compile_by",
            "cc_compile_domain",
            "cc_compile_date",
            "build_id",
            "xend_config_format",
        ];
        assert_eq!(&keys[..xl.len()], xl);
        assert!(s.contains("virt_caps              : hvm hap vpmu gnttab-v1\n"), "{s}");
        assert!(s.contains(
            "hw_caps                : 0000000a:00000000:00000000:00000000:00000000:00000000:00000000:ffffffff\n"
        ));
        assert!(s.contains("platform_params        : virt_start=0x200000\n"));
        assert!(s.contains("build_id               : 7a23\n"));
        assert!(s.contains("xend_config_format     : 4\n"));
    }

    #[test]
    fn virt_caps_use_417_bits() {
        // public/sysctl.h (4.17): vpmu is bit 7, gnttab_v1 bit 8, gnttab_v2 bit 9.
        assert_eq!(virt_caps(1 << 7), " vpmu");
        assert_eq!(virt_caps(1 << 8), " gnttab-v1");
        assert_eq!(virt_caps(1 << 9), " gnttab-v2");
    }

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(3_723_004_000_000), "01:02:03.004");
        assert_eq!(uptime(90_000_000_000_000), "1d 01:00:00.000");
    }
}

#[cfg(test)]
mod evtchn_tests {
    use super::*;
    use xen_hyp::EvtchnState as S;

    #[test]
    fn evtchn_table_has_a_row_per_port() {
        let rows = [
            PortRow { port: 3, name: "virq:dom_exc".into(), state: Ok((S::Virq(3), 0)), masked: false, count: 7 },
            PortRow { port: 9, name: "x".into(), state: Err(xen_hyp::Errno::EINVAL), masked: true, count: 0 },
        ];
        let t = evtchn_table(&rows);
        let lines: alloc::vec::Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "   3  virq:dom_exc        virq 3                           0  no           7");
        assert!(lines[2].contains("status failed: EINVAL") && lines[2].contains("yes"), "{}", lines[2]);
    }

    #[test]
    fn evtchn_states_read_as_words() {
        assert_eq!(evtchn_state(&S::Unbound { remote: 3 }), "unbound (for dom 3)");
        assert_eq!(evtchn_state(&S::Interdomain { remote: 1, remote_port: 4 }), "interdomain dom 1 port 4");
        assert_eq!(evtchn_state(&S::Virq(3)), "virq 3");
        assert_eq!(evtchn_state(&S::Unknown(9)), "unknown (9)");
    }
}
