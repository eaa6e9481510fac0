//! The load balancer's part of the charm's plan: from the proxy needs of the
//! `lb-consumers` provider (`charm::proxy::ProxyNeed`), the load-balancer
//! options and what the unit reports (package, service, listening sockets,
//! HAProxy's runtime stats), decide the files, package and systemd steps,
//! which requests are refused, and the status text. Pure, like
//! `charm::plan`, which folds the result into its `Plan`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};

use super::model::{HaproxyPaths, LoadBalancerModel, Timeouts, MONITOR_URL};
use super::options::{
    parse_ingress_ports, parse_lb_timeout, IngressPort, LoadBalancerMode, OptionError,
};
use super::ports::{blocked_message, find_conflicts, is_our_haproxy, Listener};
use super::render::{render_haproxy_cfg, render_haproxy_unit};
use super::request::{HealthCheckRequest, LbRequest, RequestError};
use super::stats::{status_fragment, BackendHealth};
use crate::charm::plan::{FileSpec, ServiceAction, ServiceOp, ServiceState, When};
use crate::charm::proxy::{ProxyNeed, ProxyOutcome, Rejection, RejectionKind};

/// On-unit path of the rendered haproxy.cfg (CONTRACTS.md).
pub const HAPROXY_CONFIG: &str = "/etc/k8s-vip/haproxy.cfg";
/// On-unit path of our HAProxy systemd unit file.
pub const HAPROXY_UNIT_FILE: &str = "/etc/systemd/system/k8s-vip-haproxy.service";
/// Our HAProxy systemd unit.
pub const HAPROXY_SERVICE: &str = "k8s-vip-haproxy.service";
/// The distribution's HAProxy unit, which the package starts on install.
pub const DISTRO_HAPROXY_SERVICE: &str = "haproxy.service";
/// The Debian/Ubuntu package.
pub const HAPROXY_PACKAGE: &str = "haproxy";
/// The binary the package ships (the systemd unit runs it).
pub const HAPROXY_BINARY: &str = "/usr/sbin/haproxy";
/// Marker: the charm installed the haproxy package (purged at remove).
pub const HAPROXY_INSTALLED_MARKER: &str = "/var/lib/k8s-vip/installed-haproxy";

/// The three load-balancer options, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbOptions {
    /// `load-balancer`.
    pub mode: LoadBalancerMode,
    /// `lb-timeout`, seconds of idle time allowed on a connection.
    pub idle_timeout: std::time::Duration,
    /// `ingress-ports`.
    pub ingress_ports: Vec<IngressPort>,
}

impl LbOptions {
    /// Reads the options from `config-get` output (absent = default).
    pub fn from_config(config: &Map<String, Value>) -> Result<LbOptions, OptionError> {
        let text = |key: &'static str| -> Result<String, OptionError> {
            match config.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => Err(OptionError {
                    option: key,
                    message: format!("{other} is not a string"),
                }),
            }
        };
        Ok(LbOptions {
            mode: LoadBalancerMode::parse(&text("load-balancer")?)?,
            idle_timeout: parse_lb_timeout(&text("lb-timeout")?)?,
            ingress_ports: parse_ingress_ports(&text("ingress-ports")?)?,
        })
    }
}

/// What the load balancer reads of the world, gathered once by the hook.
#[derive(Debug, Clone, Copy)]
pub struct LbInputs<'a> {
    /// The validated options.
    pub options: &'a LbOptions,
    /// The VIPs (HAProxy binds each of them).
    pub vips: &'a [IpAddr],
    /// Every unit's address, this one included (worker-ingress backends).
    pub unit_addresses: &'a [IpAddr],
    /// `$K8S_VIP_ROOT` (`/` on a unit).
    pub root: &'a Path,
    /// `/usr/sbin/haproxy` exists.
    pub haproxy_installed: bool,
    /// The charm installed the package (marker present).
    pub haproxy_installed_by_us: bool,
    /// k8s-vip-haproxy.service.
    pub service: ServiceState,
    /// The distribution's haproxy.service.
    pub distro_service: ServiceState,
    /// Listening TCP sockets on the unit ([`super::ports::read_listeners`]).
    pub listeners: &'a [Listener],
    /// HAProxy's view of its backends, when its stats socket answered.
    pub health: Option<&'a [BackendHealth]>,
}

