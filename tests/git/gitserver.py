#!/usr/bin/env python3
"""A real git server for the CD tests, on 127.0.0.1 only.

`gitserver.py start DIR` makes a CA and a server certificate for 127.0.0.1, an htpasswd
file, and starts Debian's lighttpd (TLS, basic auth) in front of git's own `git
http-backend` CGI, with push enabled for authenticated users. It writes, under DIR:

  env.json      {"url_base", "ca_file", "other_ca_file", "username", "password",
                 "repos_dir", "port", "ssh_url_base", "ssh_key", "pids"}
  ca.pem        the CA that signed the server's certificate
  other-ca.pem  a CA nobody uses (for "unknown CA" cases)
  repos/        the bare repositories served at <url_base>/<name>.git
  ssh_key       a private key sshd accepts (ssh_url_base in env.json: ssh://user@127.0.0.1:port/<repos>)

An sshd (Debian's openssh-server, own host key, keys only) serves the same repositories
over ssh; its "pids" are in env.json with lighttpd's.

The same lighttpd serves a Helm chart repository at <url_base>/charts (env.json
"charts_url"; same basic auth): index.yaml and the chart `web` in versions 0.1.0 and 0.2.0,
packaged here as `helm package` would (a gzipped tar of web/Chart.yaml, values.yaml,
templates/), each rendering a WorkflowTemplate named web-<release> whose message is the
value `greeting`.

`gitserver.py commit DIR NAME [--branch B] [--tag T] PATH=TEXT...` creates repository NAME
if needed and pushes one commit (over HTTPS, as a client would) writing those files; it
prints the commit's sha. Tests call it while they run. `gitserver.py stop DIR` stops it.
"""
import getpass
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

USER, PASSWORD = "skiff", "git-s3cret"
BACKEND = "/usr/lib/git-core/git-http-backend"


def sh(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw).stdout


def make_ca(d, name):
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
       "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")


def make_certs(d):
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
       "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    sh("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out", f"{d}/server.pem")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lighttpd_conf(d, port):
    return f"""server.modules = ("mod_alias", "mod_auth", "mod_authn_file", "mod_setenv", "mod_cgi", "mod_openssl")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{d}/www"
server.errorlog = "{d}/lighttpd.log"
ssl.engine = "enable"
ssl.pemfile = "{d}/server.pem"
ssl.privkey = "{d}/server.key"
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "{d}/htpasswd"
auth.require = ("/" => ("method" => "basic", "realm" => "skiff-git", "require" => "valid-user"))
alias.url = ("/charts/" => "{d}/charts/", "/" => "{BACKEND}/")
$HTTP["url"] !~ "^/charts/" {{
  cgi.assign = ("" => "")
}}
setenv.add-environment = ("GIT_PROJECT_ROOT" => "{d}/repos", "GIT_HTTP_EXPORT_ALL" => "1")
"""


CHART_TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: web-{{ .Release.Name }}
spec:
  entrypoint: hi
  templates:
    - name: hi
      container: {image: busybox, command: [echo, {{ .Values.greeting | quote }}]}
"""


def make_charts(d, base_url):
    """A Helm repository: chart `web` 0.1.0 and 0.2.0 and their index.yaml."""
    import hashlib
    import io
    import tarfile
    os.makedirs(f"{d}/charts", exist_ok=True)
    entries = []
    for version, greeting in (("0.1.0", "hello from 0.1.0"), ("0.2.0", "hello from 0.2.0")):
        files = {"web/Chart.yaml": f"apiVersion: v2\nname: web\nversion: {version}\n",
                 "web/values.yaml": f"greeting: {greeting}\n",
                 "web/templates/template.yaml": CHART_TEMPLATE}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        name = f"web-{version}.tgz"
        with open(f"{d}/charts/{name}", "wb") as f:
            f.write(buf.getvalue())
        entries.append(f"  - apiVersion: v2\n    name: web\n    version: {version}\n"
                       f"    digest: {hashlib.sha256(buf.getvalue()).hexdigest()}\n"
                       f"    created: \"2026-12-01T00:00:00Z\"\n    urls: [{base_url}/charts/{name}]\n")
    with open(f"{d}/charts/index.yaml", "w") as f:
        f.write("apiVersion: v1\nentries:\n  web:\n" + "".join(entries) + "generated: \"2026-12-01T00:00:00Z\"\n")


def wait_ready(env, proc, log):
    ctx = ssl.create_default_context(cafile=env["ca_file"])
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit(f"lighttpd exited: {open(log).read() if os.path.exists(log) else ''}")
        try:
            urllib.request.urlopen(env["url_base"] + "/", context=ctx, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without credentials, 404 at the root)
        except OSError:
            time.sleep(0.1)
    sys.exit("git server did not answer within 10 s")


def start_sshd(d, port):
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation, as root
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/ssh_host_key")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/ssh_key")
    shutil.copy(f"{d}/ssh_key.pub", f"{d}/authorized_keys")
    with open(f"{d}/sshd_config", "w") as f:
        f.write(f"""ListenAddress 127.0.0.1:{port}
