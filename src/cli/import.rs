//! `import-docker-config`: Northflank's "Authenticate with JSON" — save the credentials of a
//! Docker `config.json` (`{"auths":{host:{"auth":base64(user:password)}}}`).
//!
//! Each `auths` entry is judged on its own and reported on its own line: a bad entry does not
//! stop the good ones, and the command fails at the end if any entry could not be imported, so
//! a script notices. Entries whose credentials live elsewhere (`credsStore`, `credHelpers`, or
//! the empty `{}` markers docker writes when a helper holds the secret) are reported as skipped:
//! there is nothing in the file to import. Nothing here ever prints a secret.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::cli::secret_input;
use crate::credential::{Backend, Credential, Provider, new_id, now_rfc3339};
use crate::error::{Error, Result};
use crate::host::{self, Key};
use crate::policy::{self, Restrictions};
use crate::secret::Secret;
use crate::store::backend;
use crate::store::{Store, Tx};

/// Prefix of generated names: `import-ghcr-io`.
const NAME_PREFIX: &str = "import";

/// One registry's credentials found in the file.
#[derive(Debug)]
struct Found {
    /// The `auths` key as written in the file, for messages.
    written: String,
    key: Key,
    provider: Provider,
    username: String,
    secret: Secret,
}

/// `(auths key as written, what is wrong)`.
type Problem = (String, String);

/// What the file holds, entry by entry.
#[derive(Debug, Default)]
struct Parsed {
    found: Vec<Found>,
    /// `(auths key or "credsStore", why)`: informational.
    skipped: Vec<Problem>,
    /// `(auths key, what is wrong)`: the import fails at the end.
    failed: Vec<Problem>,
}

/// What an import did (or, on a dry run, would do), as lines for people.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
    pub failed: usize,
    pub saved: usize,
}

/// Parses `text` (a Docker `config.json`; `source` names it in messages) and saves its
/// credentials with `restrictions`, or only reports what it would do when `dry_run`.
pub fn run(
    store: &Store,
    source: &str,
    text: &[u8],
    restrictions: &Restrictions,
    dry_run: bool,
) -> Result<Report> {
    let parsed = parse(source, text)?;
    let mut report = Report::default();
    for f in &parsed.found {
        // A guessed `custom` says nothing about what the token should look like.
        if f.provider != Provider::Custom
            && let Some(w) = secret_input::shape_warning(f.provider, &f.secret)
        {
            report.warnings.push(format!("{}: {w}", f.written));
        }
        if f.key.as_str() != f.written
            && let Some(path) = namespace_of(&f.written)
        {
            report.warnings.push(format!(
                "{}: credentials are per registry here, so they are saved for all of {} (not just {path})",
                f.written, f.key
            ));
        }
    }
    let (lines, conflicts) = if dry_run {
        let mut all = store.all()?;
        let mut taken: Vec<String> = all.values().flatten().map(|c| c.name.clone()).collect();
        save_all(&mut all, &parsed.found, restrictions, &mut taken, None)?
    } else {
        let backend = backend::for_new_secrets(store)?;
        store.write(|tx| {
            let mut taken: Vec<String> = tx.all()?.into_iter().map(|c| c.name).collect();
            save_all(tx, &parsed.found, restrictions, &mut taken, Some(backend))
        })?
    };
    let verb = if dry_run { "would " } else { "" };
    report.saved = lines.len();
    report.lines = lines.into_iter().map(|l| format!("{verb}{l}")).collect();
    for (what, why) in &parsed.skipped {
        report.lines.push(format!("skipped {what}: {why}"));
    }
    for (what, why) in parsed.failed.iter().chain(&conflicts) {
        report.lines.push(format!("failed  {what}: {why}"));
    }
    report.failed = parsed.failed.len() + conflicts.len();
    Ok(report)
}

/// Where an import reads and changes one registry's credentials, secrets included: the write
/// transaction when saving, an in-memory copy of the store on a dry run.
trait Registries {
    fn registry(&mut self, key: &str) -> Result<&mut Vec<Credential>>;
}

