//! The docs' VRID one-liner (`python3 -c ...`) computes the same VRID as
//! the charm, so an operator can predict it before deploying.

use std::process::Command;

use crate::commands::{at, commands_of, Kind};

#[test]
fn vrid_one_liner_agrees_with_the_charm() {
    let cmds = commands_of(|k| matches!(k, Kind::VridOneLiner { .. }));
    assert_eq!(cmds.len(), 1, "expected the one VRID one-liner");
    for (cmd, kind) in cmds {
        let Kind::VridOneLiner { script, name } = kind else {
            continue;
        };
        for full in [
            name.as_str(),
            "test/k8s-vip",
            "prod/vip-east",
            "modèle/k8s-vip",
            "a/b",
        ] {
            let out = Command::new("python3")
                .args(["-c", &script, full])
                .output()
                .expect("python3 (from scripts/install-deps)");
            assert!(
                out.status.success(),
                "{}: {}",
                at(&cmd),
                String::from_utf8_lossy(&out.stderr)
            );
            let (model, app) = full.split_once('/').unwrap_or((full, ""));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                k8s_vip::charm::vrid::derived_base(model, app).to_string(),
                "{}: differs from the charm for {full}",
                at(&cmd)
            );
        }
    }
}