/// The load balancer's share of the hook's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LbPlan {
    /// Refused requests, files and services, in the charm's proxy-seam terms.
    pub outcome: ProxyOutcome,
    /// Packages to install (before the files and services).
    pub install_packages: Vec<String>,
    /// Packages to purge (teardown).
    pub purge_packages: Vec<String>,
    /// Files to delete.
    pub remove_files: Vec<String>,
    /// Why the unit must be `blocked` (port conflict, bad ingress-ports).
    pub blocked: Option<String>,
    /// Text to append to the active status, e.g. `3/3 API servers up`.
    pub status_suffix: Option<String>,
    /// The agent health check to add while HAProxy runs (`health-check=auto`).
    pub agent_check_url: Option<&'static str>,
    /// Lines for `juju-log`.
    pub logs: Vec<String>,
}

/// Plans HAProxy for `needs` (the requests the VIP cannot serve directly)
/// and the `ingress-ports` option.
pub fn plan_load_balancer(needs: &[ProxyNeed], lb: &LbInputs<'_>) -> LbPlan {
    let mut out = LbPlan::default();
    let paths = HaproxyPaths::under(lb.root);
    let mut model =
        LoadBalancerModel::new(paths.clone(), Timeouts::with_idle(lb.options.idle_timeout));

    if lb.options.mode == LoadBalancerMode::Off {
        for need in needs {
            // Same port on both sides: only the backends stop it being direct.
            let field = if need.frontend_port == need.backend_port {
                "backends"
            } else {
                "port_mapping"
            };
            reject(
                &mut out,
                need,
                RejectionKind::Unsupported,
                field,
                format!(
                    "port {} -> {} needs a proxy ({}), and this k8s-vip runs with load-balancer=off",
                    need.frontend_port, need.backend_port, need.not_direct_because
                ),
            );
        }
    } else {
        add_requests(&mut model, needs, lb, &mut out);
    }
    if lb.options.mode == LoadBalancerMode::Off {
        if !lb.options.ingress_ports.is_empty() {
            out.blocked = Some(
                "ingress-ports needs the load balancer: set load-balancer=auto (or on), or unset ingress-ports"
                    .to_string(),
            );
        }
    } else if let Err(e) = model.add_ingress(&lb.options.ingress_ports, lb.unit_addresses, lb.vips)
    {
        out.blocked = Some(e.to_string());
        out.logs.push(format!("load balancer: {e}"));
    }

    if !lb.options.mode.haproxy_wanted(!model.is_empty()) {
        remove_haproxy(lb, &mut out);
        return out;
    }

    // Nothing is written while another process holds one of our ports.
    let ours = |l: &Listener| is_our_haproxy(l, &paths.config);
    let conflicts = find_conflicts(&model.bind_addresses(), lb.listeners, &ours);
    if !conflicts.is_empty() {
        let msg = blocked_message(&conflicts);
        for f in &model.frontends {
            if let Some(c) = conflicts.iter().find(|c| c.wanted.port() == f.port) {
                for need in needs.iter().filter(|n| n.frontend_port == f.port) {
                    reject(
                        &mut out,
                        need,
                        RejectionKind::ProviderError,
                        "port_mapping",
                        format!("{c} on the load balancer unit"),
                    );
                }
            }
        }
        out.logs.push(msg.clone());
        out.blocked = Some(msg);
        return out;
    }

    let (cfg, unit) = match (render_haproxy_cfg(&model), render_haproxy_unit(&paths)) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(e), _) | (_, Err(e)) => {
            out.blocked = Some(format!("internal error rendering HAProxy config: {e}"));
            out.logs
                .push(format!("rendering haproxy.cfg failed: {e:#}"));
            for need in needs {
                reject(
                    &mut out,
                    need,
                    RejectionKind::ProviderError,
                    "port_mapping",
                    "the load balancer could not be configured".into(),
                );
            }
            return out;
        }
    };

    if !lb.haproxy_installed {
        out.install_packages.push(HAPROXY_PACKAGE.into());
        out.outcome.files.push(FileSpec {
            path: HAPROXY_INSTALLED_MARKER.into(),
            content: format!("{HAPROXY_PACKAGE}\n"),
            mode: 0o644,
        });
    }
    out.outcome.files.push(FileSpec {
        path: HAPROXY_CONFIG.into(),
        content: cfg,
        mode: 0o644,
    });
    out.outcome.files.push(FileSpec {
        path: HAPROXY_UNIT_FILE.into(),
        content: unit,
        mode: 0o644,
    });
    // The package starts its own instance on install: ours replaces it when
    // we installed the package (a pre-existing one is the operator's).
    let ours_pkg = !lb.haproxy_installed || lb.haproxy_installed_by_us;
    if ours_pkg && (lb.distro_service.active || !lb.haproxy_installed) {
        out.outcome.services.push(op(
            DISTRO_HAPROXY_SERVICE,
            ServiceAction::Stop,
            When::Always,
        ));
    }
    if ours_pkg && (lb.distro_service.enabled || !lb.haproxy_installed) {
        out.outcome.services.push(op(
            DISTRO_HAPROXY_SERVICE,
            ServiceAction::Disable,
            When::Always,
        ));
    }
    out.outcome.services.push(op(
        HAPROXY_SERVICE,
        ServiceAction::DaemonReload,
        When::changed(HAPROXY_UNIT_FILE),
    ));
    if !lb.service.enabled {
        out.outcome
            .services
            .push(op(HAPROXY_SERVICE, ServiceAction::Enable, When::Always));
    }
    if lb.service.active {
        // A changed unit file needs a restart; a changed config only a
        // seamless reload (established connections stay up).
        out.outcome.services.push(op(
            HAPROXY_SERVICE,
            ServiceAction::Restart,
            When::changed(HAPROXY_UNIT_FILE),
        ));
        out.outcome.services.push(op(
            HAPROXY_SERVICE,
            ServiceAction::Reload,
            When::Changed {
                any_of: vec![HAPROXY_CONFIG.into()],
                unless: vec![HAPROXY_UNIT_FILE.into()],
            },
        ));
    } else {
        out.outcome
            .services
            .push(op(HAPROXY_SERVICE, ServiceAction::Start, When::Always));
    }
    out.agent_check_url = Some(MONITOR_URL);
    if let Some(h) = lb.health {
        let fragment = status_fragment(&model, h);
        if !fragment.is_empty() {
            out.status_suffix = Some(fragment);
        }
    }
    out
}