impl Registries for BTreeMap<String, Vec<Credential>> {
    fn registry(&mut self, key: &str) -> Result<&mut Vec<Credential>> {
        Ok(self.entry(key.to_string()).or_default())
    }
}

impl Registries for Tx<'_> {
    fn registry(&mut self, key: &str) -> Result<&mut Vec<Credential>> {
        Tx::registry(self, key)
    }
}

/// Saves every found entry; returns the lines for the saved ones and `(entry, why)` for the
/// ones that would have made a choice ambiguous. `taken` holds every name in use and grows
/// with the names this import creates. `backend` is where new credentials keep their secret;
/// `None` on a dry run, which never touches the keychain.
fn save_all(
    regs: &mut dyn Registries,
    found: &[Found],
    restrictions: &Restrictions,
    taken: &mut Vec<String>,
    backend: Option<Backend>,
) -> Result<(Vec<String>, Vec<Problem>)> {
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    for f in found {
        let creds = regs.registry(f.key.as_str())?;
        match save_one(creds, f, restrictions, taken, backend)? {
            Ok(line) => lines.push(line),
            Err(why) => failed.push((f.written.clone(), why)),
        }
    }
    Ok((lines, failed))
}

/// The `/path` of a namespaced `auths` key (podman's `quay.io/org`), if any.
fn namespace_of(written: &str) -> Option<&str> {
    let rest = written.split_once("://").map_or(written, |(_, r)| r);
    let path = &rest[rest.find('/')?..];
    (!path.trim_matches('/').is_empty() && !path.starts_with("/v1") && !path.starts_with("/v2"))
        .then_some(path)
}

/// Saves one registry's credentials into `creds` (that registry's): updates the credential saved for exactly the
/// same scope (same projects, or unrestricted), else creates one with a generated name.
///
/// Why "exactly the same scope" and not "whatever `get` would serve there", as protocol `store`
/// does: an import for `--project p1` must not overwrite the unrestricted credential every other
/// project uses, nor one shared with other projects. Where a new credential would make the
/// choice ambiguous, the entry fails with the reason instead.
///
/// The outer error is a keychain failure, which stops the whole import (the transaction is
/// not committed); the inner one is this entry's conflict.
fn save_one(
    creds: &mut Vec<Credential>,
    f: &Found,
    restrictions: &Restrictions,
    taken: &mut Vec<String>,
    backend: Option<Backend>,
) -> Result<std::result::Result<String, String>> {
    let key = f.key.as_str();
    let scope = restrictions.scope();
    let now = now_rfc3339();
    let same_scope = |r: &Restrictions| {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        r.restricted == restrictions.restricted
            && (!r.restricted || sorted(&r.projects) == sorted(&restrictions.projects))
    };
    if let Some(c) = creds.iter_mut().find(|c| same_scope(&c.restrictions)) {
        // An update keeps the credential's own backend, as `docker login` does.
        if backend.is_some() {
            backend::put_secret(c, f.secret.clone())?;
        }
        c.username = f.username.clone();
        c.updated = now;
        return Ok(Ok(format!(
            "update {:?} for {key} (user {}, {scope})",
            c.name, f.username
        )));
    }
    let name = policy::generated_name(NAME_PREFIX, &f.key, taken);
    creds.push(Credential {
        id: new_id(),
        name: name.clone(),
        description: "imported from a Docker config.json".to_string(),
        provider: f.provider,
        registry: key.to_string(),
        username: f.username.clone(),
        backend: backend.unwrap_or_default(),
        secret: None,
        restrictions: restrictions.clone(),
        created: now.clone(),
        updated: now,
    });
    if let Err(why) = policy::check_unambiguous(
        key,
        creds.iter().map(|c| (c.name.as_str(), &c.restrictions)),
    ) {
        creds.pop();
        return Ok(Err(why));
    }
    if backend.is_some() {
        let cred = creds.last_mut().expect("BUG: just pushed");
        backend::put_secret(cred, f.secret.clone())?;
    }
    taken.push(name.clone());
    Ok(Ok(format!(
        "create {name:?} for {key} (user {}, {scope})",
        f.username
    )))
}

