#!/usr/bin/env python3
"""Python Docker SDK (`docker` from PyPI) cases, run by tests/e2e/run.sh in its venv.

usage: sdk_cases.py CASE     (env: REG, USER1, PASS1, DOCKER_CONFIG, NORTHFLANK_CONFIG_DIR)
Each case exits 0 on success and raises (non-zero exit) on the first failed check.
Secrets are never printed.
"""
import json
import os
import sys

import docker
from docker import auth, credentials

HELPER = "northflank"
NF_KEY = "https://index.docker.io/v1/"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("  ok:", msg)


def store():
    return credentials.Store(HELPER)


def write_config(helpers):
    path = os.path.join(os.environ["DOCKER_CONFIG"], "config.json")
    with open(path, "w") as f:
        json.dump({"credHelpers": {h: HELPER for h in helpers}}, f)
    return path


def case_store_get_list_erase():
    s = store()
    server = "sdk-e2e.example.com:5000"
    # Python's json sends spaces, \\u escapes and surrogate pairs, no trailing newline
    secret = 'nf-sdk-secret pä$$ <wörd> & "q" \\ 😀'
    s.store(server=server, username="sdk-user", secret=secret)
    got = s.get(server)
    check(got["ServerURL"] == server, "get echoes the ServerURL")
    check(got["Username"] == "sdk-user", "get returns the username")
    check(got["Secret"] == secret, "get returns the exact secret (non-ASCII, <>&, quotes, emoji)")
    listed = s.list()
    check(listed.get(server) == "sdk-user", "list shows the server -> username")
    # replacing the credential replaces the username too
    s.store(server=server, username="sdk-user2", secret=secret + "2")
    got = s.get(server)
    check(got["Username"] == "sdk-user2" and got["Secret"] == secret + "2", "store replaces username and secret")
    s.erase(server)
    try:
        s.get(server)
    except credentials.CredentialsNotFound:
        print("  ok: get after erase raises CredentialsNotFound")
    else:
        raise AssertionError("get after erase should raise CredentialsNotFound")
    check(server not in s.list(), "list no longer shows the server")
    s.erase(server)  # erasing again must not raise
    print("  ok: erase of a missing entry does not raise")


def case_not_found():
    s = store()
    for server in ("nothing-here.example.com", "127.0.0.1:1", NF_KEY):
        try:
            s.get(server)
        except credentials.CredentialsNotFound:
            print("  ok: CredentialsNotFound for", server)
        else:
            raise AssertionError("get %s should raise CredentialsNotFound" % server)
    check(s.list() == {}, "list of an empty store is {}")
    # docker-py's auth resolution treats the miss as 'no credentials'
    cfg = auth.load_config(write_config(["nothing-here.example.com"]))
    check(cfg.resolve_authconfig("nothing-here.example.com") is None, "resolve_authconfig -> None on a miss")


def case_identity_token():
    s = store()
    server = "sdk-token.example.com"
    token = "nf-sdk-secret-idtoken-" + os.urandom(6).hex()
    s.store(server=server, username="<token>", secret=token)
    got = s.get(server)
    check(got["Username"] == "<token>" and got["Secret"] == token, "identity token stored as Username <token>")
    cfg = auth.load_config(write_config([server, NF_KEY]))
    res = cfg.resolve_authconfig(server)
    check(res is not None and res.get("IdentityToken") == token, "resolve_authconfig maps <token> to IdentityToken")
    check("Password" not in res, "no Password for an identity token")
    # Docker Hub: the SDK asks the helper for https://index.docker.io/v1/
    s.store(server=NF_KEY, username="hub-sdk", secret="nf-sdk-secret-hub")
    res = cfg.resolve_authconfig("docker.io")
    check(res is not None and res.get("Username") == "hub-sdk", "docker.io resolves through the Hub key")
    s.erase(server)
    s.erase(NF_KEY)
    check(s.list() == {}, "erased")


def case_apiclient_pull():
    reg, user, pw = os.environ["REG"], os.environ["USER1"], os.environ["PASS1"]
    s = store()
    write_config([reg])
    client = docker.APIClient(version="auto")
    ref = reg + "/tiny"
    # no credential: the engine must refuse
    try:
        client.pull(ref, tag="v1")
    except docker.errors.APIError as e:
        msg = str(e).lower()
        check("unauthorized" in msg or "401" in msg or "no basic auth" in msg or "authentication" in msg,
              "pull without a credential fails with an auth error")
    else:
        client.remove_image(ref + ":v1", force=True)
        raise AssertionError("pull without a credential should fail")
    s.store(server=reg, username=user, secret=pw)
    cfg = auth.load_config()
    res = cfg.resolve_authconfig(reg)
    check(res is not None and res.get("Username") == user and res.get("Password") == pw,
          "resolve_authconfig goes through credHelpers")
    client = docker.APIClient(version="auto")  # reloads config.json
    try:
        client.pull(ref, tag="v1")
        info = client.inspect_image(ref + ":v1")
        check(info["Config"]["Labels"].get("e2e") == "northflank", "APIClient.pull got the suite's image")
    finally:
        try:
            client.remove_image(ref + ":v1", force=True)
        except docker.errors.APIError:
            pass
    s.erase(reg)


if __name__ == "__main__":
    name = sys.argv[1]
    print("docker SDK", docker.__version__, "case", name)
    globals()["case_" + name]()
