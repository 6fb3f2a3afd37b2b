//! Google Container Registry keyfiles: check that a file is a service-account key before it is
//! saved, so a wrong download fails here with a precise message instead of as a `denied` on the
//! next pull.
//!
//! GCR takes the whole key as the password with the user name `_json_key`. The key holds a
//! private key, so no message here ever quotes the file beyond the short, public `type` and
//! `client_email` values.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The user name GCR expects with a JSON key.
pub const JSON_KEY_USER: &str = "_json_key";

/// Keyfiles are a few KiB; anything much larger is not one.
const MAX_KEYFILE: u64 = 1024 * 1024;

/// A checked service-account key: the text to store as the secret, and who it belongs to.
#[derive(Debug)]
pub struct Keyfile {
    pub secret: Secret,
    pub client_email: String,
}

/// Reads and checks a keyfile named on the command line.
pub fn read(path: &Path) -> Result<Keyfile> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::BadInput(format!("cannot read keyfile {shown}: {e}")))?;
    let mut text = String::new();
    file.take(MAX_KEYFILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::BadInput(format!("cannot read keyfile {shown}: {e}")))?;
    if text.len() as u64 > MAX_KEYFILE {
        return Err(Error::BadInput(format!(
            "keyfile {shown} is larger than 1 MiB, so it is not a service-account key: \
             download a JSON key for the service account from the Google Cloud console"
        )));
    }
    check(&text).map_err(|why| Error::BadInput(format!("keyfile {shown} {why}")))
}

/// Checks keyfile text. The error completes the sentence "keyfile X …" and says what to do.
pub fn check(text: &str) -> std::result::Result<Keyfile, String> {
    const FIX: &str = "download a JSON key for the service account (IAM > Service accounts > Keys) \
                       and pass that file";
    // serde_json's syntax errors name a position, never the content.
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("is not valid JSON ({e}): {FIX}"))?;
    let Value::Object(map) = value else {
        return Err(format!("is JSON but not an object: {FIX}"));
    };
    let field = |name: &str| -> std::result::Result<&str, String> {
        match map.get(name) {
            None => Err(format!(
                "has no {name:?} field, so it is not a service-account key: {FIX}"
            )),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) => Err(format!("has an empty {name:?} field: {FIX}")),
            Some(_) => Err(format!("has a {name:?} field that is not a string: {FIX}")),
        }
    };
    let kind = field("type")?;
    if kind != "service_account" {
        let shown: String = kind.chars().take(40).collect();
        return Err(format!(
            "has \"type\" {shown:?}, expected \"service_account\" (user credentials from \
             `gcloud auth` do not work with GCR): {FIX}"
        ));
    }
    let email = field("client_email")?;
    if !email.contains('@') {
        return Err(format!(
            "has a \"client_email\" that is not an email address: {FIX}"
        ));
    }
    let key = field("private_key")?;
    if !key.contains("PRIVATE KEY-----") {
        return Err(format!(
            "has a \"private_key\" that is not a PEM private key: {FIX}"
        ));
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(Keyfile {
        client_email: email.to_string(),
        secret: Secret::new(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIEsecret\\n-----END PRIVATE KEY-----\\n";

    fn key(fields: &str) -> String {
        format!("{{{fields}}}")
    }

    #[test]
    fn accepts_a_service_account_key() {
        let text = key(&format!(
            r#""type":"service_account","project_id":"p","client_email":"ci@p.iam.gserviceaccount.com","private_key":"{PEM}""#
        ));
        let k = check(&format!("{text}\n")).unwrap();
        assert_eq!(k.client_email, "ci@p.iam.gserviceaccount.com");
        assert_eq!(k.secret.expose(), text);
    }

    #[test]
    fn says_which_field_is_wrong_without_quoting_the_key() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "not an object"),
            (
                &key(r#""client_email":"a@b","private_key":"x""#),
                "no \"type\" field",
            ),
            (
                &key(r#""type":"authorized_user","client_email":"a@b""#),
                "\"authorized_user\", expected \"service_account\"",
            ),
            (
                &key(r#""type":"service_account","private_key":"MIIEsecret""#),
                "no \"client_email\"",
            ),
            (
                &key(r#""type":"service_account","client_email":7"#),
                "\"client_email\" field that is not a string",
            ),
            (
                &key(r#""type":"service_account","client_email":"a@b""#),
                "no \"private_key\"",
            ),
            (
                &key(r#""type":"service_account","client_email":"a@b","private_key":"MIIEsecret""#),
                "\"private_key\" that is not a PEM",
            ),
        ];
        for (text, want) in cases {
            let err = check(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("MIIEsecret"), "{err}");
        }
    }
}
