#!/usr/bin/env python3
"""A real OCI registry for the container tests, on 127.0.0.1 only.

`registry.py start DIR` makes a CA and a server certificate for 127.0.0.1, an htpasswd
file, starts Debian's docker-registry with TLS and basic auth, builds small images from
busybox-static and pushes them over the distribution API. It writes, under DIR:

  env.json          {"port", "host", "pid", ...}
  ca.pem            the CA that signed the registry's certificate
  other-ca.pem      a CA nobody uses (for "unknown CA" cases)
  config.json       docker config.json with the right credentials
  bad-config.json   ... with a wrong password
  registries.yaml   mirrors docker.io to the registry and trusts ca.pem for it

A second registry on the same storage asks for Bearer tokens instead (as Docker Hub does),
from a small token server (`registry.py token-server DIR PORT`) that checks the same
password and signs JWTs with a key the registry trusts. A third serves plain HTTP.

`registry.py stop DIR` stops them. Images pushed (all also reachable as docker.io/... through
the mirror): library/busybox:latest (and :1.36), skiff-test/entry:1 (ENTRYPOINT, CMD,
WORKDIR, USER and ENV set), skiff-test/layers:1 (a second layer with a whiteout and an
opaque directory), library/busybox:index (an OCI index pointing at busybox for this
machine), alpine/git (busybox plus the host's git and its libraries).
"""
import base64
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

USER, PASSWORD = "skiff", "s3cret-pass"


def sh(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def make_ca(d, name):
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
       "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")


