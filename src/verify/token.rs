//! The token service's side of the handshake: the request for a token (docker's two ways) and
//! the token in its answer.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::http::Url;
use crate::secret::Secret;

/// What RFC 3986 and Go's `url.QueryEscape` leave as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// docker's `client_id` for the OAuth2 grant (`registry.AuthClientID`). Token services that
/// check it know docker's; it names no user and carries nothing secret.
const CLIENT_ID: &str = "docker";

fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The GET of the Basic-auth flow: `realm` with `service` and each `scope` added as query
/// parameters (distribution's `fetchTokenWithBasicAuth`). The realm's own query is kept. No
/// credential ever goes into this URL: they travel in the `Authorization` header.
pub(super) fn token_url(realm: &Url, service: Option<&str>, scopes: &[&str]) -> String {
    let mut params: Vec<String> = Vec::new();
    if let Some(service) = service {
        params.push(format!("service={}", encode(service)));
    }
    for scope in scopes {
        params.push(format!("scope={}", encode(scope)));
    }
    let mut url = realm.full();
    if !params.is_empty() {
        if !url.contains('?') {
            url.push('?');
        } else if !url.ends_with(['?', '&']) {
            url.push('&');
        }
        url.push_str(&params.join("&"));
    }
    url
}

/// The body of the OAuth2 refresh-token grant that `docker login` makes with an identity token
/// (distribution's `fetchTokenWithOAuth`): an `application/x-www-form-urlencoded` POST to the
/// realm, no `Authorization` header, fields in Go's order (sorted), `scope` the challenge's
/// scopes joined by spaces. It holds the token, so it is a [`Secret`].
pub(super) fn refresh_grant(identity_token: &Secret, service: &str, scopes: &[&str]) -> Secret {
    let form = |s: &str| encode(s).replace("%20", "+");
    Secret::new(format!(
        "client_id={}&grant_type=refresh_token&refresh_token={}&scope={}&service={}",
        form(CLIENT_ID),
        form(identity_token.expose()),
        form(&scopes.join(" ")),
        form(service),
    ))
}

/// `token` or `access_token` of a JSON answer (distribution accepts either; `access_token`
/// wins when both are set, as there). A token with a control character or space would break
/// the `Authorization` header, so it is refused.
pub(super) fn parse_token(body: &[u8]) -> Option<Secret> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["access_token", "token"].iter().find_map(|k| {
        v.get(k)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.bytes().all(|b| (0x21..0x7f).contains(&b)))
            .map(Secret::new)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_building() {
        let realm = Url::parse("https://auth.docker.io/token").unwrap();
        assert_eq!(
            token_url(&realm, Some("registry.docker.io"), &[]),
            "https://auth.docker.io/token?service=registry.docker.io"
        );
        assert_eq!(
            token_url(
                &realm,
                Some("a b&c=d"),
                &["registry:catalog:*", "repository:x/y:pull,push"]
            ),
            "https://auth.docker.io/token?service=a%20b%26c%3Dd&scope=registry%3Acatalog%3A%2A&scope=repository%3Ax%2Fy%3Apull%2Cpush"
        );
        assert_eq!(token_url(&realm, None, &[]), "https://auth.docker.io/token");
        let with_query = Url::parse("https://gitlab.example.com/jwt/auth?client=1").unwrap();
        assert_eq!(
            token_url(&with_query, Some("container_registry"), &[]),
            "https://gitlab.example.com/jwt/auth?client=1&service=container_registry"
        );
        let bare = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            token_url(&bare, Some("s"), &[]),
            "http://127.0.0.1:8080/?service=s"
        );
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn refresh_grant_is_docker_s_form() {
        let form = refresh_grant(
            &Secret::new("id tok/en+="),
            "registry.test",
            &["repository:a/b:pull", "registry:catalog:*"],
        );
        assert_eq!(
            form.expose(),
            "client_id=docker&grant_type=refresh_token&refresh_token=id+tok%2Fen%2B%3D\
             &scope=repository%3Aa%2Fb%3Apull+registry%3Acatalog%3A%2A&service=registry.test"
        );
        let bare = refresh_grant(&Secret::new("t"), "", &[]);
        assert_eq!(
            bare.expose(),
            "client_id=docker&grant_type=refresh_token&refresh_token=t&scope=&service="
        );
    }

    #[test]
    fn token_answers() {
        let t = |b: &[u8]| parse_token(b).map(|s| s.expose().to_string());
        assert_eq!(t(br#"{"token":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(
            t(br#"{"access_token":"xyz","expires_in":60}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            t(br#"{"token":"","access_token":"xyz"}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            t(br#"{"token":"a","access_token":"b"}"#).as_deref(),
            Some("b")
        );
        assert_eq!(t(br#"{"token":"a\nb"}"#), None, "no header injection");
        assert_eq!(t(br#"{"token":5}"#), None);
        assert_eq!(t(b"<html>"), None);
        assert_eq!(t(b""), None);
    }
}
