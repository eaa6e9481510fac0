//! Renders the model into haproxy.cfg and the k8s-vip-haproxy systemd unit
//! through the tera templates shipped in `templates/`.

use anyhow::Context as _;

use super::model::LoadBalancerModel;
use super::names::HaproxyPaths;

/// The haproxy.cfg template, compiled into the binary so the charm needs no
/// template files at run time.
pub const HAPROXY_CFG_TEMPLATE: &str = include_str!("../../../templates/haproxy.cfg");
/// The systemd unit template of k8s-vip-haproxy.service.
pub const HAPROXY_UNIT_TEMPLATE: &str = include_str!("../../../templates/k8s-vip-haproxy.service");

/// Unix socket paths longer than this do not fit `sun_path`.
const MAX_SOCKET_PATH: usize = 107;

/// Renders `/etc/k8s-vip/haproxy.cfg` for `model`.
pub fn render_haproxy_cfg(model: &LoadBalancerModel) -> anyhow::Result<String> {
    check_socket_path(&model.paths)?;
    let ctx = tera::Context::from_serialize(model).context("haproxy.cfg: building the context")?;
    tera::Tera::one_off(HAPROXY_CFG_TEMPLATE, &ctx, false)
        .context("haproxy.cfg: rendering templates/haproxy.cfg")
}

/// Renders `/etc/systemd/system/k8s-vip-haproxy.service` for `paths`.
pub fn render_haproxy_unit(paths: &HaproxyPaths) -> anyhow::Result<String> {
    check_socket_path(paths)?;
    let mut ctx = tera::Context::new();
    ctx.insert("paths", paths);
    tera::Tera::one_off(HAPROXY_UNIT_TEMPLATE, &ctx, false)
        .context("k8s-vip-haproxy.service: rendering the unit template")
}

fn check_socket_path(paths: &HaproxyPaths) -> anyhow::Result<()> {
    for p in [&paths.stats_socket, &paths.master_socket] {
        let s = p.to_string_lossy();
        if s.len() > MAX_SOCKET_PATH || s.contains(char::is_whitespace) {
            anyhow::bail!(
                "HAProxy socket path {s} is too long or has spaces; use a shorter K8S_VIP_ROOT"
            );
        }
    }
    Ok(())
}
