//! `export`, `kubelet`, `kubelet-config`: a project's credentials for Kubernetes (see
//! [`crate::kube`] for the formats). Every secret handed out here is chosen by the rule `get`
//! applies, read again per credential.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::{check_project, output};
use crate::fsutil;
use crate::host;
use crate::kube;
use crate::policy::Project;
use crate::protocol::{self, View};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    DockerConfig,
    KubernetesSecret,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Export what this project may use (exactly what `get` serves it).
    #[arg(long, value_name = "ID")]
    project: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "docker-config")]
    format: Format,
    /// The Secret's name (kubernetes-secret).
    #[arg(long, value_name = "NAME", default_value = "northflank-registry")]
    name: String,
    /// The Secret's namespace (kubernetes-secret).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Write the Secret manifest as JSON instead of YAML.
    #[arg(long)]
    json: bool,
    /// Write to this file instead of stdout: a new private file (0600) renamed into place, never
    /// written through a link.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Allow --output into a folder other users can write (such as /tmp).
    #[arg(long, requires = "output")]
    allow_shared_folder: bool,
}

pub fn export(store: Store, a: ExportArgs) -> anyhow::Result<()> {
    let view = View {
        store,
        project: Project::Id(check_project(&a.project)?),
    };
    if let Some(path) = &a.output {
        check_output(path, a.allow_shared_folder)?;
    }
    let mut entries = Vec::new();
    for summary in protocol::served(&view)? {
        let saved = protocol::served_again(&view, &summary)?;
        let (username, secret) = protocol::credentials_of(&view, &saved)?;
        entries.push(kube::Entry {
            key: saved.registry.clone(),
            username,
            secret,
        });
    }
    let text = match a.format {
        Format::DockerConfig => kube::docker_config(&entries),
        Format::KubernetesSecret => {
            let format = if a.json {
                kube::ManifestFormat::Json
            } else {
                kube::ManifestFormat::Yaml
            };
            kube::kubernetes_secret(&entries, &a.name, a.namespace.as_deref(), format)?
        }
    };
    output::note(&format!(
        "warning: this output contains the registry secrets of {} credential(s) for project {}: keep it private",
        entries.len(),
        a.project
    ));
    match &a.output {
        None => output::raw(text.as_bytes())?,
        Some(path) => fsutil::write_atomic(path, text.as_bytes(), fsutil::Keep::Private)
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    Ok(())
}

/// Refuses a target that is not a file (a device, a FIFO, a folder, a link to one: as root,
/// `-o /dev/null` would otherwise replace the system's `/dev/null` with a file of secrets) and
/// a target folder that other users can write (they could read the file before it is complete
/// or swap it), unless the caller says that is fine. A link to a file is replaced, never
/// written through.
fn check_output(path: &Path, allow_shared: bool) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let link = meta.is_symlink();
        let target = if link {
            std::fs::metadata(path).ok()
        } else {
            Some(meta)
        };
        if let Some(t) = target.filter(|t| !t.is_file()) {
            bail!(
                "cannot write {}: it is {}{}, not a file: give the path of a file, or leave out -o to write to stdout",
                path.display(),
                if link { "a link to " } else { "" },
                fsutil::kind_of(&t)
            );
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let meta =
        std::fs::metadata(dir).with_context(|| format!("cannot write {}", path.display()))?;
    if !meta.is_dir() {
        bail!(
            "cannot write {}: {} is not a folder",
            path.display(),
            dir.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 && !allow_shared {
            bail!(
                "{} is writable by other users (mode {mode:03o}), who could tamper with a file of secrets \
                 there: write it into a private folder, or pass --allow-shared-folder",
                dir.display()
            );
        }
    }
    let _ = allow_shared;
    Ok(())
}

/// The kubelet exec plugin: one request on stdin, one response on stdout.
pub fn kubelet(store: Store) -> anyhow::Result<()> {
    let view = View {
        store,
        project: Project::current(),
    };
    let request = fsutil::read_limited(std::io::stdin().lock(), protocol::codec::MAX_INPUT as u64)
        .map_err(|e| match e {
            fsutil::FileError::TooLarge(max) => anyhow::anyhow!(
                "the kubelet request on stdin is larger than {max}: send one CredentialProviderRequest"
            ),
            other => anyhow::anyhow!("cannot read the kubelet request on stdin: {other}"),
        })?;
    let answer = kube::kubelet_response(&request, |registry: &str| -> anyhow::Result<_> {
        let Ok(key) = host::normalize(registry) else {
            return Ok(None);
        };
        let Some(saved) = protocol::served_for(&view, &key)? else {
            return Ok(None);
        };
        Ok(Some(protocol::credentials_of(&view, &saved)?))
    })?;
    output::raw(answer.as_bytes())?;
    Ok(())
}

pub fn kubelet_config(store: Store, project: Option<String>) -> anyhow::Result<()> {
    let project = match project {
        Some(p) => Project::Id(check_project(&p)?),
        None => Project::current(),
    };
    let dir = store.dir().to_string_lossy().into_owned();
    let id = project.id().map(str::to_string);
    let view = View { store, project };
    let hosts: Vec<String> = protocol::served(&view)?
        .into_iter()
        .map(|c| c.registry.clone())
        .collect();
    let config = kube::provider_config(&hosts, id.as_deref(), Some(&dir))?;
    output::raw(config.as_bytes())?;
    Ok(())
}
