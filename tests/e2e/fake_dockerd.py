#!/usr/bin/env python3
"""A tiny stand-in Docker Engine API on a unix socket, for the Docker Hub cases.

There is no network here, so the real engine cannot log in to Docker Hub.  This
fake answers just enough of the Engine API for the docker CLI to finish
`docker login` (POST /auth) and `docker pull` (POST /images/create), and
records what the CLI sent: the /auth body and the X-Registry-Auth header, i.e.
the credential the CLI resolved through the helper.  It records into
RECORD_FILE as JSON lines; it never prints what it records.

usage: fake_dockerd.py SOCKET RECORD_FILE [IDENTITY_TOKEN]
"""
import base64, json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler

SOCK, RECORD = sys.argv[1], sys.argv[2]
TOKEN = sys.argv[3] if len(sys.argv) > 3 else ""

def record(obj):
    with open(RECORD, "a") as f:
        f.write(json.dumps(obj) + "\n")

def b64json(value):
    if not value:
        return None
    value += "=" * (-len(value) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(value))
    except Exception:
        return {"undecodable": True}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Api-Version", "1.41")
        self.send_header("Ostype", "linux")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def path_only(self):
        p = self.path.split("?")[0]
        parts = p.split("/")
        if len(parts) > 1 and parts[1].startswith("v1."):
            p = "/" + "/".join(parts[2:])
        return p

    def do_HEAD(self):
        self.send(200, "OK", "text/plain")

    def do_GET(self):
        p = self.path_only()
        if p == "/_ping":
            return self.send(200, "OK", "text/plain")
        if p == "/version":
            return self.send(200, json.dumps({"Version": "20.10.0-fake", "ApiVersion": "1.41",
                                              "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"}))
        if p == "/info":
            return self.send(200, json.dumps({"IndexServerAddress": "https://index.docker.io/v1/"}))
        self.send(404, json.dumps({"message": "fake dockerd: no " + p}))

    def do_POST(self):
        p = self.path_only()
        body = self.body()
        if p == "/auth":
            try:
                req = json.loads(body or b"{}")
            except Exception:
                req = {}
            record({"op": "auth", "request": req})
            return self.send(200, json.dumps({"Status": "Login Succeeded", "IdentityToken": TOKEN}))
        if p == "/images/create":
            record({"op": "pull", "query": self.path.split("?", 1)[-1],
                    "x_registry_auth": b64json(self.headers.get("X-Registry-Auth", ""))})
            return self.send(200, json.dumps({"status": "fake pull done"}) + "\n")
        record({"op": "other", "path": self.path})
        self.send(404, json.dumps({"message": "fake dockerd: no " + p}))

class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        req, _ = super().get_request()
        return req, ("fake", 0)

if os.path.exists(SOCK):
    os.unlink(SOCK)
S(SOCK, H).serve_forever()