/// Reads the file's entries. Only a file that is not a JSON object at all is an error here;
/// everything wrong with one entry is reported with that entry.
fn parse(source: &str, text: &[u8]) -> Result<Parsed> {
    let value: Value = serde_json::from_slice(text).map_err(|e| {
        Error::BadInput(format!(
            "{source} is not valid JSON ({e}): give a Docker config.json like {{\"auths\":{{\"ghcr.io\":{{\"auth\":\"…\"}}}}}}"
        ))
    })?;
    let Value::Object(top) = value else {
        return Err(Error::BadInput(format!(
            "{source} is not a JSON object: give a Docker config.json like {{\"auths\":{{…}}}}"
        )));
    };
    let mut parsed = Parsed::default();
    if let Some(Value::String(helper)) = top.get("credsStore") {
        parsed.skipped.push((
            "credsStore".to_string(),
            format!(
                "credentials kept by docker-credential-{helper} are not in the file; \
                 add them with `add` or import a config.json that holds them"
            ),
        ));
    }
    if let Some(Value::Object(helpers)) = top.get("credHelpers") {
        for (host, helper) in sorted(helpers) {
            let helper = helper.as_str().unwrap_or("?");
            parsed.skipped.push((
                host.clone(),
                format!("credHelpers sends it to docker-credential-{helper}; its secret is not in the file"),
            ));
        }
    }
    let auths = match top.get("auths") {
        Some(Value::Object(auths)) => auths,
        Some(_) => {
            return Err(Error::BadInput(format!(
                "{source}: \"auths\" is not an object: give a Docker config.json like {{\"auths\":{{…}}}}"
            )));
        }
        None if parsed.skipped.is_empty() => {
            return Err(Error::BadInput(format!(
                "{source} has no \"auths\": give a Docker config.json like {{\"auths\":{{\"ghcr.io\":{{\"auth\":\"…\"}}}}}}"
            )));
        }
        None => return Ok(parsed),
    };
    // Several spellings of one registry: the one written as the canonical key (the key docker
    // itself uses, e.g. `https://index.docker.io/v1/`) wins, else the first.
    let mut seen: BTreeMap<Key, (String, usize)> = BTreeMap::new();
    for (written, entry) in sorted(auths) {
        match parse_entry(written, entry) {
            Ok(Some(found)) => {
                if let Some((first, at)) = seen.get(&found.key).cloned() {
                    let (kept, dropped) = if written == found.key.as_str() {
                        seen.insert(found.key.clone(), (written.clone(), at));
                        parsed.found[at] = found;
                        (written.clone(), first)
                    } else {
                        (first, written.clone())
                    };
                    parsed.skipped.push((
                        dropped,
                        format!("same registry as {kept:?}, which was imported instead"),
                    ));
                    continue;
                }
                seen.insert(found.key.clone(), (written.clone(), parsed.found.len()));
                parsed.found.push(found);
            }
            Ok(None) => parsed.skipped.push((
                written.clone(),
                "no credentials in the entry (docker leaves an empty one when a credential helper holds them)"
                    .to_string(),
            )),
            Err(why) => parsed.failed.push((written.clone(), why)),
        }
    }
    Ok(parsed)
}

/// An object's members sorted by key: entries are reported, and spellings of one registry
/// chosen between, in the same order whatever order the file lists them in.
fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<_> = map.iter().collect();
    members.sort_unstable_by_key(|(k, _)| *k);
    members
}

