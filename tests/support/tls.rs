//! A throwaway TLS identity for the stand-in API servers of the netns tests
//! and the demo: kube-apiserver serves HTTPS, and the charm's health checks
//! and HAProxy's `/livez` checks speak TLS to it without verifying it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes a self-signed P-256 certificate and key (`apiserver.crt`,
/// `apiserver.key`) in `dir` with `openssl req`; the error says what failed.
pub fn self_signed_cert(dir: &Path, common_name: &str) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join("apiserver.crt"), dir.join("apiserver.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "2", "-subj", &format!("/CN={common_name}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|e| format!("running openssl (scripts/install-deps installs it): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((cert, key))
}
