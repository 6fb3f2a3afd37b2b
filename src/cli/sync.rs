//! `sync`: mirrors the team's saved registry credentials from Northflank (SPEC §9; the API
//! side is [`crate::northflank`]).
//!
//! The fetch happens outside the store's lock (it can take minutes for thousands of
//! credentials); the plan is then made again inside one store transaction, against the store
//! as it is under the lock, and applied through it — so a `docker login` that ran meanwhile is
//! planned with, not overwritten blindly, and a sync killed at any moment leaves every
//! credential as before or as synced (each lives in one registry file, replaced atomically).

use std::collections::HashMap;
use std::io::IsTerminal;

use serde::Serialize;

use super::output;
use crate::credential::{Credential, now_rfc3339};
use crate::error::Error;
use crate::fsutil;
use crate::host;
use crate::northflank::api::{self, Api};
use crate::northflank::plan::{self, Counts, Local, Step};
use crate::northflank::token::{self, Env};
use crate::northflank::{Fetched, Requests, Scope, SyncError, Upstream};
use crate::policy::Restrictions;
use crate::provider::Provider;
use crate::secret::Secret;
use crate::store::{Saved, Store, Tx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Mirror this team's credentials instead of the token's own account's.
    #[arg(long, value_name = "ID")]
    team: Option<String>,
    /// Take the token of this context of the Northflank CLI's login file (~/.northflank/config.json).
    #[arg(long, value_name = "NAME", conflicts_with = "token_stdin")]
    context: Option<String>,
    /// Read the API token from stdin (never from an argument).
    #[arg(long)]
    token_stdin: bool,
    /// Print what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the plan and the outcome as JSON, for scripts.
    #[arg(long)]
    json: bool,
    /// Also save the sync's API token for registry.northflank.com with this user name, so images
    /// built on Northflank pull with no further login.
    #[arg(long, value_name = "USERNAME")]
    registry_login: Option<String>,
}

/// The registry images built on Northflank are pulled from.
const NORTHFLANK_REGISTRY: &str = "registry.northflank.com";
/// The name of the credential `--registry-login` saves.
const REGISTRY_LOGIN_NAME: &str = "northflank-registry";

