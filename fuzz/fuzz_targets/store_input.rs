//! `store` input parsing never panics, and what it accepts re-encodes as valid JSON.
#![no_main]

use docker_credential_northflank::protocol::{encode_get, parse_store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = parse_store(data) {
        let out = encode_get(&c.server_url, &c.username, &c.secret);
        let v: serde_json::Value = serde_json::from_str(&out).expect("get answers valid JSON");
        assert_eq!(v["Secret"].as_str(), Some(c.secret.expose()));
    }
});