/// stop / remove: stop and disable our HAProxy, delete its files, purge the
/// package when the charm installed it.
pub fn teardown_load_balancer(lb: &LbInputs<'_>) -> LbPlan {
    let mut out = LbPlan::default();
    remove_haproxy(lb, &mut out);
    if lb.haproxy_installed_by_us {
        if lb.haproxy_installed {
            out.purge_packages.push(HAPROXY_PACKAGE.into());
        }
        out.remove_files.push(HAPROXY_INSTALLED_MARKER.into());
    }
    out
}

fn remove_haproxy(lb: &LbInputs<'_>, out: &mut LbPlan) {
    out.outcome
        .services
        .extend(ServiceOp::take_out_of_use(HAPROXY_SERVICE, &lb.service));
    out.remove_files.push(HAPROXY_CONFIG.into());
    out.remove_files.push(HAPROXY_UNIT_FILE.into());
}

/// Groups the needs by request and adds each request to the model; a request
/// the model refuses is refused as a whole (all its ports).
fn add_requests(
    model: &mut LoadBalancerModel,
    needs: &[ProxyNeed],
    lb: &LbInputs<'_>,
    out: &mut LbPlan,
) {
    let mut by_request: BTreeMap<(&str, &str), Vec<&ProxyNeed>> = BTreeMap::new();
    for need in needs {
        by_request
            .entry((need.relation_id.as_str(), need.request.as_str()))
            .or_default()
            .push(need);
    }
    for group in by_request.values() {
        let Some(first) = group.first() else { continue };
        let request = match request_of(group) {
            Ok(r) => r,
            Err((field, msg)) => {
                for need in group {
                    reject(out, need, RejectionKind::ProviderError, field, msg.clone());
                }
                continue;
            }
        };
        let ctx = super::model::RequestContext {
            vips: lb.vips,
            consumer_addresses: &[],
            direct_ports: &Default::default(),
        };
        if let Err(e) = model.add_request(&request, &ctx) {
            let fields = e.error_fields();
            let field = fields
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or("port_mapping");
            let field = field_name(field);
            out.logs.push(format!(
                "{}: request {}: {e}",
                first.relation_id, first.request
            ));
            for need in group {
                reject(out, need, rejection_kind(&e), field, e.to_string());
            }
        }
    }
}

