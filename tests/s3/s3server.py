#!/usr/bin/env python3
"""A real S3 server for the artifact tests: MinIO (scripts/minio-build) on 127.0.0.1 only.

`s3server.py start DIR` starts MinIO on a free port, plain HTTP (Argo's `insecure: true`),
with its data under DIR/plain-data and an access key and secret key made up for this run,
creates the bucket `skiff-test` (a SigV4-signed PUT, as any S3 client would) and writes DIR/env.json:

  {"endpoint": "127.0.0.1:PORT", "access_key", "secret_key", "bucket": "skiff-test",
   "region": "us-east-1", "pid", "server": "minio", "binary", "log",
   "tls": {"endpoint", "ca_file", "other_ca_file", "pid", "log"}}

"tls" is a second MinIO (data in DIR/tls-data) with the same keys and bucket that speaks
only HTTPS, its certificate (for 127.0.0.1) signed by a CA made here (ca.pem); other-ca.pem
is a CA nobody uses, for "untrusted certificate" cases.

When MinIO is not built (scripts/minio-build --path fails; scripts/test builds it before
ctest), env.json is {"unavailable": "<why>"} and start exits 77, so ctest shows the fixture
as skipped and every test that uses it skips saying why; tests that do not need S3 run.

`s3server.py stop DIR` stops them: SIGTERM, then SIGKILL after 10 s; exits 1 naming a pid
that would not stop.
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
import ssl
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


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(d):
    """ca.pem, other-ca.pem, and certs/public.crt + private.key for 127.0.0.1 (MinIO's names)."""
    for name in ("ca", "other-ca"):
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=skiff-s3-{name}",
           "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")
    os.makedirs(f"{d}/certs", exist_ok=True)
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
       "-keyout", f"{d}/certs/private.key", "-out", f"{d}/server.csr")
    sh("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out", f"{d}/certs/public.crt")


def signed_request(env, method, path, body=b"", scheme="http", context=None):
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
    req = urllib.request.Request(f"{scheme}://{env['endpoint']}{path}", data=body or None, method=method,
                                 headers=headers)
    return urllib.request.urlopen(req, timeout=30, context=context)


def unavailable(d, why):
    with open(f"{d}/env.json", "w") as f:
        json.dump({"unavailable": why}, f, indent=2)
    print(f"skipped: {why}")
    sys.exit(77)


def wait_ready(env, proc, log, scheme="http", context=None):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"minio exited with status {proc.returncode}:\n{tail(log)}")
        try:
            urllib.request.urlopen(f"{scheme}://{env['endpoint']}/minio/health/live", timeout=2,
                                   context=context).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    sys.exit(f"minio did not answer on {env['endpoint']} within 60 s:\n{tail(log)}")


def create_bucket(env, proc, log, scheme, context):
    """PUT /skiff-test. MinIO answers its liveness probe before its object layer is up, and
    503 (XMinioServerNotInitialized) to S3 requests until then: those are tried again."""
    deadline = time.monotonic() + 60
    while True:
        try:
            signed_request(env, "PUT", f"/{BUCKET}", scheme=scheme, context=context).close()
            return
        except urllib.error.HTTPError as err:
            body = err.read()[:500]
            if err.code != 503 or time.monotonic() > deadline or proc.poll() is not None:
                sys.exit(f"creating bucket {BUCKET} on {env['endpoint']} failed: HTTP {err.code} {body!r}\n{tail(log)}")
        except (urllib.error.URLError, OSError) as err:
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit(f"creating bucket {BUCKET} on {env['endpoint']} failed: {err}\n{tail(log)}")
        time.sleep(0.1)


def tail(path, n=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def start(d):
    stop(d, quiet=True)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    built = subprocess.run([f"{ROOT}/scripts/minio-build", "--path"], capture_output=True, text=True)
    if built.returncode != 0:
        unavailable(d, built.stderr.strip() or "scripts/minio-build --path failed")
    binary = built.stdout.strip()
    env = {"access_key": "skiff-" + secrets.token_hex(6), "secret_key": secrets.token_urlsafe(24), "bucket": BUCKET,
           "region": REGION, "server": "minio", "binary": binary}
    t0 = time.monotonic()
    make_certs(d)
    plain, plain_proc = launch(d, env, "plain", None)
    tls, tls_proc = launch(d, env, "tls", f"{d}/certs")
    env.update(plain)
    env["tls"] = dict(tls, ca_file=f"{d}/ca.pem", other_ca_file=f"{d}/other-ca.pem")
    with open(f"{d}/env.json", "w") as f:  # written before the waits, so stop finds a server that hangs
        json.dump(env, f, indent=2)
    tls_context = ssl.create_default_context(cafile=f"{d}/ca.pem")
    for server, proc, scheme, context in ((plain, plain_proc, "http", None), (tls, tls_proc, "https", tls_context)):
        target = dict(env, endpoint=server["endpoint"])
        wait_ready(target, proc, server["log"], scheme, context)
        create_bucket(target, proc, server["log"], scheme, context)
    print(f"minio on {plain['endpoint']} (pid {plain['pid']}) and https://{tls['endpoint']} (pid {tls['pid']}), "
          f"ready in {time.monotonic() - t0:.1f} s, bucket {BUCKET}, settings in {d}/env.json")


def launch(d, env, name, certs):
    """Starts one MinIO, HTTPS when `certs` holds public.crt and private.key; returns its
    env.json entries and its process."""
    port, console = free_port(), free_port()
    os.makedirs(f"{d}/{name}-data")
    log = f"{d}/minio-{name}.log"
    proc_env = dict(os.environ, MINIO_ROOT_USER=env["access_key"], MINIO_ROOT_PASSWORD=env["secret_key"],
                    MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_REGION=REGION, HOME=d)
    certs_dir = certs or f"{d}/{name}-no-certs"  # else MinIO looks in $HOME/.minio/certs
    proc = subprocess.Popen([env["binary"], "server", "--quiet", "--address", f"127.0.0.1:{port}",
                             "--console-address", f"127.0.0.1:{console}", "--certs-dir", certs_dir,
                             f"{d}/{name}-data"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=proc_env, start_new_session=True)
    return {"endpoint": f"127.0.0.1:{port}", "pid": proc.pid, "log": log}, proc


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
        binary = env["binary"]
        pids = [int(env["pid"])] + ([int(env["tls"]["pid"])] if "tls" in env else [])
    except (OSError, ValueError, KeyError, TypeError):
        return
    # Gone, or the pid now belongs to another program: nothing of ours to stop.
    pids = [p for p in pids if alive(p) and is_ours(p, binary)]
    for pid in pids:
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    stuck = [p for p in pids if alive(p)]
    for pid in stuck:
        os.killpg(pid, signal.SIGKILL)
    if stuck:
        time.sleep(0.5)
        still = [p for p in stuck if alive(p)]
        msg = f"s3server: minio pid {', '.join(map(str, stuck))} did not stop within 10 s of SIGTERM; sent SIGKILL"
        if still:
            msg += f"; still there: {', '.join(map(str, still))}"
        print(msg, file=sys.stderr)
        if not quiet:
            sys.exit(1)
    elif pids and not quiet:
        print(f"minio stopped (pid {', '.join(map(str, pids))})")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: s3server.py start|stop DIR")
    d = os.path.abspath(argv[2])
    start(d) if argv[1] == "start" else stop(d)


if __name__ == "__main__":
    main(sys.argv)
