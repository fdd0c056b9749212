#!/usr/bin/env python3
"""Secrets and ConfigMaps managed through skiff server's API (by `skiff secret|configmap
-s`), read by a container step as an env var and a volume, and never shown: no API reply
and no server log line carries a secret's value; tokens are held to their namespace.
Usage: secrets_test.py SKIFF REGISTRY_DIR"""
import base64
import os
import subprocess
import sys
import tempfile

from skiffserver import Checks, Server, running

VALUE = "hunter2-s3cr3t"

WORKFLOW = {"workflow": {"metadata": {"name": "uses-secret"}, "spec": {
    "entrypoint": "main",
    "volumes": [{"name": "creds", "secret": {"secretName": "db"}},
                {"name": "settings", "configMap": {"name": "app"}}],
    "templates": [{"name": "main", "container": {
        "image": "busybox", "command": ["sh", "-c"],
        "args": ['test "$PASSWORD" = "$(cat /creds/password)" && echo "secret ok, mode=$(cat /settings/mode)"'],
        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "volumeMounts": [{"name": "creds", "mountPath": "/creds"}, {"name": "settings", "mountPath": "/settings"}]}}]}}}


def main():
    skiff, registry = sys.argv[1], sys.argv[2]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-secrets-") as data:
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        srv = Server(skiff, data, "--registries", f"{registry}/registries.yaml",
                     "--registry-config", f"{registry}/config.json", executor="container", auth="client", token=token)
        srv.start()
        env = dict(os.environ, ARGO_TOKEN=token, ARGO_SECURE="false")
        seen = []  # every reply body, to look for the value

        def run(*args):
            p = subprocess.run([skiff, *args, "-s", f"127.0.0.1:{srv.port}", "-n", "argo"], capture_output=True,
                               text=True, env=env, timeout=60)
            check(f"skiff {' '.join(args)} exits 0", p.returncode == 0, p.stderr)
            seen.append(p.stdout + p.stderr)
            return p.stdout

        def call(*a, **kw):
            st, body = srv.call(*a, raw=True, **kw)
            seen.append(body)
            return st, body

        with running(check, srv) as output:
            check("secret create through the API", "created" in run("secret", "create", "generic", "db",
                                                                     "--from-literal", f"password={VALUE}"))
            check("configmap create", "created" in run("configmap", "create", "app", "--from-literal", "mode=fast"))
            listing = run("secret", "ls")
            check("secret ls shows the key", "db" in listing and "password" in listing, listing)
            st, body = call("POST", "/api/v1/secrets/argo", {"secret": {"metadata": {"name": "db"},
                                                                         "stringData": {"x": "y"}}})
            check("duplicate is 409", st == 409, f"{st} {body}")
            st, body = call("POST", "/api/v1/secrets/argo", {"secret": {"metadata": {"name": "b64"},
                                                                         "data": {"k": "%%%"}}})
            check("data that is not base64 is 400", st == 400 and "stringData" in body, f"{st} {body}")
            st, body = call("GET", "/api/v1/secrets/argo/nope")
            check("unknown secret is 404", st == 404, st)
            st, body = call("GET", "/api/v1/secrets/argo/db")
            check("get shows type and keys", st == 200 and '"keys":["password"]' in body, body)
            st, body = call("GET", "/api/v1/secrets/other")
            check("a token for argo cannot list other's secrets", st == 403, f"{st} {body}")
            encoded = base64.b64encode(b"rotated-" + VALUE.encode()).decode()
            st, body = call("PUT", "/api/v1/secrets/argo/db", {"secret": {"metadata": {"name": "db"},
                                                                           "data": {"password": encoded}}})
            check("replace", st == 200, f"{st} {body}")
            st, body = call("POST", "/api/v1/workflows/argo", WORKFLOW)
            check("submit", st == 200, body)
            wf = srv.wait("argo", "uses-secret", timeout=60)
            check("the step read the secret and the config map", wf["status"]["phase"] == "Succeeded", wf["status"])
            st, logs = call("GET", "/api/v1/workflows/argo/uses-secret/log?logOptions.container=main")
            check("its log", "secret ok, mode=fast" in logs, logs)
            call("GET", "/api/v1/workflows/argo/uses-secret")
            call("GET", "/api/v1/secrets/argo")
            check("secret rm", "deleted" in run("secret", "rm", "db"))
            st, _ = call("GET", "/api/v1/secrets/argo/db")
            check("gone after rm", st == 404, st)
        check("no reply or log line shows a secret value", not any(VALUE in text for text in seen + output),
              [t[:200] for t in seen + output if VALUE in t])
    return check.report("secrets")


if __name__ == "__main__":
    sys.exit(main())
