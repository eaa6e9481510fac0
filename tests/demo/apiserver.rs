//! Stand-in Kubernetes API servers: `openssl s_server` answering HTTPS on port
//! 6443 in every unit namespace, serving `/livez` from a per-unit directory so
//! the body names the unit that answered ("ok k8s-vip/1").
//!
//! Why it exists: the charm's automatic health check on a control-plane unit is
//! `https://127.0.0.1:6443/livez` (TLS not verified), exactly what
//! kube-apiserver serves; the demo needs something that answers it, and the
//! client's requests through the VIP then show which unit served them.

use std::path::{Path, PathBuf};

use crate::support::netns::{Lab, Proc};

/// The API server port kube-apiserver listens on.
pub const PORT: u16 = 6443;

/// A self-signed certificate + key for the stand-ins (one for all units).
pub fn make_cert(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    crate::support::tls::self_signed_cert(dir, "kubernetes-demo").map_err(anyhow::Error::msg)
}

/// Starts the stand-in API server of unit `i` (named `unit`) in its namespace.
pub fn start(
    lab: &Lab,
    dir: &Path,
    i: usize,
    unit: &str,
    cert: &Path,
    key: &Path,
) -> anyhow::Result<Proc> {
    let root = dir.join(format!("apiserver{i}"));
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("livez"), format!("ok {unit}\n"))?;
    // -WWW serves files relative to the working directory: GET /livez -> ./livez.
    let script = format!(
        "cd '{}' && exec openssl s_server -quiet -accept {PORT} -WWW -cert '{}' -key '{}'",
        root.display(),
        cert.display(),
        key.display()
    );
    Ok(lab.spawn_logged(
        lab.unit(i),
        &format!("apiserver{i}"),
        &["sh", "-c", &script],
    ))
}
