//! `k8s-vip render`: the charm's file rendering without Juju, for tests and
//! operators who want to see what the charm would write.

/// Arguments of `k8s-vip render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// JSON file describing the inputs (config, peers, relations).
    #[arg(long)]
    pub inputs: std::path::PathBuf,
    /// Directory to write the rendered files into.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// Renders the files for `args.inputs` into `args.out`.
pub fn run(_args: RenderArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