pub fn run(store: &Store, a: Args) -> anyhow::Result<()> {
    match sync(store, &a) {
        Ok((report, stopped)) => {
            report.print(a.json, stopped.as_ref(), a.registry_login.as_deref())?;
            match stopped {
                Some(stopped) => Err(stopped.into()),
                None => Ok(()),
            }
        }
        // Failed before there was a plan to report: scripts still get their JSON object.
        Err(e) if a.json => {
            failure_json(&a, &e)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Fetches, plans and (unless `--dry-run`) applies: what to report, and the error the fetch
/// stopped at, if it stopped part-way.
fn sync(store: &Store, a: &Args) -> anyhow::Result<(Report, Option<SyncError>)> {
    let scope = Scope::new(a.team.as_deref())?;
    if a.registry_login.as_deref().is_some_and(str::is_empty) {
        return Err(SyncError::Config(format!(
            "--registry-login is empty: give the user name to log in to {NORTHFLANK_REGISTRY} with"
        ))
        .into());
    }
    let stdin = if a.token_stdin {
        Some(
            fsutil::read_limited(std::io::stdin().lock(), MAX_TOKEN).map_err(|e| {
                SyncError::Token(match e {
                    fsutil::FileError::TooLarge(_) => format!(
                        "the token on stdin is larger than {} KiB, which no API token is: pipe only \
                         the token to --token-stdin",
                        MAX_TOKEN >> 10
                    ),
                    e => format!("cannot read the token from stdin: {e}"),
                })
            })?,
        )
    } else {
        None
    };
    let found = token::discover(stdin.as_deref(), a.context.as_deref(), &Env::from_process())?;
    let options = api::Options {
        ca_file: std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(Into::into),
        ..api::Options::default()
    };
    let api = Api::new(&found, options)?;
    let api_base = found.base.as_str().to_string();
    let known = {
        let saved: Vec<Saved> = store.summaries()?.into_values().flatten().collect();
        plan::known(&locals(&saved, &api_base), &scope)
    };
    let fetched = fetch(&api, &scope, &known)?;
    let report = if a.dry_run {
        let saved: Vec<Saved> = store.summaries()?.into_values().flatten().collect();
        let by_id: HashMap<&str, &Saved> = saved.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut same_secret = |l: &Local, secret: &Secret| {
            by_id
                .get(l.id)
                .is_some_and(|c| store.secret(c).is_ok_and(|have| have == *secret))
        };
        Report::of(
            &plan::plan(&fetched, &locals(&saved, &api_base), &mut same_secret),
            &fetched,
            true,
        )
    } else {
        store.write(|tx| {
            let saved = tx.all()?;
            // A secret that cannot be read counts as changed: the update then writes it.
            let mut same_secret =
                |l: &Local, secret: &Secret| tx.secret(l.id).is_ok_and(|have| have == *secret);
            let plan = plan::plan(&fetched, &locals(&saved, &api_base), &mut same_secret);
            // Steps may pass through ambiguous states (two credentials trading projects);
            // the plan's end state is checked, once per registry, at commit.
            tx.check_ambiguity_at_commit();
            apply(tx, &plan.steps, &scope, &api_base)?;
            if let Some(user) = &a.registry_login {
                registry_login(tx, user, &found.token)?;
            }
            Ok(Report::of(&plan, &fetched, false))
        })?
    };
    Ok((report, fetched.stopped))
}

/// The most `--token-stdin` reads: API tokens are a few hundred bytes.
const MAX_TOKEN: u64 = 64 * 1024;

/// `--json` for a sync that failed before it had a plan: `team`, `dry_run` and the `error`
/// object a sync that stopped part-way prints too.
fn failure_json(a: &Args, e: &anyhow::Error) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Out<'a> {
        team: Option<&'a str>,
        dry_run: bool,
        error: Failed,
    }
    let out = Out {
        team: a.team.as_deref(),
        dry_run: a.dry_run,
        error: Failed::of(e),
    };
    let mut text = serde_json::to_string_pretty(&out).expect("BUG: the error serialises");
    text.push('\n');
    Ok(output::raw(text.as_bytes())?)
}

/// The `error` member of `--json`.
#[derive(Serialize)]
struct Failed {
    kind: &'static str,
    message: String,
    exit_code: u8,
}

impl Failed {
    /// A sync error by its kind; anything else failed here (the store, the keychain).
    fn of(e: &anyhow::Error) -> Failed {
        Failed {
            kind: e
                .downcast_ref::<SyncError>()
                .map_or("store", SyncError::kind),
            message: format!("{e:#}").replace(['\n', '\r'], " "),
            exit_code: super::exit_code(e),
        }
    }
}

/// Fetches, with a progress line on stderr when a person is watching.
fn fetch(api: &Api, scope: &Scope, known: &HashMap<String, String>) -> Result<Fetched, SyncError> {
    let terminal = std::io::stderr().is_terminal();
    let mut shown = false;
    let result = api::fetch_with(api, scope, known, &mut |p| {
        if terminal && p.to_fetch >= 20 {
            shown = true;
            crate::term::progress(&format!(
                "sync: {} listed, {}/{} fetched",
                p.listed, p.fetched, p.to_fetch
            ));
        }
    });
    if shown {
        crate::term::progress("");
    }
    result
}

/// The planner's view of what is saved. A credential synced from another API is, for this
/// sync, never touched (records from before origins named their API are this one's).
fn locals<'a>(saved: &'a [Saved], api: &str) -> Vec<Local<'a>> {
    saved
        .iter()
        .map(|c| Local {
            id: &c.id,
            name: &c.name,
            registry: &c.registry,
            provider: c.provider,
            username: &c.username,
            description: &c.description,
            restrictions: &c.restrictions,
            created: &c.created,
            updated: &c.updated,
            origin: c.origin.as_ref(),
            other_api: c
                .origin
                .as_ref()
                .is_some_and(|o| o.api.as_deref().is_some_and(|a| a != api)),
        })
        .collect()
}

/// Applies the plan's steps (removals, then renames and updates, then creations) through the
/// store's transaction, which places every secret.
fn apply(tx: &mut Tx, steps: &[Step], scope: &Scope, api: &str) -> crate::Result<()> {
    // Two credentials may swap names: give every renamed one a free temporary name first.
    let mut renamed = Vec::new();
    for step in steps {
        let (from, to) = match step {
            Step::Rename { from, to, .. } => (from, to),
            Step::Update { name, upstream, .. } if *name != upstream.name => (name, &upstream.name),
            _ => continue,
        };
        let id = tx.named(from)?.id.clone();
        let temporary = format!("sync-{}", &crate::credential::new_id()[..12]);
        tx.update(&id, |c| c.name = temporary)?;
        renamed.push((id, to.clone()));
    }
    for step in steps {
        match step {
            Step::Remove { name, .. } => {
                let id = tx.named(name)?.id.clone();
                tx.remove(&id)?;
            }
            Step::Rename { .. } => {}
            Step::Update {
                name,
                upstream,
                changes,
            } => {
                let id = match renamed.iter().position(|(_, to)| to == &upstream.name) {
                    Some(i) => renamed[i].0.clone(),
                    None => tx.named(name)?.id.clone(),
                };
                let fields = synced(upstream, scope, api);
                tx.update(&id, |c| {
                    let created = std::mem::take(&mut c.created);
                    *c = Credential {
                        id: c.id.clone(),
                        created: upstream.created_at.clone().unwrap_or(created),
                        ..fields
                    };
                })?;
                // The same secret is not written again: a token exchanged for it stays cached.
                if changes.contains(&"secret") {
                    tx.set_secret(&id, upstream.secret.clone())?;
                }
            }
            Step::Create(upstream) => {
                tx.insert(synced(upstream, scope, api), upstream.secret.clone())?
            }
            Step::Skip { .. } | Step::Keep { .. } => {}
        }
    }
    for (id, to) in renamed {
        tx.update(&id, |c| c.name = to)?;
    }
    Ok(())
}

