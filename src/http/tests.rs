//! The transport against tiny HTTP/1.1 servers of our own on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::*;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Box<dyn Fn(&Seen) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync>;

/// One request per connection; records what it saw.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(
        handler: impl Fn(&Seen) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync + 'static,
    ) -> Server {
        let handler: Handler = Box::new(handler);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(req) = read_request(&mut conn) else {
                    continue;
                };
                seen2.lock().unwrap().push(req.clone());
                let (status, headers, body) = handler(&req);
                let mut head = format!("HTTP/1.1 {status} X\r\n");
                for (n, v) in headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                ));
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        Server {
            port,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        if buf.is_empty() && byte[0] == 0x16 {
            return None; // a TLS handshake: hang up, as a plain-HTTP server fails it
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

fn answer(
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let headers = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    (status, headers, body.as_bytes().to_vec())
}

fn client() -> Client {
    Client::new(&Options {
        trust: Trust::mozilla_only(),
        ..Options::default()
    })
    .unwrap()
}

const SECRET: &str = "Bearer s3cret-token";

#[test]
fn statuses_are_values_and_headers_are_lower_case() {
    let server = Server::start(|req| match req.target.as_str() {
        "/ok" => answer(200, &[("X-Thing", "a"), ("X-Thing", "b")], "hello"),
        _ => answer(503, &[], "down"),
    });
    let c = client();
    let resp = c.send(&Request::get(&server.url("/ok"))).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello");
    assert_eq!(resp.header("x-thing"), Some("a"));
    assert_eq!(resp.header("X-THING"), Some("a"));
    assert_eq!(resp.header_all("x-thing").collect::<Vec<_>>(), ["a", "b"]);
    assert!(
        resp.headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase())
    );
    assert!(!resp.redirected_across_origin);
    let resp = c.send(&Request::get(&server.url("/down"))).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (503, &b"down"[..]));
}

#[test]
fn post_sends_body_headers_and_auth() {
    let server = Server::start(|_| answer(201, &[], "{}"));
    let secret = Secret::new(SECRET);
    let resp = client()
        .send(&Request {
            method: Method::Post,
            url: &server.url("/token?x=1"),
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            auth: Some(&secret),
            body: Some(b"a=1&b=2"),
            max_body: 100,
        })
        .unwrap();
    assert_eq!(resp.status, 201);
    let seen = &server.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/token?x=1")
    );
    assert_eq!(seen.body, b"a=1&b=2");
    assert_eq!(seen.header("authorization"), Some(SECRET));
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[test]
fn credentials_stay_with_their_origin() {
    let elsewhere = Server::start(|_| answer(200, &[], "not yours"));
    let target = elsewhere.url("/landing");
    let origin = Server::start(move |req| match req.target.as_str() {
        "/start" => answer(302, &[("Location", "/moved?q=1")], ""),
        "/moved?q=1" => answer(307, &[("Location", &target)], ""),
        _ => answer(404, &[], ""),
    });
    let secret = Secret::new(SECRET);
    let start = origin.url("/start");
    let req = Request {
        auth: Some(&secret),
        ..Request::get(&start)
    };
    let resp = client().send(&req).unwrap();
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, &b"not yours"[..])
    );
    assert!(resp.redirected_across_origin);
    let here = origin.seen();
    assert_eq!(here.len(), 2);
    assert!(
        here.iter()
            .all(|r| r.header("authorization") == Some(SECRET))
    );
    let there = elsewhere.seen();
    assert_eq!(there.len(), 1);
    assert_eq!(
        there[0].header("authorization"),
        None,
        "another port is another origin"
    );

    // Back on the first origin after a detour: the credentials come back, the flag stays.
    let back = origin.url("/start");
    let detour = Server::start(move |_| answer(301, &[("Location", &back)], ""));
    let first = detour.url("/");
    let resp = client()
        .send(&Request {
            auth: Some(&secret),
            ..Request::get(&first)
        })
        .unwrap();
    assert!(resp.redirected_across_origin);
    assert_eq!(detour.seen()[0].header("authorization"), Some(SECRET));
}

#[test]
fn redirects_change_the_method_as_browsers_do() {
    let server = Server::start(|req| match req.target.as_str() {
        "/303" => answer(303, &[("Location", "/done")], ""),
        "/307" => answer(307, &[("Location", "/done")], ""),
        _ => answer(200, &[], ""),
    });
    for (path, method, body) in [("/303", "GET", &b""[..]), ("/307", "POST", &b"x=1"[..])] {
        let url = server.url(path);
        let req = Request {
            method: Method::Post,
            body: Some(b"x=1"),
            ..Request::get(&url)
        };
        assert_eq!(client().send(&req).unwrap().status, 200);
        let last = server.seen().pop().unwrap();
        assert_eq!(
            (last.method.as_str(), last.body.as_slice()),
            (method, body),
            "{path}"
        );
    }
}

