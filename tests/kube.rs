//! Kubernetes paths through the binary: `export`, `kubelet` and `kubelet-config` serve exactly
//! what `get` serves to the project.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

fn setup() -> Helper {
    let h = Helper::new();
    h.add("shared-ghcr", "github", None, "everyone", "t-shared", &[]);
    h.add("prod-ghcr", "github", None, "prod-bot", "t-prod", &["prod"]);
    h.add(
        "prod-hub",
        "dockerhub",
        None,
        "hubprod",
        "t-hub",
        &["prod", "stage"],
    );
    h.add(
        "dev-reg",
        "custom",
        Some("reg.example.com:5000"),
        "dev",
        "t-dev",
        &["dev"],
    );
    h
}

fn export(h: &Helper, args: &[&str]) -> (String, String) {
    let out = h.run(args, b"");
    assert_ok(&out, "export");
    (stdout(&out), stderr(&out))
}

#[test]
fn export_per_project_matches_get() {
    let h = setup();
    let cases = [
        (
            "prod",
            json!({"ghcr.io": ["prod-bot", "t-prod"], "https://index.docker.io/v1/": ["hubprod", "t-hub"]}),
        ),
        (
            "stage",
            json!({"ghcr.io": ["everyone", "t-shared"], "https://index.docker.io/v1/": ["hubprod", "t-hub"]}),
        ),
        (
            "dev",
            json!({"ghcr.io": ["everyone", "t-shared"], "reg.example.com:5000": ["dev", "t-dev"]}),
        ),
        ("other", json!({"ghcr.io": ["everyone", "t-shared"]})),
    ];
    for (project, want) in cases {
        let (text, warning) = export(&h, &["export", "--project", project]);
        assert_contains(&warning, "contains the registry secrets");
        let v: Value = serde_json::from_str(&text).unwrap();
        let auths = v["auths"].as_object().unwrap();
        assert_eq!(
            auths.len(),
            want.as_object().unwrap().len(),
            "{project}: {text}"
        );
        for (key, pair) in want.as_object().unwrap() {
            let (user, secret) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(auths[key]["username"], user);
            assert_eq!(auths[key]["password"], secret);
            let auth = base64::engine::general_purpose::STANDARD
                .decode(auths[key]["auth"].as_str().unwrap())
                .unwrap();
            assert_eq!(auth, format!("{user}:{secret}").as_bytes());
            // Same answer as the protocol gives that project.
            h.assert_serves(key, Some(project), user, secret);
        }
    }
}

#[test]
fn export_kubernetes_secret_to_a_private_file() {
    let h = setup();
    let file = h.dir.path().join("secret.json");
    std::fs::write(&file, "old").unwrap();
    let mut args = vec![
        "export",
        "--project",
        "dev",
        "--format",
        "kubernetes-secret",
        "--name",
        "pull-creds",
        "--namespace",
        "ci",
        "--json",
        "-o",
    ];
    let out = h.run(&args, b"");
    assert_eq!(out.status.code(), Some(1), "-o needs a value");
    let path = file.to_str().unwrap();
    args.push(path);
    let (stdout_text, _) = export(&h, &args);
    assert!(stdout_text.is_empty());
    assert_eq!(mode(&file), 0o600);
    let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["kind"], "Secret");
    assert_eq!(v["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(v["metadata"]["name"], "pull-creds");
    assert_eq!(v["metadata"]["namespace"], "ci");
    let inner = base64::engine::general_purpose::STANDARD
        .decode(v["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    let inner: Value = serde_json::from_slice(&inner).unwrap();
    assert_eq!(inner["auths"]["reg.example.com:5000"]["password"], "t-dev");
    assert_eq!(inner["auths"].as_object().unwrap().len(), 2);
}

fn kubelet(h: &Helper, image: &str, project: Option<&str>) -> Value {
    let req = format!(
        r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"{image}"}}"#
    );
    let out = h.run_env(&["kubelet"], req.as_bytes(), &project_env(project));
    assert_ok(&out, "kubelet");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn kubelet_plugin_serves_the_projects_credentials() {
    let h = setup();
    let v = kubelet(&h, "ghcr.io/org/app:1", Some("prod"));
    assert_eq!(v["kind"], "CredentialProviderResponse");
    assert_eq!(v["cacheKeyType"], "Registry");
    assert_eq!(
        v["auth"]["ghcr.io"],
        json!({"username": "prod-bot", "password": "t-prod"})
    );
    assert_eq!(
        kubelet(&h, "ghcr.io/org/app:1", None)["auth"]["ghcr.io"]["username"],
        "everyone"
    );
    assert_eq!(
        kubelet(&h, "nginx", Some("stage"))["auth"]["docker.io"]["password"],
        "t-hub"
    );
    assert_eq!(
        kubelet(&h, "docker.io/library/nginx", Some("prod"))["auth"]["docker.io"]["username"],
        "hubprod"
    );
    assert_eq!(kubelet(&h, "nginx", None)["auth"], json!({}));
    assert_eq!(
        kubelet(
            &h,
            "reg.example.com:5000/a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            Some("dev")
        )["auth"]["reg.example.com:5000"]["username"],
        "dev"
    );
    assert_eq!(
        kubelet(&h, "reg.example.com:5000/a", Some("prod"))["auth"],
        json!({})
    );
    let bad = h.run(&["kubelet"], br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v9","kind":"CredentialProviderRequest","image":"x"}"#);
    assert_eq!(bad.status.code(), Some(1));
    assert_contains(&stderr(&bad), "unsupported apiVersion");
    assert!(bad.stdout.is_empty());
    let huge = vec![b' '; 2 << 20];
    let bad = h.run(&["kubelet"], &huge);
    assert_eq!(bad.status.code(), Some(1));
    assert_contains(
        &stderr(&bad),
        "the kubelet request on stdin is larger than 1 MiB",
    );
    assert!(bad.stdout.is_empty());
}

#[test]
fn kubelet_config_lists_the_projects_hosts() {
    let h = setup();
    let out = h.run(&["kubelet-config", "--project", "dev"], b"");
    assert_ok(&out, "kubelet-config");
    let text = stdout(&out);
    assert_contains(&text, "kind: CredentialProviderConfig");
    assert!(
        text.contains("- \"ghcr.io\"") && text.contains("- \"reg.example.com:5000\""),
        "{text}"
    );
    assert!(
        !text.contains("docker.io"),
        "dev sees no Hub credential: {text}"
    );
    assert_contains(&text, "value: \"dev\"");
    assert!(!text.contains("t-dev"), "no secret in the config");
}
