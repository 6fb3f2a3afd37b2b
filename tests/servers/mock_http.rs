//! Small servers of our own on 127.0.0.1 for what a real registry cannot be made to do: a
//! scripted HTTP/1.1 server ([`Mock`]: one request per connection, each answered by a closure
//! and recorded) and one that accepts connections and never answers ([`Silent`]).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Query parameters, percent-decoded.
    pub fn query(&self, name: &str) -> Vec<String> {
        let Some((_, q)) = self.target.split_once('?') else {
            return vec![];
        };
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }

    /// The fields of an `application/x-www-form-urlencoded` body, decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An answer: status, headers (sent as given, after which the server adds `Content-Length`
/// and `Connection: close`) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

type Handler = Box<dyn Fn(&Req) -> Reply + Send + Sync>;

/// A plain-HTTP server answering each request with its handler; stopped when dropped.
pub struct Mock {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Req>>>,
    thread: Option<JoinHandle<()>>,
}

impl Mock {
    /// A server that hangs up on a TLS ClientHello, as a plain-HTTP server fails it.
    pub fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        Mock::serve(false, handler)
    }

    /// A plain-HTTP server that answers a TLS ClientHello with `400 Bad Request`, as Go's and
    /// Python's do (so the https attempt sees "not TLS" rather than a closed connection).
    pub fn start_http_only(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        Mock::serve(true, handler)
    }

    fn serve(answer_tls: bool, handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        let handler: Handler = Box::new(handler);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(req) = read_request(&mut conn, answer_tls) else {
                    continue;
                };
                requests2.lock().expect("lock").push(req.clone());
                let r = handler(&req);
                let mut head = format!("HTTP/1.1 {} Status\r\n", r.status);
                for (n, v) in &r.headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    r.body.len()
                ));
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&r.body);
                let _ = conn.flush();
            }
        });
        Mock {
            port,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        stop_accepting(&self.stop, self.port, self.thread.take());
    }
}

/// Ends an accept loop: sets `stop`, wakes `accept()` with a connection, joins the thread.
fn stop_accepting(stop: &AtomicBool, port: u16, thread: Option<JoinHandle<()>>) {
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
    if let Some(t) = thread {
        let _ = t.join();
    }
}

fn read_request(conn: &mut TcpStream, answer_tls: bool) -> Option<Req> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        if buf.is_empty() && byte[0] == 0x16 {
            if answer_tls {
                // What Go's and Python's servers do with a ClientHello.
                let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            }
            return None; // a TLS handshake: a plain-HTTP server fails it
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
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}

/// Accepts connections and holds them open without a word, until dropped.
pub struct Silent {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                held.push(conn);
            }
        });
        Silent {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        stop_accepting(&self.stop, self.port, self.thread.take());
    }
}
