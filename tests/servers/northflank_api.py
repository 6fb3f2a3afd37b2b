#!/usr/bin/env python3
"""A stand-in for Northflank's API v1, registry-credential endpoints only, for sync's tests.

It follows the documented API (../../../shared/reference/northflank-api.md, with sources):

  GET /v1/integrations/registries                    list, account scope
  GET /v1/teams/{teamId}/integrations/registries     list, team scope
  GET /v1/[teams/{teamId}/]integrations/registries/{credentialId}   get

- `Authorization: Bearer <token>`; a missing or unknown token is 401, a token without the
  permission is 403 (list: "Read", get: "Read Encrypted"), an unknown team or credential 404;
  error bodies are {"error":{"status","message"}}.
- Pagination: `per_page` (default 50, at most 100, more is 400), `cursor` (opaque, from the
  previous page) or `page` (1-based); answers carry
  {"pagination":{"hasNextPage","cursor","count"}} with `cursor` only when there is a next page.
- Rate limit: x-ratelimit-limit/remaining/reset on every answer (1000 an hour by default,
  the window starting at the first request); over the limit is 429.
- Two answer shapes per credential: "current" (list without secrets; get with
  credentials.{username,password,scope} and restrictions) and "older" (list and get with
  description and restrictions; get with auths {url: {auth: base64(user:password)}}).

Driven by a JSON fixture (reloaded when the file changes), which the test writes:

  {"tokens": {"TOKEN": {"read": true, "read_encrypted": true, "account": true, "teams": ["t1"]}},
   "rate_limit": {"limit": 1000, "window": 3600},
   "account": [CREDENTIAL, ...],
   "teams": {"t1": [CREDENTIAL, ...]},
   "faults": {"/v1/integrations/registries": [FAULT, ...]}}

  CREDENTIAL: {"id", "name", "provider", "registryUrl"?, "description"?, "integrationId"?,
               "username"?, "password"?, "restrictions"?, "createdAt"?, "updatedAt"?,
               "shape": "current" | "older", "omit": [field, ...],
               "list_item": {...} and/or "get_data": {...} to answer verbatim}
  FAULT: {"status"?: 503, "message"?: "...", "delay"?: seconds, "body"?: "raw text",
          "headers"?: {...}} -- answers to a path, consumed in order, then normal answers;
          a new fixture starts its faults from the first.

GET /__stats answers {"total": N, "paths": {path: count}} (every request but /__stats).

usage: northflank_api.py FIXTURE.json   (prints the port it listens on, on 127.0.0.1)
The server exits when its stdin closes, so it never outlives the test that started it.
"""
import base64
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURE = sys.argv[1]
LOCK = threading.Lock()
STATE = {"stamp": None, "fixture": {}, "paths": {}, "total": 0, "faults_used": {},
         "windows": {}}

REGISTRY_URLS = {
    "dockerhub": "https://index.docker.io/v1/",
    "github": "ghcr.io",
    "gitlab": "registry.gitlab.com",
    "gcr": "gcr.io",
    "gcr-eu": "eu.gcr.io",
    "gcr-us": "us.gcr.io",
}


def fixture():
    """The fixture, reloaded when the file's stamp changes. Call with LOCK held."""
    st = os.stat(FIXTURE)
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    if stamp != STATE["stamp"]:
        with open(FIXTURE) as f:
            STATE["fixture"] = json.load(f)
        STATE["stamp"] = stamp
        STATE["faults_used"] = {}
    return STATE["fixture"]


def without(obj, omit):
    return {k: v for k, v in obj.items() if k not in omit}


def list_item(c):
    if "list_item" in c:
        return c["list_item"]
    omit = c.get("omit", [])
    if c.get("shape") == "older":
        item = {"id": c["id"], "name": c["name"], "description": c.get("description", ""),
                "restrictions": c.get("restrictions", {"restricted": False, "projects": []}),
                "provider": c.get("provider", "custom")}
    else:
        item = {"id": c["id"], "name": c["name"], "provider": c.get("provider", "custom"),
                "credentials": {"scope": {"pull": True, "push": False}}}
        for k in ("registryUrl", "integrationId", "createdAt", "updatedAt"):
            if k in c:
                item[k] = c[k]
    return without(item, omit)