/// One `auths` entry: `identitytoken` wins (as docker uses it), then `auth`, then
/// `username`/`password`. `Ok(None)` when it holds no credentials.
fn parse_entry(written: &str, entry: &Value) -> std::result::Result<Option<Found>, String> {
    let key = host::normalize(written).map_err(|e| format!("not a registry address: {e}"))?;
    let Value::Object(entry) = entry else {
        return Err("the entry is not an object: expected {\"auth\":\"…\"}".to_string());
    };
    let field = |name: &str| -> std::result::Result<Option<&str>, String> {
        match entry.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{name:?} is not a string")),
        }
    };
    let found = |username: String, secret: &str| {
        let secret = Secret::new(secret);
        // Any host may be a self-hosted GitLab; its tokens say so.
        let provider = match Provider::guess(&key) {
            Provider::Custom if secret_input::issuer(&secret) == Some(Provider::Gitlab) => {
                Provider::Gitlab
            }
            guessed => guessed,
        };
        Ok(Some(Found {
            written: written.to_string(),
            key: key.clone(),
            provider,
            username,
            secret,
        }))
    };
    if let Some(token) = field("identitytoken")? {
        return found("<token>".to_string(), token);
    }
    if let Some(auth) = field("auth")? {
        let (user, password) = decode_auth(auth)?;
        return found(user, &password);
    }
    match (field("username")?, field("password")?) {
        (Some(user), Some(password)) => found(user.to_string(), password),
        (Some(_), None) => Err("has \"username\" but no \"password\"".to_string()),
        (None, Some(_)) => Err("has \"password\" but no \"username\"".to_string()),
        // Fields that carry no credentials (`email`, `serveraddress`) are ignored.
        (None, None) => Ok(None),
    }
}

/// Decodes `auth`: base64 of `user:password`, split at the first colon (passwords may hold
/// colons, user names may not). Messages never include the decoded text.
fn decode_auth(auth: &str) -> std::result::Result<(String, String), String> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // Docker writes padded standard base64; some generators drop the padding.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    // base64's own message quotes the offending character: leave it out.
    let bytes = LENIENT.decode(auth.trim()).map_err(|_| {
        "\"auth\" is not valid base64: it must be base64 of user:password".to_string()
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        "\"auth\" does not decode to UTF-8 text: it must be base64 of user:password".to_string()
    })?;
    let Some((user, password)) = text.split_once(':') else {
        return Err(
            "\"auth\" decodes to text without a colon: it must be base64 of user:password"
                .to_string(),
        );
    };
    if user.is_empty() {
        return Err("\"auth\" has an empty user name before the colon".to_string());
    }
    if password.is_empty() {
        return Err("\"auth\" has an empty password after the colon".to_string());
    }
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn auth_decoding() {
        assert_eq!(
            decode_auth(&b64("alice:pa:ss")).unwrap(),
            ("alice".to_string(), "pa:ss".to_string())
        );
        let unpadded = b64("bob:x").trim_end_matches('=').to_string();
        assert_eq!(decode_auth(&unpadded).unwrap().0, "bob");
        assert!(decode_auth("!!!").unwrap_err().contains("not valid base64"));
        assert!(
            decode_auth(&b64("nocolon"))
                .unwrap_err()
                .contains("without a colon")
        );
        assert!(decode_auth(&b64(":pw")).unwrap_err().contains("empty user"));
        let err = decode_auth(&b64("secretnocolon")).unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn entries() {
        let text = format!(
            r#"{{"auths":{{
                "ghcr.io":{{"auth":"{}"}},
                "https://index.docker.io/v1/":{{"identitytoken":"tok"}},
                "registry.example.com":{{"identitytoken":"tok"}},
                "docker.io":{{"auth":"{}"}},
                "quay.io":{{"username":"q","password":"p"}},
                "marker.example.com":{{}},
                "bad.example.com":{{"auth":"@@"}},
                "ftp://x":{{"auth":"{}"}}
            }},"credsStore":"desktop","credHelpers":{{"gcr.io":"gcloud"}}}}"#,
            b64("alice:pw"),
            b64("bob:pw"),
            b64("c:d")
        );
        let p = parse("test", text.as_bytes()).unwrap();
        let found: Vec<(&str, &str)> = p
            .found
            .iter()
            .map(|f| (f.key.as_str(), f.username.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("https://index.docker.io/v1/", "<token>"),
                ("ghcr.io", "alice"),
                ("quay.io", "q"),
                ("registry.example.com", "<token>")
            ]
        );
        let skipped: Vec<&str> = p.skipped.iter().map(|s| s.0.as_str()).collect();
        // `docker.io` comes first (keys are read sorted), but the entry written as docker's
        // own key, `https://index.docker.io/v1/`, wins.
        assert_eq!(
            skipped,
            ["credsStore", "gcr.io", "docker.io", "marker.example.com"]
        );
        let failed: Vec<&str> = p.failed.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(failed, ["bad.example.com", "ftp://x"]);
    }
}
