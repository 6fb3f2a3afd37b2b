//! Which certificates a check trusts: what `docker login` and podman/skopeo trust on the same
//! machine, so `verify` agrees with them.
//!
//! - the transport's defaults: Mozilla's roots and the system store ([`http::Trust`]);
//! - `--ca-cert FILE` and `SSL_CERT_FILE` (required: an unusable file is an error);
//! - docker's per-registry folder `/etc/docker/certs.d/HOST[:PORT]/`: every `*.crt` in it is a
//!   CA (the daemon's `ReadCertsDirectory`);
//! - containers' (podman, skopeo, buildah) folder: the *first* of
//!   `~/.config/containers/certs.d/HOST[:PORT]`, `/etc/containers/certs.d/HOST[:PORT]`,
//!   `/etc/docker/certs.d/HOST[:PORT]` that exists, its `*.crt` files likewise
//!   (containers/image `dockerCertDir` and `tlsclientconfig.SetupCertificates`).
//!
//! `HOST[:PORT]` is the registry as written in an image name: the port only when it is not
//! 443, IPv6 in brackets — the same spelling as our keys. Files in these folders are optional
//! as the clients treat them: one that cannot be read or holds no certificate is skipped.
//! Client certificates (`*.cert` + `*.key`) are not used: a registry that demands one cannot
//! be checked here.

use std::path::{Path, PathBuf};

use super::Options;
use crate::http::{CaFile, Trust};

/// The certs.d folders to look in; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertsDirs {
    /// Every `DIR/HOST[:PORT]/*.crt` is used (docker).
    pub docker: Vec<PathBuf>,
    /// The first `DIR/HOST[:PORT]` that exists is used (containers/image).
    pub containers: Vec<PathBuf>,
}

impl Default for CertsDirs {
    /// The system-wide folders. Reads no environment variable.
    fn default() -> Self {
        CertsDirs {
            docker: vec![PathBuf::from("/etc/docker/certs.d")],
            containers: vec![
                PathBuf::from("/etc/containers/certs.d"),
                PathBuf::from("/etc/docker/certs.d"),
            ],
        }
    }
}

impl CertsDirs {
    /// The defaults, with the user's `~/.config/containers/certs.d` first for containers.
    pub fn from_env() -> Self {
        let mut dirs = CertsDirs::default();
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            let user = Path::new(&home).join(".config/containers/certs.d");
            dirs.containers.insert(0, user);
        }
        dirs
    }

    /// No certs.d folder at all.
    pub fn none() -> Self {
        CertsDirs {
            docker: Vec::new(),
            containers: Vec::new(),
        }
    }

    /// The folders that apply to `host_port`.
    fn for_host(&self, host_port: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .docker
            .iter()
            .map(|d| d.join(host_port))
            .filter(|d| d.is_dir())
            .collect();
        if let Some(first) = self
            .containers
            .iter()
            .map(|d| d.join(host_port))
            .find(|d| d.exists())
            && !dirs.contains(&first)
        {
            dirs.push(first);
        }
        dirs
    }
}

/// At most this many `.crt` files are read from one folder.
const MAX_FILES: usize = 100;

/// What a check of the registry at `host_port` trusts.
pub(super) fn trust_for(opts: &Options, host_port: &str) -> Trust {
    let mut trust = Trust::default();
    if let Some(path) = &opts.ca_cert {
        trust = trust.with_ca_file(path, "--ca-cert");
    }
    if let Some(path) = &opts.ssl_cert_file {
        trust = trust.with_ca_file(path, "SSL_CERT_FILE");
    }
    for dir in opts.certs_dirs.for_host(host_port) {
        for path in crt_files(&dir) {
            trust.add(CaFile {
                path,
                origin: dir.display().to_string(),
                required: false,
            });
        }
    }
    trust
}

/// The `*.crt` files of `dir`, sorted by name (the clients read them in that order).
fn crt_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .take(MAX_FILES)
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_and_the_first_containers_folder_are_read() {
        let root = tempfile::tempdir().unwrap();
        let d = |p: &str| root.path().join(p);
        for dir in [
            "docker/reg:5000",
            "user/reg:5000",
            "etc/reg:5000",
            "docker/other",
        ] {
            std::fs::create_dir_all(d(dir)).unwrap();
        }
        for file in [
            "docker/reg:5000/b.crt",
            "docker/reg:5000/a.crt",
            "docker/reg:5000/client.cert",
            "docker/reg:5000/client.key",
            "user/reg:5000/u.crt",
            "etc/reg:5000/ignored.crt",
        ] {
            std::fs::write(d(file), "x").unwrap();
        }
        let opts = Options {
            ca_cert: Some(d("ca.pem")),
            certs_dirs: CertsDirs {
                docker: vec![d("docker")],
                containers: vec![d("user"), d("etc"), d("docker")],
            },
            ..Options::default()
        };
        let trust = trust_for(&opts, "reg:5000");
        let files: Vec<(PathBuf, bool)> = trust
            .ca_files()
            .iter()
            .map(|f| (f.path.clone(), f.required))
            .collect();
        assert_eq!(
            files,
            vec![
                (d("ca.pem"), true),
                (d("docker/reg:5000/a.crt"), false),
                (d("docker/reg:5000/b.crt"), false),
                (d("user/reg:5000/u.crt"), false),
            ]
        );
        assert!(trust.uses_system_store());
        // Another port is another folder; none there.
        assert_eq!(trust_for(&opts, "reg:5001").ca_files().len(), 1);
        // Without the user folder, containers falls through to /etc.
        let opts = Options {
            certs_dirs: CertsDirs {
                docker: vec![],
                containers: vec![d("missing"), d("etc")],
            },
            ..Options::default()
        };
        let paths: Vec<PathBuf> = trust_for(&opts, "reg:5000")
            .ca_files()
            .iter()
            .map(|f| f.path.clone())
            .collect();
        assert_eq!(paths, vec![d("etc/reg:5000/ignored.crt")]);
    }
}
