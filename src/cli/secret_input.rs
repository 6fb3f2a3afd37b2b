//! Where `add` gets a secret from, and a sanity check of what it got.
//!
//! Secrets never come from arguments: argv is visible to every user through `ps` and lands in
//! shell history. They come from stdin, a file, or — when a person is at a terminal — a prompt
//! that does not echo (`rpassword`, which reads `/dev/tty` with echo off and restores the
//! terminal afterwards, on Unix and Windows; hand-coding termios would need `unsafe`, which this
//! crate forbids).

use std::io::IsTerminal;
use std::path::Path;

use crate::credential::Provider;
use crate::error::{Error, Result};
use crate::protocol::read_input;
use crate::secret::Secret;

/// Where the secret comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Stdin,
    File(&'a Path),
    /// Ask on the terminal if stdin is one; otherwise refuse (scripts must say where).
    Prompt {
        label: &'a str,
    },
}

/// Reads a secret, dropping the one line break a shell or editor adds.
pub fn read(source: Source) -> Result<Secret> {
    let text = match source {
        Source::Stdin => utf8(read_input(&mut std::io::stdin().lock())?)?,
        Source::File(path) => {
            let mut f = std::fs::File::open(path).map_err(|e| {
                Error::BadInput(format!("cannot read password file {}: {e}", path.display()))
            })?;
            utf8(read_input(&mut f)?)?
        }
        Source::Prompt { label } => {
            if !std::io::stdin().is_terminal() {
                return Err(Error::BadInput(
                    "no secret given: use --password-stdin or --password-file FILE \
                     (secrets are never taken from arguments)"
                        .into(),
                ));
            }
            rpassword::prompt_password(format!("{label}: ")).map_err(|e| {
                Error::BadInput(format!("cannot read the password from the terminal: {e}"))
            })?
        }
    };
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(Error::BadInput(
            "the password is empty: give the registry password or token".into(),
        ));
    }
    Ok(Secret::new(text))
}

fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| Error::BadInput("the password is not valid UTF-8".into()))
}

/// Token prefixes that tell which service issued a token. Tokens with another service's prefix
/// are certainly wrong; the table is also what GitHub accepts on ghcr.io (classic and
/// fine-grained PATs, OAuth, user-to-server and Actions' `GITHUB_TOKEN`).
const PREFIXES: &[(&str, Provider, &str)] = &[
    ("ghp_", Provider::Github, "GitHub"),
    ("github_pat_", Provider::Github, "GitHub"),
    ("gho_", Provider::Github, "GitHub"),
    ("ghu_", Provider::Github, "GitHub"),
    ("ghs_", Provider::Github, "GitHub"),
    ("glpat-", Provider::Gitlab, "GitLab"),
    ("gldt-", Provider::Gitlab, "GitLab"),
    ("glcbt-", Provider::Gitlab, "GitLab"),
    ("dckr_pat_", Provider::Dockerhub, "Docker Hub"),
    ("dckr_oat_", Provider::Dockerhub, "Docker Hub"),
];

/// The provider whose token prefix `secret` carries, if any.
pub fn issuer(secret: &Secret) -> Option<Provider> {
    PREFIXES
        .iter()
        .find(|(p, _, _)| secret.expose().starts_with(p))
        .map(|(_, provider, _)| *provider)
}

/// A warning when a secret does not look like what `provider` takes, or `None`. Warnings, not
/// errors: token formats change, and a self-hosted GitLab or a password may be right after all.
/// The message never contains the secret.
pub fn shape_warning(provider: Provider, secret: &Secret) -> Option<String> {
    let s = secret.expose();
    let issuer = PREFIXES.iter().find(|(p, _, _)| s.starts_with(p));
    let family = |p: Provider| match p {
        Provider::Gcr | Provider::GcrUs | Provider::GcrEu | Provider::GcrAsia => Provider::Gcr,
        other => other,
    };
    match issuer {
        Some((_, owner, service)) if family(*owner) != family(provider) => Some(format!(
            "the secret looks like a {service} token, but the provider is {}: check you pasted the right token",
            provider.as_str()
        )),
        Some(_) => None,
        None => match provider {
            Provider::Github => Some(
                "the secret does not look like a GitHub token (ghp_… or github_pat_…): ghcr.io takes a \
                 personal access token with read:packages, not the account password"
                    .into(),
            ),
            Provider::Gitlab if s.len() >= 20 && !s.contains(char::is_whitespace) => None,
            Provider::Gitlab => Some(
                "the secret does not look like a GitLab token (glpat-…): the registry takes a personal \
                 access token with read_registry"
                    .into(),
            ),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_warnings() {
        let cases: &[(Provider, &str, Option<&str>)] = &[
            (Provider::Github, "ghp_abcdefSECRET", None),
            (Provider::Github, "github_pat_11SECRET", None),
            (
                Provider::Github,
                "hunter2SECRET",
                Some("does not look like a GitHub token"),
            ),
            (
                Provider::Github,
                "glpat-SECRET",
                Some("looks like a GitLab token"),
            ),
            (Provider::Gitlab, "glpat-SECRET", None),
            (
                Provider::Gitlab,
                "shortSECRET",
                Some("does not look like a GitLab token"),
            ),
            (Provider::Dockerhub, "dckr_pat_SECRET", None),
            (Provider::Dockerhub, "a plain passwordSECRET", None),
            (
                Provider::Dockerhub,
                "ghp_SECRET",
                Some("looks like a GitHub token"),
            ),
            (
                Provider::Custom,
                "dckr_pat_SECRET",
                Some("looks like a Docker Hub token"),
            ),
            (Provider::Custom, "anythingSECRET", None),
        ];
        for (provider, secret, want) in cases {
            let got = shape_warning(*provider, &Secret::new(*secret));
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) => {
                    assert!(g.contains(w), "{provider:?} {secret}: {g}");
                    assert!(!g.contains("SECRET"), "{g}");
                }
                _ => panic!("{provider:?} {secret}: got {got:?}"),
            }
        }
    }
}