def get_data(c):
    if "get_data" in c:
        return c["get_data"]
    omit = c.get("omit", [])
    restrictions = c.get("restrictions", {"restricted": False, "projects": []})
    if c.get("shape") == "older":
        url = c.get("registryUrl") or REGISTRY_URLS.get(c.get("provider"), "")
        data = {"id": c["id"], "name": c["name"], "description": c.get("description", ""),
                "restrictions": restrictions, "provider": c.get("provider", "custom")}
        if "password" in c:
            pair = "%s:%s" % (c.get("username", ""), c["password"])
            data["auths"] = {url: {"auth": base64.b64encode(pair.encode()).decode()}}
    else:
        data = list_item(without(c, ["omit"]))
        creds = {"scope": {"pull": True, "push": False}}
        for k in ("username", "password"):
            if k in c and k not in omit:
                creds[k] = c[k]
        data["credentials"] = creds
        data["restrictions"] = restrictions
    return without(data, omit)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one buffered write, sent without Nagle's delay: otherwise each
    # keep-alive answer waits for a delayed ACK (~40 ms).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, obj=None, headers=None, raw=None, delay=0):
        body = raw.encode() if raw is not None else json.dumps(obj).encode()
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def error(self, status, message, headers=None):
        self.answer(status, {"error": {"status": status, "message": message}}, headers)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if path == "/__stats":
            with LOCK:
                return self.answer(200, {"total": STATE["total"], "paths": STATE["paths"]})
        with LOCK:
            STATE["total"] += 1
            STATE["paths"][path] = STATE["paths"].get(path, 0) + 1
            fx = fixture()
            fault = self.next_fault(fx, path)
        if fault is not None and "status" in fault:
            body = fault.get("body")
            if body is None:
                body = json.dumps({"error": {"status": fault["status"],
                                             "message": fault.get("message", "Injected fault")}})
            return self.answer(fault["status"], raw=body, headers=fault.get("headers"),
                               delay=fault.get("delay", 0))
        delay = fault.get("delay", 0) if fault else 0

        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        grant = fx.get("tokens", {}).get(token) if token else None
        if grant is None:
            return self.error(401, "Unauthorized: invalid or missing API token")
        limit_headers, over = self.rate(fx, token)
        if over:
            return self.error(429, "Too many requests", limit_headers)

        parts = path.strip("/").split("/")
        team = None
        if parts[:2] == ["v1", "teams"] and len(parts) >= 3:
            team = urllib.parse.unquote(parts[2])
            parts = ["v1"] + parts[3:]
        if parts[:3] != ["v1", "integrations", "registries"] or len(parts) > 4:
            return self.error(404, "Not found", limit_headers)
        if team is None:
            if not grant.get("account", True):
                return self.error(403, "This token is not allowed to access this resource",
                                  limit_headers)
            creds = fx.get("account", [])
        else:
            if team not in fx.get("teams", {}):
                return self.error(404, "Team not found", limit_headers)
            if team not in grant.get("teams", []):
                return self.error(403, "This token is not allowed to access this team",
                                  limit_headers)
            creds = fx["teams"][team]
        if len(parts) == 3:
            if not grant.get("read", True):
                return self.error(403, "Missing permission: Account > Credentials > General > Read",
                                  limit_headers)
            return self.list(creds, query, limit_headers, delay)
        if not grant.get("read_encrypted", True):
            return self.error(403, "Missing permission: Account > Credentials > General > Read Encrypted",
                              limit_headers)
        wanted = urllib.parse.unquote(parts[3])
        for c in creds:
            if c["id"] == wanted:
                return self.answer(200, {"data": get_data(c)}, limit_headers, delay=delay)
        return self.error(404, "Registry credentials not found", limit_headers)

    def list(self, creds, query, headers, delay):
        try:
            per_page = int(query.get("per_page", ["50"])[0])
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return self.error(400, "per_page and page must be integers", headers)
        if per_page < 1 or per_page > 100:
            return self.error(400, "per_page must be between 1 and 100", headers)
        start = (page - 1) * per_page
        if "cursor" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["cursor"][0]).decode().split(":")[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                return self.error(400, "Invalid cursor", headers)
        items = [list_item(c) for c in creds[start:start + per_page]]
        more = start + per_page < len(creds)
        pagination = {"hasNextPage": more, "count": len(items)}
        if more:
            pagination["cursor"] = base64.urlsafe_b64encode(
                ("offset:%d" % (start + per_page)).encode()).decode()
        self.answer(200, {"data": {"credentials": items}, "pagination": pagination}, headers,
                    delay=delay)

    def next_fault(self, fx, path):
        """The next unused fault for this path, if any. Call with LOCK held."""
        queue = fx.get("faults", {}).get(path, [])
        used = STATE["faults_used"].get(path, 0)
        if used < len(queue):
            STATE["faults_used"][path] = used + 1
            return queue[used]
        return None

    def rate(self, fx, token):
        """Counts the request against the token's window: (headers, over the limit)."""
        conf = fx.get("rate_limit", {})
        limit, window = conf.get("limit", 1000), conf.get("window", 3600)
        now = time.monotonic()
        with LOCK:
            start, used = STATE["windows"].get(token, (now, 0))
            if now - start >= window:
                start, used = now, 0
            used += 1
            STATE["windows"][token] = (start, used)
        reset = max(0, int(start + window - now + 0.999))
        headers = {"x-ratelimit-limit": limit, "x-ratelimit-remaining": max(0, limit - used),
                   "x-ratelimit-reset": reset}
        return headers, used > limit


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
