//! `completions bash|zsh|fish` and `manpage`: generated from the clap definitions, so they
//! cannot drift from the commands (`install.sh` installs both).

use clap::CommandFactory;

use super::{Cli, output};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "docker-credential-northflank", &mut script);
    Ok(output::raw(&script)?)
}

/// Prints the man page (roff), section 1.
pub fn manpage() -> anyhow::Result<()> {
    let cmd = Cli::command().after_long_help(PROTOCOL);
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| anyhow::anyhow!("cannot render the man page: {e}"))?;
    Ok(output::raw(&page)?)
}

/// What the generated page would not say otherwise: the protocol verbs are no subcommands.
const PROTOCOL: &str = "As a credential helper, docker, podman, skopeo and buildah run it with one \
argument, the verb: store, get, erase, list or version; the answer (or the error) is written to \
stdout as docker-credential-helpers' credentials.Serve writes it. NORTHFLANK_PROJECT names the \
current project; only credentials it may use are served.";