#[test]
fn redirects_are_bounded_or_refused() {
    let server = Server::start(|_| answer(302, &[("Location", "/again")], ""));
    let c = Client::new(&Options {
        redirects: Redirects::Follow { max: 2 },
        trust: Trust::mozilla_only(),
        ..Options::default()
    })
    .unwrap();
    let resp = c.send(&Request::get(&server.url("/"))).unwrap();
    assert_eq!(resp.status, 302, "the last redirect is the answer");
    assert_eq!(server.seen().len(), 3);
    let c = Client::new(&Options {
        redirects: Redirects::Refuse,
        trust: Trust::mozilla_only(),
        ..Options::default()
    })
    .unwrap();
    let resp = c.send(&Request::get(&server.url("/"))).unwrap();
    assert_eq!(resp.status, 302);
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn plain_http_elsewhere_is_refused_before_connecting() {
    // `.invalid` never resolves: PlainHttp rather than HostNotFound shows no lookup happened.
    let err = client()
        .send(&Request::get("http://registry.invalid/v2/?token=s3cret"))
        .unwrap_err();
    assert_eq!(err, Error::PlainHttp("http://registry.invalid".into()));
    // Also on a redirect hop, from a loopback server.
    let server = Server::start(|_| answer(302, &[("Location", "http://registry.invalid/x")], ""));
    let err = client().send(&Request::get(&server.url("/"))).unwrap_err();
    assert_eq!(err, Error::PlainHttp("http://registry.invalid".into()));
    // With AllowHttp::Any the request goes out (and fails at DNS).
    let any = Client::new(&Options {
        allow_http: AllowHttp::Any,
        trust: Trust::mozilla_only(),
        ..Options::default()
    })
    .unwrap();
    let err = any
        .send(&Request::get("http://registry.invalid/"))
        .unwrap_err();
    assert!(
        matches!(err, Error::HostNotFound(_) | Error::Other(_)),
        "{err:?}"
    );
}

#[test]
fn bodies_are_bounded() {
    let server = Server::start(|_| answer(200, &[], &"x".repeat(1000)));
    let url = server.url("/");
    let req = Request {
        max_body: 999,
        ..Request::get(&url)
    };
    assert_eq!(client().send(&req).unwrap_err(), Error::BodyTooLarge(999));
    let req = Request {
        max_body: 1000,
        ..Request::get(&url)
    };
    assert_eq!(client().send(&req).unwrap().body.len(), 1000);
}

#[test]
fn silence_is_a_timeout_and_a_closed_port_is_refused() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || listener.accept().map(|(c, _)| c));
    let c = Client::new(&Options {
        timeout: Duration::from_millis(300),
        trust: Trust::mozilla_only(),
        ..Options::default()
    })
    .unwrap();
    let err = c
        .send(&Request::get(&format!("http://127.0.0.1:{port}/")))
        .unwrap_err();
    assert_eq!(err, Error::Timeout);
    drop(holder.join());

    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = client()
        .send(&Request::get(&format!("http://127.0.0.1:{port}/")))
        .unwrap_err();
    assert_eq!(err, Error::Refused);
}

#[test]
fn https_to_a_plain_http_port_is_a_tls_error() {
    let server = Server::start(|_| answer(200, &[], ""));
    let err = client()
        .send(&Request::get(&format!(
            "https://127.0.0.1:{}/",
            server.port
        )))
        .unwrap_err();
    assert!(
        matches!(err, Error::Tls { .. } | Error::Closed(_)),
        "{err:?}"
    );
}

#[test]
fn errors_never_show_user_info_query_or_header_values() {
    let secret = Secret::new(SECRET);
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let urls = [
        "https://alice:pw-in-url@127.0.0.1/".to_string(),
        format!("http://127.0.0.1:{port}/v2/?access_token=pw-in-url"),
        "http://registry.invalid/?pw-in-url".to_string(),
        "ftp://pw-in-url/".to_string(),
    ];
    for url in &urls {
        let req = Request {
            auth: Some(&secret),
            headers: &[("X-Api-Key", "pw-in-header")],
            ..Request::get(url)
        };
        let err = client().send(&req).unwrap_err();
        let text = format!("{err} {err:?}");
        for leak in ["pw-in-url", "pw-in-header", "s3cret", "alice"] {
            assert!(!text.contains(leak), "{url}: {text}");
        }
    }
    // A header value ureq refuses (CR/LF) is refused without quoting it.
    let server = Server::start(|_| answer(200, &[], ""));
    let url = server.url("/");
    let err = client()
        .send(&Request {
            headers: &[("X-Bad", "pw-in-header\r\nX-Injected: 1")],
            ..Request::get(&url)
        })
        .unwrap_err();
    assert!(!err.to_string().contains("pw-in-header"), "{err}");
    assert!(server.seen().is_empty());
}

#[test]
fn zero_timeout_is_refused() {
    let err = Client::new(&Options {
        timeout: Duration::ZERO,
        ..Options::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::Other(_)));
}
