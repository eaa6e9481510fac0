//! `k8s-vip render`: the plan's files for a given [`Inputs`] JSON, written
//! without Juju, for operators and tests.

use anyhow::Context as _;

use super::plan::plan;
use super::types::Inputs;

/// Arguments of `k8s-vip render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// JSON file describing the inputs (the `charm::Inputs` value: config,
    /// peers, relations, network).
    #[arg(long)]
    pub inputs: std::path::PathBuf,
    /// Directory to write the rendered files into (paths below it mirror the unit's).
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// Renders the files for `args.inputs` into `args.out` and prints the plan's
/// status, so an operator can see what the charm would do.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.inputs)
        .with_context(|| format!("reading {}", args.inputs.display()))?;
    let inputs: Inputs = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", args.inputs.display()))?;
    let plan = plan(&inputs);
    for f in &plan.files {
        let dest = args.out.join(f.path.trim_start_matches('/'));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&dest, &f.content).with_context(|| format!("writing {}", dest.display()))?;
        println!("{}", dest.display());
    }
    println!(
        "status: {}: {}",
        plan.unit_status.state.as_str(),
        plan.unit_status.message
    );
    Ok(())
}
