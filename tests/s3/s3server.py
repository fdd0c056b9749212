#!/usr/bin/env python3
"""A real S3 server for the artifact tests: MinIO (scripts/minio-build) on 127.0.0.1 only.

`s3server.py start DIR` starts MinIO on a free port, plain HTTP (Argo's `insecure: true`),
with its data under DIR/data and an access key and secret key made up for this run, creates
the bucket `skiff-test` (a SigV4-signed PUT, as any S3 client would) and writes DIR/env.json:

  {"endpoint": "127.0.0.1:PORT", "access_key", "secret_key", "bucket": "skiff-test",
   "region": "us-east-1", "pid", "server": "minio", "binary", "log"}

When MinIO is not built (scripts/minio-build --path fails; scripts/test builds it before
ctest), env.json is {"unavailable": "<why>"} and start exits 77, so ctest shows the fixture
as skipped and every test that uses it skips saying why; tests that do not need S3 run.

`s3server.py stop DIR` stops it: SIGTERM, then SIGKILL after 10 s; exits 1 naming a pid that
would not stop.
"""
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUCKET = "skiff-test"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_request(env, method, path, body=b""):
    """An S3 request signed with AWS Signature Version 4 (path-style, no query)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": env["endpoint"], "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    names = sorted(headers)
    canonical = "\n".join([method, path, "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), payload])
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + env["secret_key"]).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={env['access_key']}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    req = urllib.request.Request(f"http://{env['endpoint']}{path}", data=body or None, method=method, headers=headers)
    return urllib.request.urlopen(req, timeout=30)


def unavailable(d, why):
    with open(f"{d}/env.json", "w") as f:
        json.dump({"unavailable": why}, f, indent=2)
    print(f"skipped: {why}")
    sys.exit(77)


def wait_ready(env, proc, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"minio exited with status {proc.returncode}:\n{tail(log)}")
        try:
            urllib.request.urlopen(f"http://{env['endpoint']}/minio/health/live", timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    sys.exit(f"minio did not answer on {env['endpoint']} within 60 s:\n{tail(log)}")


def tail(path, n=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def start(d):
    stop(d, quiet=True)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(f"{d}/data")
    built = subprocess.run([f"{ROOT}/scripts/minio-build", "--path"], capture_output=True, text=True)
    if built.returncode != 0:
        unavailable(d, built.stderr.strip() or "scripts/minio-build --path failed")
    binary = built.stdout.strip()
    port, console = free_port(), free_port()
    env = {"endpoint": f"127.0.0.1:{port}", "access_key": "skiff-" + secrets.token_hex(6),
           "secret_key": secrets.token_urlsafe(24), "bucket": BUCKET, "region": REGION,
           "server": "minio", "binary": binary, "log": f"{d}/minio.log"}
    proc_env = dict(os.environ, MINIO_ROOT_USER=env["access_key"], MINIO_ROOT_PASSWORD=env["secret_key"],
                    MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_REGION=REGION, HOME=d)
    proc = subprocess.Popen([binary, "server", "--quiet", "--address", env["endpoint"],
                             "--console-address", f"127.0.0.1:{console}", "--certs-dir", f"{d}/certs", f"{d}/data"],
                            stdout=open(env["log"], "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=proc_env, start_new_session=True)
    env["pid"] = proc.pid
    with open(f"{d}/env.json", "w") as f:  # written before the wait, so stop finds a server that hangs
        json.dump(env, f, indent=2)
    t0 = time.monotonic()
    wait_ready(env, proc, env["log"])
    try:
        signed_request(env, "PUT", f"/{BUCKET}").close()
    except urllib.error.HTTPError as e:
        sys.exit(f"creating bucket {BUCKET} on {env['endpoint']} failed: HTTP {e.code} {e.read()[:500]!r}")
    print(f"minio on {env['endpoint']} (pid {proc.pid}, ready in {time.monotonic() - t0:.1f} s), "
          f"bucket {BUCKET}, settings in {d}/env.json")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def is_ours(pid, binary):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace") == binary
    except OSError:
        return False


def stop(d, quiet=False):
    try:
        with open(f"{d}/env.json") as f:
            env = json.load(f)
        pid, binary = int(env["pid"]), env["binary"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if not alive(pid) or not is_ours(pid, binary):  # gone, or the pid now belongs to another program
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)
        time.sleep(0.5)
        msg = f"s3server: minio (pid {pid}) did not stop within 10 s of SIGTERM; sent SIGKILL"
        if alive(pid):
            msg += f", and it is still there: kill -9 {pid}"
        print(msg, file=sys.stderr)
        if not quiet:
            sys.exit(1)
    elif not quiet:
        print(f"minio (pid {pid}) stopped")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: s3server.py start|stop DIR")
    d = os.path.abspath(argv[2])
    start(d) if argv[1] == "start" else stop(d)


if __name__ == "__main__":
    main(sys.argv)
