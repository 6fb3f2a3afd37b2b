//! Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 over plain http, with htpasswd
//! (bcrypt) users: e.g. [`Registry::for_ecr_token`], a registry that accepts only user `AWS`
//! with the token a (fake) ECR issued — what `docker pull` meets at a real ECR registry.
//!
//! Docker treats 127.0.0.0/8 as an insecure registry by default, also under a name that
//! resolves there (an `/etc/hosts` line for `ACCOUNT.dkr.ecr.REGION.amazonaws.com`), so
//! `docker pull NAME:PORT/repo` reaches it over http.

use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The programs [`Registry::start`] runs.
pub const PROGRAMS: &[&str] = &["docker-registry", "htpasswd"];

/// A running registry; stopped (and its storage removed) when dropped.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// A registry whose only user is `AWS` with password `token`. bcrypt reads only the first
    /// 72 bytes of a password, so a longer token (real ones are ~2 KiB) would not be checked
    /// in full: configure the fake ECR with a short one.
    pub fn for_ecr_token(test: &str, token: &str) -> Option<Registry> {
        assert!(
            token.len() <= 72,
            "bcrypt checks 72 bytes only: give a token of at most 72 bytes"
        );
        Registry::start(test, &[("AWS", token)])
    }

    /// A registry with these htpasswd users. `None` (after a loud SKIPPED line, or a failure
    /// under `CI=true`) when a program is missing.
    pub fn start(test: &str, users: &[(&str, &str)]) -> Option<Registry> {
        if !super::have_programs(test, PROGRAMS) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut htpasswd = Vec::new();
        for (user, password) in users {
            // -i: the password from stdin, never on a command line.
            let mut child = Command::new("htpasswd")
                .args(["-niB", user])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn htpasswd");
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(password.as_bytes())
                .expect("password to htpasswd");
            let out = child.wait_with_output().expect("htpasswd");
            assert!(out.status.success(), "htpasswd: {:?}", out);
            htpasswd.extend_from_slice(&out.stdout);
        }
        let htpasswd_path = dir.path().join("htpasswd");
        std::fs::write(&htpasswd_path, htpasswd).expect("write htpasswd");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir data");
        let port = super::free_port();
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: test-only-http-secret\n\
             auth:\n  htpasswd:\n    realm: test-realm\n    path: {htpasswd}\n",
            data = data.display(),
            htpasswd = htpasswd_path.display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            // distribution reads REGISTRY_* variables as config overrides.
            .env_remove("REGISTRY_AUTH_FILE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let mut reg = Registry { child, port, dir };
        reg.wait_listening();
        Some(reg)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits until the port accepts connections; 30 s only bounds a stuck start.
    fn wait_listening(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("registry.log"))
                    .unwrap_or_default();
                panic!("docker-registry exited with {status}: {log}");
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "docker-registry did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
