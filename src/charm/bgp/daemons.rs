//! `/etc/frr/daemons`: which FRR daemons `frr.service` starts. BGP mode
//! needs `bgpd=yes`, and `bfdd=yes` when `bgp-bfd` is on. Only those two
//! lines are edited; everything else in the distribution's file stays.
//!
//! Before the `frr` package is installed there is no file to edit yet (the
//! hook installs it before writing files), so the distribution's defaults
//! (Debian / Ubuntu FRR 8) stand in for it.

/// The distribution's settings, for a unit where the file is not there yet.
const DISTRIBUTION_DEFAULTS: &str = "\
# This file tells the frr package which daemons to start.
# bgpd and bfdd are set by k8s-vip (BGP mode); the rest are FRR's defaults.
bgpd=no
ospfd=no
ospf6d=no
ripd=no
ripngd=no
isisd=no
pimd=no
pim6d=no
ldpd=no
nhrpd=no
eigrpd=no
babeld=no
sharpd=no
pbrd=no
bfdd=no
fabricd=no
vrrpd=no
pathd=no
vtysh_enable=yes
zebra_options=\"  -A 127.0.0.1 -s 90000000\"
bgpd_options=\"   -A 127.0.0.1\"
bfdd_options=\"   -A 127.0.0.1\"
staticd_options=\"-A 127.0.0.1\"
";

/// `current` (or the distribution's defaults) with `bgpd=yes` and
/// `bfdd=yes|no`; a setting that is missing is appended.
pub fn edit(current: Option<&str>, bfd: bool) -> String {
    let text = current.unwrap_or(DISTRIBUTION_DEFAULTS);
    let wanted = [("bgpd", true), ("bfdd", bfd)];
    let mut seen = [false; 2];
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.lines() {
        let key = line.trim_start().split('=').next().unwrap_or("").trim();
        match wanted
            .iter()
            .position(|(k, _)| *k == key && line.contains('='))
        {
            Some(i) => {
                seen[i] = true;
                out.push_str(&format!("{key}={}\n", yes_no(wanted[i].1)));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (i, (key, on)) in wanted.iter().enumerate() {
        if !seen[i] {
            out.push_str(&format!("{key}={}\n", yes_no(*on)));
        }
    }
    out
}

fn yes_no(on: bool) -> &'static str {
    if on {
        "yes"
    } else {
        "no"
    }
}
