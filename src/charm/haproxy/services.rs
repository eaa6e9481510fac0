//! Putting HAProxy on the unit: the package (when missing), its config and
//! systemd unit, and the systemd steps that run it in place of the
//! distribution's instance.

use super::names::{
    DISTRO_HAPROXY_SERVICE, HAPROXY_CONFIG, HAPROXY_INSTALLED_MARKER, HAPROXY_PACKAGE,
    HAPROXY_SERVICE, HAPROXY_UNIT_FILE,
};
use crate::charm::types::{FileSpec, ServiceAction, ServiceOp, ServiceState, When};

/// What is on the unit now, as far as running HAProxy goes.
#[derive(Debug, Clone, Copy)]
pub struct Installed {
    /// The package is installed.
    pub package: bool,
    /// The charm installed it (marker present).
    pub by_us: bool,
    /// k8s-vip-haproxy.service.
    pub service: ServiceState,
    /// The distribution's haproxy.service.
    pub distro_service: ServiceState,
}

/// Packages, files and systemd steps to run HAProxy with `config` and `unit`.
pub struct Rollout {
    /// Packages to install first.
    pub install_packages: Vec<String>,
    /// Files to have.
    pub files: Vec<FileSpec>,
    /// systemd steps, in order.
    pub services: Vec<ServiceOp>,
}

/// The package when missing (remembered as ours), the two files, and the
/// systemd steps.
pub fn rollout(now: &Installed, config: String, unit: String) -> Rollout {
    let mut out = Rollout {
        install_packages: Vec::new(),
        files: Vec::new(),
        services: Vec::new(),
    };
    if !now.package {
        out.install_packages.push(HAPROXY_PACKAGE.into());
        out.files.push(file(
            HAPROXY_INSTALLED_MARKER,
            format!("{HAPROXY_PACKAGE}\n"),
        ));
    }
    out.files.push(file(HAPROXY_CONFIG, config));
    out.files.push(file(HAPROXY_UNIT_FILE, unit));
    out.services.extend(replace_distro_instance(now));
    out.services.extend(run_ours(now));
    out
}

fn file(path: &str, content: String) -> FileSpec {
    FileSpec {
        path: path.into(),
        content,
        mode: 0o644,
    }
}

/// The package starts its own instance on install: ours replaces it when
/// we installed the package (a pre-existing one is the operator's).
fn replace_distro_instance(now: &Installed) -> Vec<ServiceOp> {
    let mut steps = Vec::new();
    let ours_pkg = !now.package || now.by_us;
    if ours_pkg && (now.distro_service.active || !now.package) {
        steps.push(ServiceOp::new(
            DISTRO_HAPROXY_SERVICE,
            ServiceAction::Stop,
            When::Always,
        ));
    }
    if ours_pkg && (now.distro_service.enabled || !now.package) {
        steps.push(ServiceOp::new(
            DISTRO_HAPROXY_SERVICE,
            ServiceAction::Disable,
            When::Always,
        ));
    }
    steps
}

/// daemon-reload on a new unit file, enable, then start, or restart for a
/// new unit file and a seamless reload for a new config (established
/// connections stay up).
fn run_ours(now: &Installed) -> Vec<ServiceOp> {
    let mut steps = vec![ServiceOp::new(
        HAPROXY_SERVICE,
        ServiceAction::DaemonReload,
        When::changed(HAPROXY_UNIT_FILE),
    )];
    if !now.service.enabled {
        steps.push(ServiceOp::new(
            HAPROXY_SERVICE,
            ServiceAction::Enable,
            When::Always,
        ));
    }
    if now.service.active {
        steps.push(ServiceOp::new(
            HAPROXY_SERVICE,
            ServiceAction::Restart,
            When::changed(HAPROXY_UNIT_FILE),
        ));
        steps.push(ServiceOp::new(
            HAPROXY_SERVICE,
            ServiceAction::Reload,
            When::Changed {
                any_of: vec![HAPROXY_CONFIG.into()],
                unless: vec![HAPROXY_UNIT_FILE.into()],
            },
        ));
    } else {
        steps.push(ServiceOp::new(
            HAPROXY_SERVICE,
            ServiceAction::Start,
            When::Always,
        ));
    }
    steps
}