HostKey {d}/ssh_host_key
AuthorizedKeysFile {d}/authorized_keys
PidFile {d}/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
""")
    return subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"], stdout=open(f"{d}/sshd.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def start(d):
    stop(d)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(f"{d}/repos")
    os.makedirs(f"{d}/www")
    make_certs(d)
    with open(f"{d}/htpasswd", "w") as f:  # apr1 MD5: a scheme lighttpd's htpasswd backend reads
        f.write(sh("htpasswd", "-nbm", USER, PASSWORD))
    port = free_port()
    make_charts(d, f"https://127.0.0.1:{port}")
    with open(f"{d}/lighttpd.conf", "w") as f:
        f.write(lighttpd_conf(d, port))
    proc = subprocess.Popen(["lighttpd", "-D", "-f", f"{d}/lighttpd.conf"], stdout=open(f"{d}/stdout.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    ssh_port = free_port()
    sshd = start_sshd(d, ssh_port)
    env = {"url_base": f"https://127.0.0.1:{port}", "ca_file": f"{d}/ca.pem", "other_ca_file": f"{d}/other-ca.pem",
           "username": USER, "password": PASSWORD, "repos_dir": f"{d}/repos", "port": port,
           "charts_url": f"https://127.0.0.1:{port}/charts",
           "ssh_url_base": f"ssh://{getpass.getuser()}@127.0.0.1:{ssh_port}{d}/repos", "ssh_key": f"{d}/ssh_key",
           "pids": [proc.pid, sshd.pid]}
    with open(f"{d}/env.json", "w") as f:
        json.dump(env, f, indent=2)
    wait_ready(env, proc, f"{d}/lighttpd.log")
    commit(d, "app", {"guestbook/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: guestbook}\n"},
           tag="v1")
    print(f"git server on {env['url_base']} and {env['ssh_url_base']}, settings in {d}")


def stop(d):
    try:
        pids = json.load(open(f"{d}/env.json"))["pids"]
    except (OSError, ValueError, KeyError):
        return
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def commit(d, name, files, branch="main", tag=None):
    """Pushes one commit writing `files` to repository `name` (made if missing); returns its sha."""
    env = json.load(open(f"{d}/env.json"))
    bare = f"{env['repos_dir']}/{name}.git"
    if not os.path.isdir(bare):
        sh("git", "init", "-q", "--bare", "-b", "main", bare)
        sh("git", "-C", bare, "config", "http.receivepack", "true")
    url = env["url_base"].replace("https://", f"https://{USER}:{PASSWORD}@") + f"/{name}.git"
    git_env = dict(os.environ, GIT_SSL_CAINFO=env["ca_file"], GIT_TERMINAL_PROMPT="0",
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    with tempfile.TemporaryDirectory() as work:
        sh("git", "clone", "-q", url, work, env=git_env)
        if sh("git", "-C", work, "branch", "-r", "--list", f"origin/{branch}", env=git_env).strip():
            sh("git", "-C", work, "checkout", "-q", branch, env=git_env)
        else:
            sh("git", "-C", work, "checkout", "-q", "--orphan" if not os.listdir(f"{bare}/refs/heads") else "-b",
               branch, env=git_env)
        for path, text in files.items():
            os.makedirs(os.path.dirname(f"{work}/{path}"), exist_ok=True)
            with open(f"{work}/{path}", "w") as f:
                f.write(text)
        sh("git", "-C", work, "add", "-A", env=git_env)
        sh("git", "-C", work, "commit", "-q", "--allow-empty", "-m", f"update {', '.join(files)}", env=git_env)
        refs = [f"HEAD:refs/heads/{branch}"]
        if tag:
            sh("git", "-C", work, "tag", "-a", tag, "-m", tag, env=git_env)
            refs.append(f"refs/tags/{tag}")
        sh("git", "-C", work, "push", "-q", "origin", *refs, env=git_env)
        return sh("git", "-C", work, "rev-parse", "HEAD", env=git_env).strip()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("start", "stop", "commit"):
        sys.exit("usage: gitserver.py start|stop DIR | commit DIR NAME [--branch B] [--tag T] PATH=TEXT...")
    d = os.path.abspath(argv[2])
    if argv[1] == "start":
        start(d)
    elif argv[1] == "stop":
        stop(d)
    else:
        args, files, opts = argv[4:], {}, {}
        while args:
            a = args.pop(0)
            if a in ("--branch", "--tag"):
                opts[a[2:]] = args.pop(0)
            else:
                path, _, text = a.partition("=")
                files[path] = text
        print(commit(d, argv[3], files, **opts))


if __name__ == "__main__":
    main(sys.argv)
