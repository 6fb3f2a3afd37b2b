//! `import-docker-config`: Northflank's "Authenticate with JSON" — save the credentials of a
//! Docker `config.json` (`{"auths":{host:{"auth":base64(user:password)}}}`).
//!
//! Each `auths` entry is judged on its own and reported on its own line: a bad entry does not
//! stop the good ones, and the command fails at the end if any entry could not be imported, so
//! a script notices. Entries whose credentials live elsewhere (`credsStore`, `credHelpers`, or
//! the empty `{}` markers docker writes when a helper holds the secret) are reported as skipped:
//! there is nothing in the file to import. Nothing here ever prints a secret.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::Value;

use super::{check_projects, output};
use crate::credential::{Credential, now_rfc3339};
use crate::fsutil::{self, FileError};
use crate::host::{self, Key};
use crate::policy::{self, Restrictions};
use crate::provider::{self, Provider};
use crate::secret::Secret;
use crate::store::{Saved, Store, Tx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config.json to read, or `-` for stdin.
    file: PathBuf,
    /// Restrict the imported credentials to this project (repeat for several); none means
    /// unrestricted.
    #[arg(long = "project", value_name = "ID")]
    projects: Vec<String>,
    /// Show what would be saved, save nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Prefix of generated names: `import-ghcr-io`.
const NAME_PREFIX: &str = "import";

/// Import files are small; this bounds what is read.
const MAX_IMPORT: u64 = 4 * 1024 * 1024;

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

/// What one found entry becomes.
enum Step {
    /// The credential with this id, saved for exactly the import's scope, gets the new secret.
    Update { id: String, name: String },
    /// A new credential with this generated name.
    Create { name: String },
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<()> {
    let restrictions = Restrictions::to_projects(check_projects(&a.projects)?);
    let (source, text) = read_source(&a.file)?;
    let parsed = parse(&source, &text)?;
    for f in &parsed.found {
        // A guessed `custom` says nothing about what the token should look like.
        if f.provider != Provider::Custom
            && let Some(w) = f.provider.shape_warning(&f.username, &f.secret)
        {
            output::note(&format!("warning: {}: {w}", f.written));
        }
        if f.key.as_str() != f.written
            && let Some(path) = namespace_of(&f.written)
        {
            output::note(&format!(
                "warning: {}: credentials are per registry here, so they are saved for all of {} (not just {path})",
                f.written, f.key
            ));
        }
    }
    let (steps, conflicts) = if a.dry_run {
        plan(&store.summaries()?, &parsed.found, &restrictions)
    } else {
        store.write(|tx| {
            let mut saved: BTreeMap<String, Vec<Saved>> = BTreeMap::new();
            for c in tx.all()? {
                saved.entry(c.registry.clone()).or_default().push(c);
            }
            let (steps, conflicts) = plan(&saved, &parsed.found, &restrictions);
            apply(tx, &parsed.found, &steps, &restrictions)?;
            Ok((steps, conflicts))
        })?
    };
    let verb = if a.dry_run { "would " } else { "" };
    let scope = restrictions.scope();
    let mut lines: Vec<String> = Vec::new();
    for (f, step) in parsed.found.iter().zip(&steps) {
        let Some(step) = step else { continue };
        let (what, name) = match step {
            Step::Update { name, .. } => ("update", name),
            Step::Create { name } => ("create", name),
        };
        lines.push(format!(
            "{verb}{what} {name:?} for {} (user {}, {scope})",
            f.key, f.username
        ));
    }
    let saved = lines.len();
    for (what, why) in &parsed.skipped {
        lines.push(format!("skipped {what}: {why}"));
    }
    for (what, why) in parsed.failed.iter().chain(&conflicts) {
        lines.push(format!("failed  {what}: {why}"));
    }
    if lines.is_empty() {
        lines.push(format!("nothing to import: {source} holds no credentials"));
    }
    if a.dry_run {
        lines.push("dry run: nothing was saved".to_string());
    }
    if a.dry_run {
        output::lines(&lines)?;
    } else {
        output::done(&lines);
    }
    let failed = parsed.failed.len() + conflicts.len();
    if failed > 0 {
        bail!(
            "{failed} entr{} could not be imported (see above){}",
            if failed == 1 { "y" } else { "ies" },
            if saved > 0 && !a.dry_run {
                "; the others were saved"
            } else {
                ""
            }
        );
    }
    if saved > 0 && !a.dry_run {
        output::done([
            "next: run `docker-credential-northflank configure` so docker and podman use them",
        ]);
    }
    Ok(())
}

/// The file's bytes, and how to name it in messages.
fn read_source(file: &std::path::Path) -> anyhow::Result<(String, Vec<u8>)> {
    let too_large = |source: &str| {
        anyhow::anyhow!("{source} is larger than 4 MiB, so it is not a Docker config.json")
    };
    if file.as_os_str() == "-" {
        let text =
            fsutil::read_limited(std::io::stdin().lock(), MAX_IMPORT).map_err(|e| match e {
                FileError::TooLarge(_) => too_large("stdin"),
                other => anyhow::anyhow!("cannot read stdin: {other}"),
            })?;
        return Ok(("stdin".to_string(), text));
    }
    let shown = file.display().to_string();
    match fsutil::read_bounded(file, MAX_IMPORT, fsutil::Follow::Yes) {
        Ok(Some(text)) => Ok((shown, text)),
        Ok(None) => bail!("cannot read {shown}: it does not exist"),
        Err(FileError::TooLarge(_)) => Err(too_large(&shown)),
        Err(e) => Err(anyhow::anyhow!("{shown} {e}")).context("cannot import"),
    }
}

/// Decides, for each found entry, whether it updates the credential saved for exactly the
/// same scope (same projects, or unrestricted) or creates one with a generated name; entries
/// that would make a registry's choice ambiguous come back as conflicts instead.
///
/// Why "exactly the same scope" and not "whatever `get` would serve there", as protocol `store`
/// does: an import for `--project p1` must not overwrite the unrestricted credential every other
/// project uses, nor one shared with other projects.
fn plan(
    saved: &BTreeMap<String, Vec<Saved>>,
    found: &[Found],
    restrictions: &Restrictions,
) -> (Vec<Option<Step>>, Vec<Problem>) {
    let mut taken: Vec<String> = saved.values().flatten().map(|c| c.name.clone()).collect();
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let same_scope = |r: &Restrictions| {
        r.restricted == restrictions.restricted
            && (!r.restricted || sorted(&r.projects) == sorted(&restrictions.projects))
    };
    let none = Vec::new();
    for f in found {
        let creds = saved.get(f.key.as_str()).unwrap_or(&none);
        if let Some(c) = creds.iter().find(|c| same_scope(&c.restrictions)) {
            steps.push(Some(Step::Update {
                id: c.id.clone(),
                name: c.name.clone(),
            }));
            continue;
        }
        let name = policy::generated_name(NAME_PREFIX, &f.key, |n| taken.iter().any(|t| t == n));
        let items = creds
            .iter()
            .map(|c| (c.name.as_str(), &c.restrictions))
            .chain([(name.as_str(), restrictions)]);
        match policy::check_unambiguous(f.key.as_str(), items, Some(&name)) {
            Ok(()) => {
                taken.push(name.clone());
                steps.push(Some(Step::Create { name }));
            }
            Err(why) => {
                conflicts.push((f.written.clone(), why));
                steps.push(None);
            }
        }
    }
    (steps, conflicts)
}

/// Saves what [`plan`] decided, through the transaction (which places every secret).
fn apply(
    tx: &mut Tx,
    found: &[Found],
    steps: &[Option<Step>],
    restrictions: &Restrictions,
) -> crate::Result<()> {
    for (f, step) in found.iter().zip(steps) {
        match step {
            None => {}
            Some(Step::Update { id, .. }) => tx.replace_login(id, &f.username, f.secret.clone())?,
            Some(Step::Create { name }) => {
                let now = now_rfc3339();
                let cred = Credential {
                    id: String::new(),
                    name: name.clone(),
                    description: "imported from a Docker config.json".to_string(),
                    provider: f.provider,
                    registry: f.key.as_str().to_string(),
                    username: f.username.clone(),
                    restrictions: restrictions.clone(),
                    created: now.clone(),
                    updated: now,
                    origin: None,
                };
                tx.insert(cred, f.secret.clone())?;
            }
        }
    }
    Ok(())
}

/// The `/path` of a namespaced `auths` key (podman's `quay.io/org`), if any.
fn namespace_of(written: &str) -> Option<&str> {
    let rest = written.split_once("://").map_or(written, |(_, r)| r);
    let path = &rest[rest.find('/')?..];
    (!path.trim_matches('/').is_empty() && !path.starts_with("/v1") && !path.starts_with("/v2"))
        .then_some(path)
}

/// Reads the file's entries. Only a file that is not a JSON object at all is an error here;
/// everything wrong with one entry is reported with that entry.
fn parse(source: &str, text: &[u8]) -> anyhow::Result<Parsed> {
    let value: Value = serde_json::from_slice(text).map_err(|e| {
        anyhow::anyhow!(
            "{source} is not valid JSON ({e}): give a Docker config.json like {{\"auths\":{{\"ghcr.io\":{{\"auth\":\"…\"}}}}}}"
        )
    })?;
    let Value::Object(top) = value else {
        return Err(anyhow::anyhow!(
            "{source} is not a JSON object: give a Docker config.json like {{\"auths\":{{…}}}}"
        ));
    };
    if let Some(key) = super::configure::repeated_top_key(text) {
        anyhow::bail!(
            "{source} has the top-level key {key:?} twice: docker merges the two, this command would \
             keep only the last; merge them by hand and import again"
        );
    }
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
        for (host, helper) in by_key(helpers) {
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
            return Err(anyhow::anyhow!(
                "{source}: \"auths\" is not an object: give a Docker config.json like {{\"auths\":{{…}}}}"
            ));
        }
        None if parsed.skipped.is_empty() => {
            return Err(anyhow::anyhow!(
                "{source} has no \"auths\": give a Docker config.json like {{\"auths\":{{\"ghcr.io\":{{\"auth\":\"…\"}}}}}}"
            ));
        }
        None => return Ok(parsed),
    };
    // Several spellings of one registry: the one written as the canonical key (the key docker
    // itself uses, e.g. `https://index.docker.io/v1/`) wins, else the first.
    let mut seen: BTreeMap<Key, (String, usize)> = BTreeMap::new();
    for (written, entry) in by_key(auths) {
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
            // A key that is no registry may hold a password (`https://user:pass@host`).
            Ok(None) => parsed.skipped.push((
                host::redacted(written),
                "no credentials in the entry (docker leaves an empty one when a credential helper holds them)"
                    .to_string(),
            )),
            Err(why) => parsed.failed.push((host::redacted(written), why)),
        }
    }
    Ok(parsed)
}

/// An object's members sorted by key: entries are reported, and spellings of one registry
/// chosen between, in the same order whatever order the file lists them in.
fn by_key(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
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
            Provider::Custom if provider::issuer(&secret) == Some(Provider::Gitlab) => {
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

    #[test]
    fn a_repeated_auths_is_refused_not_half_imported() {
        let text = r#"{"auths":{"a.example.com":{"auth":"dTpw"}},"auths":{"b.example.com":{"auth":"dTpw"}}}"#;
        let err = parse("in.json", text.as_bytes()).err().unwrap().to_string();
        assert!(
            err.contains("has the top-level key \"auths\" twice"),
            "{err}"
        );
        // A key repeated inside one object is docker's own business: the last one wins there too.
        let text = r#"{"auths":{"a.example.com":{"auth":"eDp5"},"a.example.com":{"auth":"dTpw"}}}"#;
        let p = parse("in.json", text.as_bytes()).unwrap();
        assert_eq!(p.found.len(), 1);
        assert_eq!(p.found[0].username, "u");
    }
}