def make_certs(d):
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_ca(d, "token")
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
       "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    sh("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out", f"{d}/server.pem")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(d, service, scope):
    """A JWT the registry accepts: RS256, signed with token.key, its certificate in x5c."""
    der = subprocess.run(["openssl", "x509", "-in", f"{d}/token.pem", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    access = []
    for s in scope.split(" ") if scope else []:
        kind, _, rest = s.partition(":")
        name, _, actions = rest.rpartition(":")
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    claims = {"iss": "skiff-test-issuer", "sub": USER, "aud": service, "exp": now + 300, "nbf": now - 10,
              "iat": now, "jti": str(now) + str(os.getpid()), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{d}/token.key"], input=signing_input,
                         check=True, capture_output=True).stdout
    return signing_input.decode() + "." + b64url(sig)


def token_server(d, port):
    import http.server
    import urllib.parse
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            token = make_token(d, q.get("service", [""])[0], " ".join(q.get("scope", [])))
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/server.pem", f"{d}/server.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, base, ca):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=ca)
        self.auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def request(self, method, url, data=None, headers=None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": self.auth, **(headers or {})})
        return urllib.request.urlopen(req, context=self.ctx, timeout=30)

    def push_blob(self, repo, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        try:
            self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
            return digest
        except urllib.error.HTTPError:
            pass
        with self.request("POST", f"/v2/{repo}/blobs/uploads/") as r:
            location = r.headers["Location"]
        sep = "&" if "?" in location else "?"
        self.request("PUT", f"{location}{sep}digest={digest}", data,
                     {"Content-Type": "application/octet-stream"}).close()
        return digest

    def push_manifest(self, repo, ref, manifest):
        body = json.dumps(manifest).encode()
        self.request("PUT", f"/v2/{repo}/manifests/{ref}", body, {"Content-Type": manifest["mediaType"]}).close()
        return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)

    def push_image(self, repo, tags, layers, config):
        blobs = []
        diff_ids = []
        for raw in layers:
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            gz = gzip.compress(raw, mtime=0)
            blobs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": self.push_blob(repo, gz), "size": len(gz)})
        cfg = json.dumps({"architecture": arch(), "os": "linux", "config": config,
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": self.push_blob(repo, cfg), "size": len(cfg)},
                    "layers": blobs}
        result = None
        for tag in tags:
            result = self.push_manifest(repo, tag, manifest)
        return result


def arch():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def tar_of(entries):
    """entries: (name, kind, payload, mode, uid) with kind file|dir|symlink|chardev."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload, mode, uid in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid, info.mtime = mode, uid, uid, 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                t.addfile(info)
            else:
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def busybox_layer():
    busybox = open("/bin/busybox", "rb").read()
    applets = subprocess.run(["/bin/busybox", "--list"], check=True, capture_output=True, text=True).stdout.split()
    entries = [("bin", "dir", None, 0o755, 0), ("bin/busybox", "file", busybox, 0o755, 0)]
    entries += [(f"bin/{a}", "symlink", "busybox", 0o777, 0) for a in applets if a != "busybox"]
    entries += [(d, "dir", None, 0o755, 0) for d in ("etc", "root", "home", "var", "usr", "usr/bin")]
    entries += [("tmp", "dir", None, 0o1777, 0),
                ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
                 b"app:x:1000:1000:app:/home/app:/bin/sh\n", 0o644, 0),
                ("etc/group", "file", b"root:x:0:\nnogroup:x:65534:\napp:x:1000:\n", 0o644, 0),
                ("etc/motd", "file", b"busybox image for skiff tests\n", 0o644, 0),
                ("etc/skel", "dir", None, 0o755, 0),
                ("etc/skel/profile", "file", b"# from the base layer\n", 0o644, 0)]
    return tar_of(entries)


def host_binaries_layer(programs):
    """The host's programs with the shared libraries they load (for tool images: git)."""
    files = {}
    for prog in programs:
        path = shutil.which(prog)
        files[path] = True
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for line in ldd.splitlines():
            parts = line.split()
            lib = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
            if lib.startswith("/"):
                files[lib] = True
    entries, dirs = [], set()
    for path in files:
        real = os.path.realpath(path)
        for p in (path, real):
            parent = os.path.dirname(p).lstrip("/")
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = os.path.dirname(parent)
        entries.append((real.lstrip("/"), "file", open(real, "rb").read(), 0o755, 0))
        if real != path:
            entries.append((path.lstrip("/"), "symlink", real, 0o777, 0))
    dir_entries = [(d, "dir", None, 0o755, 0) for d in sorted(dirs) if d not in ("bin", "usr", "usr/bin", "etc")]
    return tar_of(dir_entries + entries)


PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def push_images(reg):
    """Pushes the test images; returns facts the cases may refer to."""
    base = busybox_layer()
    cfg = {"Env": [PATH_ENV], "Cmd": ["sh"]}
    digest, size = reg.push_image("library/busybox", ["latest", "1.36"], [base], cfg)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                            "size": size, "platform": {"os": "linux", "architecture": arch()}}]}
    # The index lives in the same repository as its manifest; skiff-test/index shares the blobs.
    reg.push_image("skiff-test/index", ["plain"], [base], cfg)
    reg.push_manifest("library/busybox", "index", index)
    entry_cfg = {"Env": [PATH_ENV, "GREETING=from-image"], "Entrypoint": ["echo", "entrypoint"],
                 "Cmd": ["default-cmd"], "WorkingDir": "/work", "User": "1000:1000"}
    work = tar_of([("work", "dir", None, 0o755, 1000)])
    reg.push_image("skiff-test/entry", ["1"], [base, work], cfg | entry_cfg)
    upper = tar_of([("etc/.wh.motd", "file", b"", 0o644, 0), ("etc/skel/.wh..wh..opq", "file", b"", 0o644, 0),
                    ("etc/skel/new", "file", b"from the upper layer\n", 0o644, 0)])
    reg.push_image("skiff-test/layers", ["1"], [base, upper], cfg)
    # Stands in for alpine/git: busybox plus the host's git.
    reg.push_image("alpine/git", ["latest"], [base, host_binaries_layer(["git"])],
                   {"Env": [PATH_ENV], "Entrypoint": ["git"], "Cmd": ["--help"]})
    return {"busybox_digest": digest}


