#!/usr/bin/env python3
"""A stand-in for Amazon ECR's GetAuthorizationToken on 127.0.0.1, for tests.

It speaks the AWS JSON 1.1 protocol as ECR does (POST, `X-Amz-Target:
AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`, `Content-Type:
application/x-amz-json-1.1`; errors as HTTP 400/500 with `{"__type": ..., "message": ...}` and an
`x-amzn-RequestId` header) and checks Signature Version 4 the way AWS does: from the request it
received, with the key pair it was configured with, it recomputes the canonical request, the
string to sign and the derived key, and compares signatures. This is an implementation of its
own (Python's hmac/hashlib), independent of the Rust signer it tests; `--self-test DIR` runs it
against AWS's published test vectors.

Usage:
    fake_ecr.py [--config FILE] [--exit-on-stdin-eof]   prints the port, then serves
    fake_ecr.py --self-test DIR                          checks the verifier against the suite

Config (JSON, every field optional):
    region          "us-east-1"        the region requests must be scoped to
    account         "123456789012"     the account in proxyEndpoint and ARNs
    keys            [{"id": "AKIAIOSFODNN7EXAMPLE", "secret": "..."}]
    token           null               the registry token to issue (the part after "AWS:");
                                       null: a fresh realistic one per request
    lifetime        43200              seconds from now to expiresAt
    skew            900                allowed clock skew of X-Amz-Date, seconds (ECR: 15 min)
    mode            "ok"               what to answer once authenticated: ok, throttle,
                                       server-error, access-denied, garbage, slow, close
    script          []                 modes for the next requests, consumed one per request
                                       before `mode` applies (e.g. ["throttle", "ok"])
    slow            15                 seconds the "slow" mode waits before answering

Control (not ECR; for tests): GET /__fake/stats answers {"requests": N, "outcomes": [...],
"last": {...}}; POST /__fake/config merges a JSON object into the config.

Only loopback: it binds 127.0.0.1 and nothing else.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_to_bytes

TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
CONTENT_TYPE = "application/x-amz-json-1.1"
SERVICE = "ecr"

DEFAULTS = {
    "region": "us-east-1",
    "account": "123456789012",
    "keys": [{"id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}],
    "token": None,
    "lifetime": 43200,
    "skew": 900,
    "mode": "ok",
    "script": [],
    "slow": 15,
}


# --------------------------------------------------------------------------------------------
# Signature Version 4, verifier side


def trimall(value):
    return " ".join(value.split())


def canonical_uri(path):
    segments = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    out = "/" + "/".join(quote(s, safe="-_.~") for s in segments)
    if segments and (path.endswith("/") or path.endswith("/.") or path.endswith("/..")):
        out += "/"
    return out


def canonical_query(query):
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (
                quote(unquote_to_bytes(name), safe="-_.~"),
                quote(unquote_to_bytes(value), safe="-_.~"),
            )
        )
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(method, path, query, headers, signed_names, body):
    """headers: list of (name, value) as received, repeats included."""
    lines = []
    for name in signed_names:
        values = [trimall(v) for (n, v) in headers if n.lower() == name]
        lines.append(f"{name}:{','.join(values)}\n")
    return "\n".join(
        [
            method,
            canonical_uri(path),
            canonical_query(query),
            "".join(lines),
            ";".join(signed_names),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(amz_date, scope, creq):
    digest = hashlib.sha256(creq.encode()).hexdigest()
    return f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"


def derived_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def signature(secret, date, region, service, sts):
    key = derived_key(secret, date, region, service)
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


class Refusal(Exception):
    """An AWS error answer: HTTP status, __type, message."""

    def __init__(self, status, kind, message):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def parse_authorization(value):
    if not value.startswith("AWS4-HMAC-SHA256 "):
        raise Refusal(400, "IncompleteSignatureException",
                      f"Authorization header requires 'Credential' parameter. Authorization header "
                      f"requires 'Signature' parameter. Authorization header requires "
                      f"'SignedHeaders' parameter. Authorization={value.split(' ')[0]}")
    fields = {}
    for item in value[len("AWS4-HMAC-SHA256 "):].split(","):
        name, _, val = item.strip().partition("=")
        fields[name] = val
    missing = [p for p in ("Credential", "Signature", "SignedHeaders") if not fields.get(p)]
    if missing:
        raise Refusal(400, "IncompleteSignatureException",
                      " ".join(f"Authorization header requires '{p}' parameter." for p in missing))
    return fields


def parse_amz_date(value):
    try:
        return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def fmt(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def verify(cfg, method, path, query, headers, body, now):
    """Checks the request's signature as AWS does; returns the key entry, or raises Refusal."""
    get = lambda name: next((v for (n, v) in headers if n.lower() == name), None)
    auth = get("authorization")
    if auth is None:
        raise Refusal(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
    fields = parse_authorization(auth)
    amz_date_text = get("x-amz-date")
    if amz_date_text is None:
        raise Refusal(400, "IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a "
                      "'Date' header.")
    amz_date = parse_amz_date(amz_date_text.strip())
    if amz_date is None:
        raise Refusal(400, "IncompleteSignatureException",
                      f"Date must be in ISO-8601 'basic format'. Got '{amz_date_text}'.")
    parts = fields["Credential"].split("/")
    if len(parts) != 5:
        raise Refusal(400, "IncompleteSignatureException",
                      f"Credential must have exactly 5 slash-delimited elements, e.g. "
                      f"keyid/date/region/service/term, got '{fields['Credential']}'")
    key_id, date, region, service, terminator = parts
    key = next((k for k in cfg["keys"] if k["id"] == key_id), None)
    if key is None:
        raise Refusal(400, "UnrecognizedClientException",
                      "The security token included in the request is invalid.")
    skew = datetime.timedelta(seconds=cfg["skew"])
    minutes = int(cfg["skew"] // 60)
    if amz_date < now - skew:
        raise Refusal(400, "InvalidSignatureException",
                      f"Signature expired: {fmt(amz_date)} is now earlier than {fmt(now - skew)} "
                      f"({fmt(now)} - {minutes} min.)")
    if amz_date > now + skew:
        raise Refusal(400, "InvalidSignatureException",
                      f"Signature not yet current: {fmt(amz_date)} is still later than "
                      f"{fmt(now + skew)} ({fmt(now)} + {minutes} min.)")
    problems = []
    if date != amz_date_text.strip()[:8]:
        problems.append(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                        f"of date from HTTP: '{date}' != '{amz_date_text.strip()[:8]}', from "
                        f"'{amz_date_text.strip()}'.")
    if region != cfg["region"]:
        problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
    if service != SERVICE:
        problems.append(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if terminator != "aws4_request":
        problems.append(f"Credential should be scoped with a valid terminator: 'aws4_request', "
                        f"not '{terminator}'.")
    if problems:
        raise Refusal(400, "InvalidSignatureException", " ".join(problems))
    signed_names = fields["SignedHeaders"].split(";")
    if "host" not in signed_names:
        raise Refusal(400, "InvalidSignatureException",
                      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if signed_names != sorted(set(signed_names)) or any(n != n.lower() for n in signed_names):
        raise Refusal(400, "InvalidSignatureException",
                      "The request signature we calculated does not match the signature you "
                      "provided. SignedHeaders must be lower-case, sorted and unique.")
    creq = canonical_request(method, path, query, headers, signed_names, body)
    scope = f"{date}/{region}/{service}/{terminator}"
    sts = string_to_sign(amz_date_text.strip(), scope, creq)
    want = signature(key["secret"], date, region, service, sts)
    if not hmac.compare_digest(want, fields["Signature"]):
        raise Refusal(400, "InvalidSignatureException",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult the "
                      "service documentation for details.\n\nThe Canonical String for this "
                      f"request should have been\n'{creq}'\n\nThe String-to-Sign should have "
                      f"been\n'{sts}'\n")
    return key


# --------------------------------------------------------------------------------------------
# The service


def java_double(x):
    """A number as Java's Double.toString writes it for epoch seconds (what ECR sends):
    1.732060745363E9."""
    digits = repr(float(x))
    if "e" in digits or "E" in digits:
        mantissa, exp = digits.lower().split("e")
        return f"{mantissa}E{int(exp)}"
    whole, _, frac = digits.partition(".")
    frac = frac.rstrip("0")
    exp = len(whole) - 1
    mantissa = whole[0] + "." + ((whole[1:] + frac).rstrip("0") or "0")
    return f"{mantissa}E{exp}"


def fresh_token(expires):
    """A token shaped like ECR's: base64 of a JSON envelope around random bytes."""
    blob = {
        "payload": base64.b64encode(secrets.token_bytes(600)).decode(),
        "datakey": base64.b64encode(secrets.token_bytes(300)).decode(),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(expires),
    }
    return base64.b64encode(json.dumps(blob, separators=(",", ":")).encode()).decode()


class State:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.requests = 0
        self.outcomes = []
        self.last = {}

    def next_mode(self):
        with self.lock:
            self.requests += 1
            script = self.cfg["script"]
            return script.pop(0) if script else self.cfg["mode"]

    def record(self, outcome, headers):
        with self.lock:
            self.outcomes.append(outcome)
            self.last = {n.lower(): v for (n, v) in headers if n.lower() != "authorization"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "Server"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type=CONTENT_TYPE):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, r):
        self.answer(r.status, {"__type": r.kind, "message": r.message})

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        state = self.server.state
        if self.path == "/__fake/stats":
            with state.lock:
                stats = {"requests": state.requests, "outcomes": list(state.outcomes),
                         "last": state.last}
            return self.answer(200, stats, "application/json")
        self.answer(404, {"__type": "UnknownOperationException"})

    def do_POST(self):
        state = self.server.state
        body = self.read_body()
        if self.path == "/__fake/config":
            with state.lock:
                state.cfg.update(json.loads(body or b"{}"))
            return self.answer(200, {}, "application/json")
        headers = list(self.headers.items())
        mode = state.next_mode()
        if mode == "slow":
            time.sleep(state.cfg["slow"])
        if mode == "close":
            state.record("close", headers)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        path, _, query = self.path.partition("?")
        now = datetime.datetime.now(datetime.timezone.utc)
        try:
            key = verify(state.cfg, "POST", path, query, headers, body, now)
            if self.headers.get("X-Amz-Target") != TARGET:
                raise Refusal(400, "UnknownOperationException", None)
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != CONTENT_TYPE:
                raise Refusal(400, "UnknownOperationException", None)
            try:
                request = json.loads(body)
                assert isinstance(request, dict)
            except (ValueError, AssertionError):
                raise Refusal(400, "SerializationException", None)
            self.serve(state, mode, key, request, headers)
        except Refusal as r:
            state.record(r.kind, headers)
            if r.message is None:
                self.answer(r.status, {"__type": r.kind})
            else:
                self.refuse(r)

    def serve(self, state, mode, key, request, headers):
        cfg = state.cfg
        if mode == "throttle":
            raise Refusal(400, "ThrottlingException", "Rate exceeded")
        if mode == "server-error":
            raise Refusal(500, "ServerException", "Internal service error")
        if mode == "access-denied":
            raise Refusal(400, "AccessDeniedException",
                          f"User: arn:aws:iam::{cfg['account']}:user/ci is not authorized to "
                          f"perform: ecr:GetAuthorizationToken on resource: * because no "
                          f"identity-based policy allows the ecr:GetAuthorizationToken action")
        if mode == "garbage":
            state.record("garbage", headers)
            return self.answer(200, b"<html>not ECR</html>", "text/html")
        ids = request.get("registryIds") or [cfg["account"]]
        expires = time.time() + cfg["lifetime"]
        expires = round(expires, 3)
        data = []
        for account in ids:
            token = cfg["token"] if cfg["token"] is not None else fresh_token(expires)
            data.append({
                "authorizationToken": base64.b64encode(f"AWS:{token}".encode()).decode(),
                "expiresAt": "__EXPIRES__",
                "proxyEndpoint": f"https://{account}.dkr.ecr.{cfg['region']}.amazonaws.com",
            })
        text = json.dumps({"authorizationData": data}, separators=(",", ":"))
        text = text.replace('"__EXPIRES__"', java_double(expires))
        state.record("ok", headers)
        self.answer(200, text.encode())


# --------------------------------------------------------------------------------------------
# Self-test against the published vectors


def parse_req(text):
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest[: -len(" HTTP/1.1")]
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            n, v = headers[-1]
            headers[-1] = (n, v + "\n" + line)
        else:
            n, _, v = line.partition(":")
            headers.append((n, v))
    return method, path, query, headers, body.encode()


def self_test(folder):
    names = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".req"))
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    failed = 0
    for name in names:
        read = lambda ext: open(os.path.join(folder, name + ext), encoding="utf-8").read()
        method, path, query, headers, body = parse_req(read(".req"))
        authz = read(".authz")
        fields = parse_authorization(authz)
        signed = fields["SignedHeaders"].split(";")
        if "x-amz-security-token" in signed and not any(
                n.lower() == "x-amz-security-token" for n, _ in headers):
            token = [l for l in read(".creq").split("\n") if l.startswith("x-amz-security-token:")]
            headers.append(("X-Amz-Security-Token", token[0].split(":", 1)[1]))
        creq = canonical_request(method, path, query, headers, signed, body)
        sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq)
        sig = signature(secret, "20150830", "us-east-1", "service", sts)
        ok = creq == read(".creq") and sts == read(".sts") and sig == fields["Signature"]
        print(("ok   " if ok else "FAIL ") + name)
        failed += not ok
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed or not names else 0


# --------------------------------------------------------------------------------------------


def main(argv):
    if argv[:1] == ["--self-test"] and len(argv) == 2:
        return self_test(argv[1])
    cfg = json.loads(json.dumps(DEFAULTS))
    exit_on_eof = False
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            with open(next(args), encoding="utf-8") as f:
                cfg.update(json.load(f))
        elif arg == "--exit-on-stdin-eof":
            exit_on_eof = True
        else:
            print(f"fake_ecr.py: unknown argument {arg!r}", file=sys.stderr)
            return 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(cfg)
    print(server.server_address[1], flush=True)
    if exit_on_eof:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