/// A credential as Northflank holds it, with where it came from.
fn synced(u: &Upstream, scope: &Scope, api: &str) -> Credential {
    let now = now_rfc3339();
    let mut origin = u.origin(scope);
    origin.api = Some(api.to_string());
    Credential {
        id: String::new(),
        name: u.name.clone(),
        description: u.description.clone(),
        provider: u.provider,
        registry: u.registry.clone(),
        username: u.username.clone(),
        restrictions: u.restrictions.clone(),
        created: u.created_at.clone().unwrap_or_else(|| now.clone()),
        updated: u.updated_at.clone().unwrap_or(now),
        origin: Some(origin),
    }
}

/// `--registry-login USER`: the sync's token as the password for Northflank's registry, in
/// the one unrestricted credential for it (created, or updated when it is already there).
fn registry_login(tx: &mut Tx, user: &str, token: &Secret) -> crate::Result<()> {
    let key = host::normalize(NORTHFLANK_REGISTRY).expect("BUG: a valid host");
    let existing = tx
        .registry(&key)?
        .iter()
        .find(|c| !c.restrictions.restricted)
        .map(|c| (c.id.clone(), c.origin.is_some(), c.name.clone()));
    match existing {
        Some((_, true, name)) => Err(Error::Conflict(format!(
            "{NORTHFLANK_REGISTRY} already has the credential {name:?} synced from Northflank: drop \
             --registry-login, or remove or restrict that credential in Northflank"
        ))),
        Some((id, false, _)) => {
            tx.update(&id, |c| {
                c.username = user.to_string();
                c.provider = Provider::Northflank;
                c.updated = now_rfc3339();
            })?;
            tx.set_secret(&id, token.clone())
        }
        None => {
            let mut name = REGISTRY_LOGIN_NAME.to_string();
            for n in 2.. {
                if !tx.name_taken(&name)? {
                    break;
                }
                name = format!("{REGISTRY_LOGIN_NAME}-{n}");
            }
            let now = now_rfc3339();
            tx.insert(
                Credential {
                    id: String::new(),
                    name,
                    description: "the Northflank API token of `sync --registry-login`".to_string(),
                    provider: Provider::Northflank,
                    registry: key.as_str().to_string(),
                    username: user.to_string(),
                    restrictions: Restrictions::unrestricted(),
                    created: now.clone(),
                    updated: now,
                    origin: None,
                },
                token.clone(),
            )
        }
    }
}

/// What a sync did or would do, rendered before the plan's borrows end.
struct Report {
    lines: Vec<String>,
    json: serde_json::Value,
    counts: Counts,
    requests: Requests,
    team: Option<String>,
    dry_run: bool,
}

impl Report {
    fn of(plan: &plan::Plan, fetched: &Fetched, dry_run: bool) -> Report {
        let verb = if dry_run { "would " } else { "" };
        let lines = plan
            .steps
            .iter()
            .filter(|s| !matches!(s, Step::Keep { .. }))
            .map(|s| format!("{verb}{s}"))
            .collect();
        Report {
            lines,
            json: serde_json::to_value(&plan.steps).expect("BUG: steps serialise"),
            counts: plan.counts(),
            requests: fetched.requests,
            team: plan.team.map(str::to_string),
            dry_run,
        }
    }

    fn print(
        &self,
        json: bool,
        stopped: Option<&SyncError>,
        registry_login: Option<&str>,
    ) -> anyhow::Result<()> {
        if json {
            #[derive(Serialize)]
            struct Out<'a> {
                team: Option<&'a str>,
                dry_run: bool,
                steps: &'a serde_json::Value,
                counts: Counts,
                requests: Requests,
                registry_login: Option<&'a str>,
                error: Option<Failed>,
            }
            let out = Out {
                team: self.team.as_deref(),
                dry_run: self.dry_run,
                steps: &self.json,
                counts: self.counts,
                requests: self.requests,
                registry_login,
                error: stopped.map(|e| Failed {
                    kind: e.kind(),
                    message: e.to_string(),
                    exit_code: e.exit_code(),
                }),
            };
            let mut text = serde_json::to_string_pretty(&out).expect("BUG: the report serialises");
            text.push('\n');
            return Ok(output::raw(text.as_bytes())?);
        }
        let mut lines = self.lines.clone();
        if let (Some(user), false) = (registry_login, self.dry_run) {
            lines.push(format!(
                "saved the API token for {NORTHFLANK_REGISTRY} (user {user})"
            ));
        }
        let from = self
            .team
            .as_ref()
            .map_or("the account".to_string(), |t| format!("team {t}"));
        let dry = if self.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        };
        lines.push(format!(
            "sync from {from}: {} ({} requests){dry}",
            self.counts,
            self.requests.total()
        ));
        Ok(output::lines(&lines)?)
    }
}