def wait_ready(reg, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("docker-registry exited:\n" + open(log).read())
        try:
            reg.request("GET", "/v2/").close()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    raise SystemExit("docker-registry did not answer within 10 s:\n" + open(log).read())


def start(d):
    stop(d)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    make_certs(d)
    hashed = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True).stdout
    with open(f"{d}/htpasswd", "w") as f:
        f.write(hashed)
    port = free_port()
    with open(f"{d}/config.yml", "w") as f:
        f.write(f"""version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {d}/data}}, delete: {{enabled: true}}}}
http: {{addr: "127.0.0.1:{port}", tls: {{certificate: {d}/server.pem, key: {d}/server.key}}}}
auth: {{htpasswd: {{realm: skiff-test, path: {d}/htpasswd}}}}
""")
    log = f"{d}/registry.log"
    proc = subprocess.Popen(["docker-registry", "serve", f"{d}/config.yml"], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    host = f"127.0.0.1:{port}"
    reg = Registry(f"https://{host}", f"{d}/ca.pem")
    wait_ready(reg, proc, log)
    facts = push_images(reg)

    # The Bearer-token registry: same storage, token auth, and its token server.
    token_port, tserver_port = free_port(), free_port()
    with open(f"{d}/token-config.yml", "w") as f:
        f.write(f"""version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {d}/data}}}}
http: {{addr: "127.0.0.1:{token_port}", tls: {{certificate: {d}/server.pem, key: {d}/server.key}}}}
auth:
  token: {{realm: "https://127.0.0.1:{tserver_port}/token", service: skiff-test-registry,
          issuer: skiff-test-issuer, rootcertbundle: {d}/token.pem}}
""")
    tproc = subprocess.Popen(["docker-registry", "serve", f"{d}/token-config.yml"], stdout=open(f"{d}/token-registry.log", "w"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    sproc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "token-server", d, str(tserver_port)],
                             stdout=open(f"{d}/token-server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    token_host = f"127.0.0.1:{token_port}"

    # A plain-HTTP registry without auth on the same storage (allowed only explicitly).
    plain_port = free_port()
    with open(f"{d}/plain-config.yml", "w") as f:
        f.write(f"""version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {d}/data}}}}
http: {{addr: "127.0.0.1:{plain_port}"}}
""")
    pproc = subprocess.Popen(["docker-registry", "serve", f"{d}/plain-config.yml"], stdout=open(f"{d}/plain.log", "w"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(Registry(f"http://127.0.0.1:{plain_port}", f"{d}/ca.pem"), pproc, f"{d}/plain.log")
    treg = Registry(f"https://{token_host}", f"{d}/ca.pem")
    treg.auth = "Bearer " + make_token(d, "skiff-test-registry", "repository:library/busybox:pull")
    wait_ready(treg, tproc, f"{d}/token-registry.log")

    def docker_config(password):
        auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
        return json.dumps({"auths": {host: {"auth": auth}, token_host: {"auth": auth}}})

    with open(f"{d}/config.json", "w") as f:
        f.write(docker_config(PASSWORD))
    with open(f"{d}/bad-config.json", "w") as f:
        f.write(docker_config("wrong-password"))
    with open(f"{d}/registries.yaml", "w") as f:
        f.write(f"mirrors:\n  docker.io: [https://{host}]\nregistries:\n")
        for h in (host, token_host, f"127.0.0.1:{tserver_port}"):
            f.write(f"  \"{h}\": {{ca: {d}/ca.pem}}\n")
    with open(f"{d}/env.json", "w") as f:
        json.dump({"host": host, "port": port, "pids": [proc.pid, tproc.pid, sproc.pid, pproc.pid],
                   "token_host": token_host, "plain_host": f"127.0.0.1:{plain_port}",
                   "user": USER, "password": PASSWORD, **facts}, f)
    print(f"registry on https://{host} (pid {proc.pid}), settings in {d}")


def stop(d):
    try:
        pids = json.load(open(f"{d}/env.json"))["pids"]
    except (OSError, KeyError, ValueError):
        return
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "token-server":
        token_server(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit("usage: registry.py start|stop DIR")
    else:
        directory = os.path.abspath(sys.argv[2])
        start(directory) if sys.argv[1] == "start" else stop(directory)
