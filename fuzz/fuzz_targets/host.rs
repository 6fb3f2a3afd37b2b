//! Host normalisation never panics, keys are fixed points, and no accepted key smuggles a
//! character that could split or redirect a host.
#![no_main]

use docker_credential_northflank::host::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(key) = normalize(s) {
        assert_eq!(normalize(key.as_str()).as_ref(), Ok(&key));
        assert!(!key.as_str().contains(['@', '\n', '\r', '\0', ' ', '%', '\\']), "{key}");
        assert!(key.as_str().is_ascii());
    }
});