/// Rebuilds the v1 request from its needs (one per proxied port).
fn request_of(group: &[&ProxyNeed]) -> Result<LbRequest, (&'static str, String)> {
    let first = group
        .first()
        .ok_or(("port_mapping", "no ports".to_string()))?;
    let health_checks = first
        .health_checks
        .iter()
        .map(|v| serde_json::from_value::<HealthCheckRequest>(v.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ("health_checks", format!("health check not understood: {e}")))?;
    Ok(LbRequest {
        name: first.request.clone(),
        protocol: first.protocol.clone(),
        backends: first.backends.clone(),
        port_mapping: group
            .iter()
            .map(|n| (n.frontend_port.to_string(), u32::from(n.backend_port)))
            .collect(),
        algorithm: first.algorithm.clone(),
        sticky: first.sticky,
        health_checks,
        public: true,
        tls_termination: false,
        id: None,
        sent_hash: None,
    })
}

/// The request field names as `&'static str` (error_fields keys).
fn field_name(field: &str) -> &'static str {
    match field {
        "protocol" => "protocol",
        "backends" => "backends",
        "algorithm" => "algorithm",
        "health_checks" => "health_checks",
        "tls_termination" => "tls_termination",
        "name" => "name",
        _ => "port_mapping",
    }
}

fn reject(out: &mut LbPlan, need: &ProxyNeed, kind: RejectionKind, field: &str, message: String) {
    out.outcome
        .rejected
        .entry((need.relation_id.clone(), need.request.clone()))
        .or_insert(Rejection {
            kind,
            field: field.to_string(),
            message,
        });
}

/// The v1 error kind of a request the model refused.
fn rejection_kind(e: &RequestError) -> RejectionKind {
    match e {
        RequestError::Unsupported { .. } => RejectionKind::Unsupported,
        RequestError::Invalid { .. } | RequestError::Malformed { .. } => {
            RejectionKind::ProviderError
        }
    }
}

fn op(unit: &str, action: ServiceAction, when: When) -> ServiceOp {
    ServiceOp {
        unit: unit.to_string(),
        action,
        when,
    }
}

// ===== the charm's proxy seam =====

/// What the load balancer reads of the unit each hook, besides `Inputs`:
/// gathered by [`LbWorld::gather`] through the charm's system seam, carried
/// in `Inputs` so `plan` stays pure.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct LbWorld {
    /// dpkg knows the haproxy package as installed.
    pub haproxy_installed: bool,
    /// The charm installed the package (marker present).
    pub haproxy_installed_by_us: bool,
    /// k8s-vip-haproxy.service.
    pub service: ServiceState,
    /// The distribution's haproxy.service.
    pub distro_service: ServiceState,
    /// Listening TCP sockets in the hook's network namespace.
    pub listeners: Vec<Listener>,
    /// HAProxy's backends as its runtime API reports them (None: not running).
    pub health: Option<Vec<BackendHealth>>,
}

