//! ECR's answers, as its JSON 1.1 protocol writes them, turned into tokens and one-line errors.
//! The same code against real HTTP is in `tests/ecr.rs`.

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const NOW: i64 = 1_732_000_000;
const NOT_FOUND: &str = "credentials not found in native keychain";

fn endpoint(source: Source) -> Endpoint {
    Endpoint::parse("https://api.ecr.us-east-1.amazonaws.com", source).expect("endpoint")
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Token, ExchangeError> {
    answer_from(Source::Region, status, headers, body)
}

fn answer_from(
    source: Source,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Token, ExchangeError> {
    let endpoint = endpoint(source);
    let call = Call {
        registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        endpoint: &endpoint,
        key_id: KEY_ID,
        hidden: [SECRET, SIGNATURE],
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    interpret(status, &headers, body.as_bytes(), &call, NOW)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn success(token_text: &str, expires: &str) -> String {
    format!(
        r#"{{"authorizationData":[{{"authorizationToken":"{}","expiresAt":{expires},"proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}}]}}"#,
        b64(token_text)
    )
}

/// Every message: one line, no secret, no signature, not the not-found line.
fn check_line(e: &ExchangeError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(!text.contains(SECRET), "secret in: {text}");
    assert!(!text.contains(SIGNATURE), "signature in: {text}");
    assert!(!text.contains(NOT_FOUND), "not-found line: {text}");
    let debug = format!("{e:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains(SIGNATURE),
        "{debug}"
    );
    text
}

#[test]
fn a_token_as_ecr_sends_it() {
    // ECR writes expiresAt as Java prints a double: 1.732043200123E9.
    let body = success("AWS:eyJwYXlsb2FkIjoi+/=", "1.732043200123E9");
    let token = answer(200, &[("Content-Type", CONTENT_TYPE)], &body).expect("token");
    assert_eq!(token.token.expose(), "eyJwYXlsb2FkIjoi+/=");
    assert_eq!(token.expires_at, 1_732_043_200);
    assert!(!format!("{token:?}").contains("eyJw"));
    let plain = answer(200, &[], &success("AWS:t", "1732043200")).expect("integer expiry");
    assert_eq!(plain.expires_at, 1_732_043_200);
}

#[test]
fn answers_that_are_not_tokens_are_malformed() {
    let cases = [
        ("<html>hello</html>".to_string(), "not JSON"),
        ("{}".into(), "no authorizationData"),
        (r#"{"authorizationData":[]}"#.into(), "no authorizationData"),
        (
            r#"{"authorizationData":[{"expiresAt":1.8E9}]}"#.into(),
            "no authorizationToken",
        ),
        (
            r#"{"authorizationData":[{"authorizationToken":"%%%","expiresAt":1.8E9}]}"#.into(),
            "not base64",
        ),
        (success("bob:token", "1.8E9"), "not AWS:<token>"),
        (success("AWS:", "1.8E9"), "not AWS:<token>"),
        (success("AWS:a\nb", "1.8E9"), "not AWS:<token>"),
        (success("AWS:t", "\"soon\""), "expiresAt"),
        (success("AWS:t", "-1"), "expiresAt"),
        (success("AWS:t", "1.0E300"), "expiresAt"),
        (success("AWS:t", &NOW.to_string()), "expired already"),
    ];
    for (body, want) in cases {
        let err = answer(200, &[], &body).expect_err(&body);
        let text = check_line(&err);
        assert!(
            matches!(err, ExchangeError::Malformed { .. }),
            "{body}: {err:?}"
        );
        assert!(text.contains(want), "{body}: {text}");
        assert!(text.contains("try again"), "{text}");
    }
    let via = answer_from(Source::Variable("AWS_ENDPOINT_URL_ECR"), 200, &[], "nope");
    let text = check_line(&via.expect_err("malformed"));
    assert!(
        text.contains("check that AWS_ENDPOINT_URL_ECR points at Amazon ECR"),
        "{text}"
    );
}

fn rejected(status: u16, body: &str) -> (Rejection, String) {
    let err = answer(status, &[("x-amzn-RequestId", "req-1")], body).expect_err(body);
    let text = check_line(&err);
    match err {
        ExchangeError::Rejected { reason, .. } => (reason, text),
        other => panic!("{body}: not rejected: {other:?}"),
    }
}

#[test]
fn rejected_keys_say_what_to_do() {
    let (r, text) = rejected(
        400,
        r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#,
    );
    assert_eq!(r, Rejection::UnknownKey);
    assert!(
        text.contains(KEY_ID) && text.contains("create an access key"),
        "{text}"
    );

    // AWS's mismatch text carries the canonical request over many lines: left out.
    let (r, text) = rejected(
        400,
        r#"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n'POST\n/\n'"}"#,
    );
    assert_eq!(r, Rejection::WrongSecret);
    assert!(
        text.contains("secret access key") && !text.contains("Canonical"),
        "{text}"
    );

    let (r, text) = rejected(
        400,
        r#"{"__type":"InvalidSignatureException","message":"Signature expired: 20240101T000000Z is now earlier than 20240101T113000Z (20240101T114500Z - 15 min.)"}"#,
    );
    assert_eq!(r, Rejection::Clock);
    assert!(
        text.contains("clock") && text.contains("20240101T000000Z"),
        "{text}"
    );

    let (r, text) = rejected(
        400,
        r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: *"}"#,
    );
    assert_eq!(r, Rejection::NotAllowed);
    assert!(text.contains("arn:aws:iam::123456789012:user/ci"), "{text}");
    assert!(
        text.contains("AmazonEC2ContainerRegistryReadOnly"),
        "{text}"
    );

    let (r, text) = rejected(
        400,
        r#"{"__type":"InvalidSignatureException","message":"Credential should be scoped to a valid region, not 'eu-west-1'. "}"#,
    );
    assert_eq!(r, Rejection::Scope);
    assert!(
        text.contains("not 'eu-west-1'") && text.contains("AWS_ENDPOINT_URL_ECR"),
        "{text}"
    );

    let (r, text) = rejected(403, r#"{"__type":"MissingAuthenticationTokenException"}"#);
    assert_eq!(r, Rejection::Other);
    assert!(
        text.contains("HTTP 403 MissingAuthenticationTokenException"),
        "{text}"
    );
}

#[test]
fn the_error_type_is_read_as_the_json_protocols_say() {
    let body = r#"{"__type":"com.amazonaws.ecr#UnrecognizedClientException","message":"x"}"#;
    assert_eq!(rejected(400, body).0, Rejection::UnknownKey);
    let header = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.service/";
    let err = answer(400, &[("X-Amzn-ErrorType", header)], "{}").expect_err("throttled");
    assert!(
        matches!(err, ExchangeError::Throttled { ref code, .. } if code == "ThrottlingException")
    );
    let err = answer(400, &[], r#"{"code":"AccessDeniedException"}"#).expect_err("denied");
    assert!(matches!(
        err,
        ExchangeError::Rejected {
            reason: Rejection::NotAllowed,
            ..
        }
    ));
}

#[test]
fn throttling_and_outages_are_transient() {
    for (status, body) in [
        (
            400,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        (429, ""),
    ] {
        let err = answer(status, &[], body).expect_err(body);
        let text = check_line(&err);
        assert!(matches!(err, ExchangeError::Throttled { .. }), "{err:?}");
        assert!(
            err.is_transient() && text.contains("try again in a few seconds"),
            "{text}"
        );
    }
    let err = answer(
        500,
        &[("x-amzn-RequestId", "0b8d33f4-236d")],
        r#"{"__type":"ServerException","message":"boom"}"#,
    )
    .expect_err("500");
    let text = check_line(&err);
    assert!(err.is_transient());
    assert!(
        text.contains("HTTP 500 (ServerException), request id 0b8d33f4-236d"),
        "{text}"
    );
    let err = answer(503, &[], "Service Unavailable").expect_err("503");
    assert!(check_line(&err).contains("HTTP 503:"), "{err}");
    assert!(
        !rejected(400, r#"{"__type":"UnrecognizedClientException"}"#)
            .1
            .is_empty()
    );
    let not_transient = answer(400, &[], r#"{"__type":"AccessDeniedException"}"#);
    assert!(!not_transient.expect_err("denied").is_transient());
}

#[test]
fn server_text_never_carries_a_secret_or_many_lines() {
    let echo = format!(
        r#"{{"__type":"AccessDeniedException","message":"you sent {SECRET} and Signature={SIGNATURE}\nline two {}"}}"#,
        "x".repeat(2000)
    );
    let (_, text) = rejected(400, &echo);
    assert!(
        text.contains("you sent … and Signature=… line two"),
        "{text}"
    );
    assert!(text.len() < 1000, "{}", text.len());
}

#[test]
fn an_answer_that_is_neither_success_nor_error_is_malformed() {
    let err = answer(302, &[("Location", "https://elsewhere")], "").expect_err("redirect");
    assert!(matches!(err, ExchangeError::Malformed { .. }), "{err:?}");
    check_line(&err);
}

#[test]
fn backoff_doubles_within_its_jitter() {
    for attempt in 0..3 {
        let full = BACKOFF * 2u32.pow(attempt);
        let b = backoff(attempt);
        assert!(b >= full / 2 && b <= full, "{attempt}: {b:?}");
    }
}
