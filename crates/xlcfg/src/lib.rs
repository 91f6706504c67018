//! `xlcfg`: domain configuration files in the xl.cfg format
//! (`docs/man/xl.cfg.5.pod` of Xen 4.17; syntax of libxlutil's parser).
//!
//! Syntax: `key = value` settings separated by newlines or `;`; values are
//! strings (`"..."` or `'...'`, with `\"`, `\\`, `\n`, `\t`, `\'` escapes),
//! numbers (decimal or `0x` hex), or lists `[ v, v, ]` that may span lines;
//! `#` starts a comment. [`parse`] reads the syntax, [`DomainConfig`] the
//! keys an Arm guest needs. Unknown keys and bad values are errors that name
//! the line and the key (xl only warns on unknown keys; thindom is strict
//! so a typo never silently changes a safety-relevant guest). A key given
//! twice is an error too.
//!
//! Devices: `disk` entries ([`parse_disk`], `docs/misc/xl-disk-configuration.txt`)
//! and `vif` entries ([`parse_vif`], `docs/man/xl-network-configuration.5.pod`),
//! each a string parsed on its own; virtual device names map to device ids
//! as libxl maps them ([`vdev_to_devid`]).
//!
//! Extension: `autostart = 1` asks thindom to create the domain at boot.
//!
//! Threat model: the file comes from a user or the boot ramdisk. Sizes are
//! bounded ([`MAX_FILE`], [`MAX_VALUE`], [`MAX_LIST`]); any input gives a
//! value or an error, never a panic.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod config;
mod disk;
mod fields;
mod syntax;
#[cfg(test)]
mod testgen;
mod vdev;
mod vif;

pub use config::{Action, DomainConfig, GicChoice, Iomem};
pub use disk::{
    parse_disk, Access, BackendType, DevType, DiskError, DiskFormat, DiskSpec, Legacy, Specification, MAX_VDEV,
};
pub use fields::MAX_PATH;
pub use syntax::{parse, Error, Setting, Value, MAX_FILE, MAX_LIST, MAX_VALUE};
pub use vdev::{devid_to_vdev, disk_letters, vdev_to_devid, EXTENDED, MAX_XVD_DISKS, XVD_MAJOR};
pub use vif::{
    default_mac, parse_vif, IpSpec, Mac, NicType, Rate, VifError, VifSpec, DEFAULT_RATE_INTERVAL_USECS, MAX_IPS,
    MAX_NAME,
};
