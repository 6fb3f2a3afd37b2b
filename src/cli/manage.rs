//! `ls`, `rm`, `restrict`, `rename`: looking at and changing what is saved.

use serde::Serialize;

use super::output;
use super::{check_project, check_projects};
use crate::credential::{Backend, Origin, now_rfc3339};
use crate::policy::{self, Restrictions};
use crate::store::{Saved, Store};

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Show what this project would be served: per registry, the credential `get` returns.
    #[arg(long, value_name = "ID")]
    project: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["projects", "unrestricted"])))]
pub struct RestrictArgs {
    /// The credential's name.
    name: String,
    /// Allow only this project (repeat for several).
    #[arg(long = "project", value_name = "ID")]
    projects: Vec<String>,
    /// Allow every project.
    #[arg(long)]
    unrestricted: bool,
}

/// A credential as `ls --json` shows it: everything but the secret.
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    provider: &'a str,
    registry: &'a str,
    username: &'a str,
    restricted: bool,
    projects: &'a [String],
    backend: Backend,
    created: &'a str,
    updated: &'a str,
    /// Where a synced credential came from; `null` for a local one.
    origin: Option<&'a Origin>,
}

pub fn ls(store: &Store, a: LsArgs) -> anyhow::Result<()> {
    let project = a.project.as_deref().map(check_project).transpose()?;
    let all = store.summaries()?;
    let mut rows: Vec<&Saved> = match project.as_deref() {
        // Exactly what `get` would serve to that project: one credential per registry.
        Some(p) => all
            .values()
            .filter_map(|creds| policy::select(creds, |c| &c.restrictions, Some(p)))
            .collect(),
        None => all.values().flatten().collect(),
    };
    rows.sort_by(|x, y| x.name.cmp(&y.name));
    if a.json {
        let listed: Vec<Listed> = rows
            .iter()
            .map(|c| Listed {
                id: &c.id,
                name: &c.name,
                description: &c.description,
                provider: c.provider.as_str(),
                registry: &c.registry,
                username: &c.username,
                restricted: c.restrictions.restricted,
                projects: &c.restrictions.projects,
                backend: c.backend(),
                created: &c.created,
                updated: &c.updated,
                origin: c.origin.as_ref(),
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&listed).expect("BUG: listing serialises");
        text.push('\n');
        return Ok(output::raw(text.as_bytes())?);
    }
    if rows.is_empty() {
        let scope = project
            .map(|p| format!(" visible to project {p}"))
            .unwrap_or_default();
        return Ok(output::line(&format!("no saved credentials{scope}"))?);
    }
    let header = [
        "NAME",
        "PROVIDER",
        "REGISTRY",
        "USERNAME",
        "RESTRICTED TO",
        "ORIGIN",
        "UPDATED",
    ];
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.provider.as_str().to_string(),
                c.registry.clone(),
                c.username.clone(),
                c.restrictions.describe(),
                origin(c.origin.as_ref()),
                c.updated.clone(),
            ]
            .map(|cell| output::printable(&cell).into_owned())
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: &[&str]| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        line.join("  ").trim_end().to_string()
    };
    let mut lines = vec![render(&header)];
    lines.extend(
        table
            .iter()
            .map(|row| render(&row.each_ref().map(String::as_str))),
    );
    Ok(output::lines(lines)?)
}

/// `-` for a credential saved here, `northflank` (or `northflank team T`) for a synced one.
fn origin(origin: Option<&Origin>) -> String {
    match origin {
        None => "-".to_string(),
        Some(Origin { team: None, .. }) => "northflank".to_string(),
        Some(Origin { team: Some(t), .. }) => format!("northflank team {t}"),
    }
}

pub fn rm(store: &Store, name: &str) -> anyhow::Result<()> {
    let removed = store.write(|tx| {
        let saved = tx.named(name)?;
        tx.remove(&saved.id)
    })?;
    output::done([format!("removed {name:?} ({})", removed.registry)]);
    Ok(())
}

pub fn restrict(store: &Store, a: RestrictArgs) -> anyhow::Result<()> {
    let restrictions = if a.unrestricted {
        Restrictions::unrestricted()
    } else {
        Restrictions::to_projects(check_projects(&a.projects)?)
    };
    let scope = restrictions.scope();
    store.write(|tx| {
        let saved = tx.named(&a.name)?;
        tx.update(&saved.id, |c| {
            c.restrictions = restrictions;
            c.updated = now_rfc3339();
            c.changed_locally();
        })
    })?;
    output::done([format!("{:?} is now available to {scope}", a.name)]);
    Ok(())
}

pub fn rename(store: &Store, old: &str, new: &str) -> anyhow::Result<()> {
    policy::check_name(new).map_err(anyhow::Error::msg)?;
    let registry = store.write(|tx| {
        let saved = tx.named(old)?;
        tx.update(&saved.id, |c| {
            c.name = new.to_string();
            c.updated = now_rfc3339();
            c.changed_locally();
        })?;
        Ok(saved.registry.clone())
    })?;
    output::done([format!("renamed {old:?} to {new:?} ({registry})")]);
    Ok(())
}