impl LbWorld {
    /// Reads the package, services, listening sockets (port conflicts) and
    /// HAProxy's backend health (status). Everything goes through the
    /// charm's system seam: the package comes from dpkg (the simulated
    /// model's apt-get shim installs no binary) and `/proc/net` is read
    /// under the system root (`/` on a unit), in the hook's network namespace.
    pub fn gather(sys: &crate::charm::system::System) -> LbWorld {
        let paths = HaproxyPaths::under(sys.root());
        let health = if paths.stats_socket.exists() {
            super::stats::backend_health(&paths.stats_socket, std::time::Duration::from_secs(2))
                .ok()
        } else {
            None
        };
        LbWorld {
            haproxy_installed: sys.package_installed(HAPROXY_PACKAGE),
            haproxy_installed_by_us: sys.exists(HAPROXY_INSTALLED_MARKER),
            service: ServiceState {
                active: sys.is_active(HAPROXY_SERVICE),
                enabled: sys.is_enabled(HAPROXY_SERVICE),
            },
            distro_service: ServiceState {
                active: sys.is_active(DISTRO_HAPROXY_SERVICE),
                enabled: sys.is_enabled(DISTRO_HAPROXY_SERVICE),
            },
            listeners: super::ports::read_listeners(&sys.path("/proc/net"), &sys.path("/proc"))
                .unwrap_or_default(),
            health,
        }
    }
}

/// The body of `charm::proxy::plan_proxy`: the load balancer for `needs` and
/// the load-balancer options, in the seam's terms.
pub fn plan_proxy(
    needs: &[ProxyNeed],
    inputs: &crate::charm::plan::Inputs,
    cfg: &crate::charm::config::Config,
    world: &LbWorld,
) -> ProxyOutcome {
    let options = match LbOptions::from_config(&inputs.config) {
        Ok(o) => o,
        Err(e) => {
            return ProxyOutcome {
                blocked: Some(e.to_string()),
                ..ProxyOutcome::default()
            }
        }
    };
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    let units = unit_addresses(inputs);
    let lb = LbInputs {
        options: &options,
        vips: &vips,
        unit_addresses: &units,
        root: &inputs.root,
        haproxy_installed: world.haproxy_installed,
        haproxy_installed_by_us: world.haproxy_installed_by_us,
        service: world.service,
        distro_service: world.distro_service,
        listeners: &world.listeners,
        health: world.health.as_deref(),
    };
    plan_load_balancer(needs, &lb).into_outcome()
}

/// The body of `charm::proxy::teardown_proxy`.
pub fn teardown_proxy(inputs: &crate::charm::plan::Inputs, world: &LbWorld) -> ProxyOutcome {
    let options = LbOptions::from_config(&inputs.config).unwrap_or(LbOptions {
        mode: LoadBalancerMode::Auto,
        idle_timeout: super::options::MIN_LB_TIMEOUT,
        ingress_ports: Vec::new(),
    });
    let lb = LbInputs {
        options: &options,
        vips: &[],
        unit_addresses: &[],
        root: &inputs.root,
        haproxy_installed: world.haproxy_installed,
        haproxy_installed_by_us: world.haproxy_installed_by_us,
        service: world.service,
        distro_service: world.distro_service,
        listeners: &[],
        health: None,
    };
    teardown_load_balancer(&lb).into_outcome()
}

/// This unit's and every peer's primary address (worker-ingress backends).
fn unit_addresses(inputs: &crate::charm::plan::Inputs) -> Vec<IpAddr> {
    let own = inputs
        .network
        .ingress
        .first()
        .copied()
        .or_else(|| crate::charm::plan::my_addresses(inputs).first().copied());
    let peers = inputs
        .peers
        .iter()
        .filter_map(|p| p.data.get(crate::charm::peers::KEY_ADDRESS))
        .filter_map(|a| a.parse::<IpAddr>().ok());
    let mut out: Vec<IpAddr> = own.into_iter().chain(peers).collect();
    out.sort();
    out.dedup();
    out
}

impl LbPlan {
    /// The plan in the charm's proxy-seam terms.
    pub fn into_outcome(self) -> ProxyOutcome {
        let mut o = self.outcome;
        o.install_packages = self.install_packages;
        o.purge_packages = self.purge_packages;
        o.remove_files.extend(self.remove_files);
        o.blocked = self.blocked;
        o.status_note = self.status_suffix;
        o.auto_checks = self
            .agent_check_url
            .map(|url| crate::charm::health::HealthCheck::Http { url: url.into() })
            .into_iter()
            .collect();
        o.logs.extend(self.logs);
        o
    }
}
