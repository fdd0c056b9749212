#!/usr/bin/env python3
"""Stand-ins for the images Argo's examples name, built on this machine and pushed to the test registry.

No public registry is reachable, so tests/examples/argo_examples.py runs Argo's examples
against images assembled here from busybox-static and the host's programs (with the shared
libraries they load), pushed next to registry.py's images (all reachable as docker.io/...
through its mirror):

  library/alpine:3.23, :latest   busybox + the CA bundle
  library/python:alpine3.23      busybox + the host's python3 (Debian's) with its standard library
  argoproj/argosay:v1, :v2       busybox + bash + /argosay, a shell stand-in for Argo's test
                                 program (echo [text [file]], cat FILE..., sleep DURATION,
                                 exit [CODE], assert_contains FILE TEXT; no args: "hello argo")
                                 and a tiny `cowsay`
  docker/whalesay:latest         busybox + that `cowsay`
  library/debian:latest          busybox + bash
  curlimages/curl:latest         busybox + the host's curl (ENTRYPOINT curl)
  stedolan/jq:latest             busybox + the host's jq (ENTRYPOINT jq)
  library/node:9.1-alpine        busybox + the host's node
  library/nginx:1.13             busybox httpd serving a welcome page on port 80 as `nginx`

Layers go through pipeline_images' gzip cache ($SKIFF_IMAGES_CACHE, default
~/.cache/skiff/images), so a warm push costs building the tars and a HEAD per blob.

  example_images.py push DIR    DIR as given to `registry.py start DIR`
Prints the images pushed, one a line, and `offered: NAME ...` (the references it serves).
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry  # noqa: E402
from pipeline_images import ca_layer, files_layer, push  # noqa: E402

# What the examples call these images by (as written in an example's `image:`), for the runner.
OFFERED = {
    "busybox", "busybox:latest", "alpine", "alpine:latest", "alpine:3.23", "python:alpine3.23",
    "argoproj/argosay:v1", "argoproj/argosay:v2", "docker/whalesay", "docker/whalesay:latest",
    "debian", "debian:latest", "curlimages/curl", "curlimages/curl:latest", "stedolan/jq",
    "stedolan/jq:latest", "nginx:1.13", "node:9.1-alpine", "alpine/git", "alpine/git:latest",
}

ARGOSAY = r'''#!/bin/sh
# A stand-in for Argo's argosay test program (test/e2e/images/argosay): same commands, same exits.
usage() { echo "usage: argosay [assert_contains file string|cat [file...]|echo [string] [file]|sleep duration|exit [code]]" >&2; exit 1; }
[ $# -eq 0 ] && set -- echo
cmd=$1; shift
case "$cmd" in
echo)
  case $# in
  0) echo "hello argo" ;;
  1) printf '%s\n' "$1" ;;
  2) mkdir -p "$(dirname "$2")" && printf '%s' "$1" > "$2" ;;
  *) usage ;;
  esac ;;
cat)
  for f in "$@"; do cat "$f" || exit 1; done ;;
sleep)
  [ $# -eq 1 ] || usage
  d=$1; secs=0; rest=$d
  # Go durations: 10s, 1m30s, 500ms, 1h
  while [ -n "$rest" ]; do
    n=$(expr "$rest" : '\([0-9.]*\)'); rest=${rest#"$n"}
    u=$(expr "$rest" : '\([a-zµ]*\)'); rest=${rest#"$u"}
    [ -n "$n" ] || { echo "time: invalid duration \"$d\"" >&2; exit 1; }
    case "$u" in
      h) m=3600 ;; m) m=60 ;; s) m=1 ;; ms) m=0.001 ;; us|µs) m=0.000001 ;; ns) m=0.000000001 ;;
      *) echo "time: missing unit in duration \"$d\"" >&2; exit 1 ;;
    esac
    secs=$(awk "BEGIN{print $secs + $n * $m}")
  done
  sleep "$secs" ;;
exit)
  exit "${1:-0}" ;;
assert_contains)
  [ $# -eq 2 ] || { echo "usage: assert_contains data string" >&2; exit 1; }
  data=$(cat "$1") || exit 1
  case "$data" in
    *"$2"*) ;;
    *) echo "expected \"$1\" to contain \"$2\", but was \"$data\"" >&2; exit 1 ;;
  esac ;;
*) usage ;;
esac
'''

COWSAY = r'''#!/bin/sh
# A tiny cowsay: the message in a bubble, and a cow.
msg="$*"
[ -n "$msg" ] || msg=$(cat)
line=$(printf '%s' "$msg" | sed 's/./-/g')
echo " _${line}_"
echo "< $msg >"
echo " -${line}-"
cat <<'COW'
        \   ^__^
         \  (oo)\_______
            (__)\       )\/\
                ||----w |
                ||     ||
COW
'''

NGINX = r'''#!/bin/sh
# Stands in for nginx: serves /usr/share/nginx/html on port 80 in the foreground.
exec httpd -f -p 80 -h /usr/share/nginx/html
'''

NGINX_INDEX = b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1></body></html>\n"


def script_layer(files):
    """files: {path in image: (text or bytes, mode)}."""
    entries = []
    for dest, (text, mode) in sorted(files.items()):
        data = text.encode() if isinstance(text, str) else text
        entries.append((dest, "file", data, mode, 0))
    return registry.tar_of(pipeline_dirs(list(files)) + entries)


def pipeline_dirs(paths):
    from pipeline_images import dirs_of
    return dirs_of(paths)


def python_layers():
    """Debian's python3 with its standard library (no tests, caches or site packages)."""
    exe = "/usr/bin/python3"
    if not os.path.exists(exe):
        return None
    real = os.path.realpath(exe)
    version = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    stdlib = f"/usr/lib/python{version}"
    skip_dirs = {"__pycache__", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip",
                 "dist-packages", "site-packages", "config-" + version + "-x86_64-linux-gnu"}
    files = {}
    for root, dirs, names in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("config-"))
        for n in names:
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files[p.lstrip("/")] = p
    stdlib_layer = files_layer(files)
    # The interpreter and the libraries its extension modules load.
    programs = [real] + sorted(glob.glob(f"{stdlib}/lib-dynload/*.so"))
    bin_layer = host_libs_layer(programs)
    links = registry.tar_of([("usr/bin/python3", "symlink", os.path.basename(real), 0o777, 0),
                             ("usr/bin/python", "symlink", os.path.basename(real), 0o777, 0),
                             ("usr/local", "dir", None, 0o755, 0), ("usr/local/bin", "dir", None, 0o755, 0),
                             ("usr/local/bin/python", "symlink", real, 0o777, 0),
                             ("usr/local/bin/python3", "symlink", real, 0o777, 0)])
    return [stdlib_layer, bin_layer, links]


def host_libs_layer(paths):
    """Files at their host paths (not searched on PATH) with the shared libraries they load."""
    files = {}
    for path in paths:
        files[path] = True
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for line in ldd.splitlines():
            parts = line.split()
            if not parts:
                continue
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
        with open(real, "rb") as f:
            entries.append((real.lstrip("/"), "file", f.read(), 0o755, 0))
        if real != path:
            entries.append((path.lstrip("/"), "symlink", real, 0o777, 0))
    dir_entries = [(d, "dir", None, 0o755, 0) for d in sorted(dirs) if d not in ("bin", "usr", "usr/bin", "etc")]
    return registry.tar_of(dir_entries + entries)


def push_example_images(reg):
    """Pushes the stand-ins; returns {name: (manifest digest, seconds)}."""
    base = registry.busybox_layer()
    env = [registry.PATH_ENV]
    ca = ca_layer()
    # The directories a distribution's image has and busybox's layer lacks (examples write to /mnt/out).
    dirs = registry.tar_of([(d, "dir", None, 0o755, 0) for d in
                            ("mnt", "opt", "srv", "media", "run", "sbin", "lib", "usr/lib", "usr/local",
                             "usr/local/bin", "usr/sbin", "usr/share", "var/tmp", "var/log")])
    common = [base, dirs] + ([ca] if ca else [])
    out = {}

    def timed(name, repo, tags, layers, config):
        t0 = time.monotonic()
        out[f"{repo}:{','.join(tags)}"] = (push(reg, repo, tags, layers, config), time.monotonic() - t0)

    timed("alpine", "library/alpine", ["3.23", "latest"], common, {"Env": env, "Cmd": ["/bin/sh"]})
    bash = registry.host_binaries_layer(["bash"])
    timed("debian", "library/debian", ["latest"], common + [bash], {"Env": env, "Cmd": ["bash"]})
    cowsay = script_layer({"usr/bin/cowsay": (COWSAY, 0o755), "usr/games/cowsay": (COWSAY, 0o755)})
    timed("argosay", "argoproj/argosay", ["v1", "v2"],
          common + [bash, cowsay, script_layer({"argosay": (ARGOSAY, 0o755)})],
          {"Env": env, "Entrypoint": ["/argosay"]})
    timed("whalesay", "docker/whalesay", ["latest"], common + [cowsay], {"Env": env, "Cmd": ["/bin/sh"]})
    if shutil.which("curl"):
        timed("curl", "curlimages/curl", ["latest"], common + [registry.host_binaries_layer(["curl"])],
              {"Env": env, "Entrypoint": ["curl"], "Cmd": ["--help"]})
    if shutil.which("jq"):
        timed("jq", "stedolan/jq", ["latest"], common + [registry.host_binaries_layer(["jq"])],
              {"Env": env, "Entrypoint": ["jq"]})
    timed("nginx", "library/nginx", ["1.13"],
          common + [script_layer({"usr/sbin/nginx": (NGINX, 0o755),
                                  "usr/share/nginx/html/index.html": (NGINX_INDEX, 0o644)})],
          {"Env": env, "Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}}})
    if shutil.which("node"):
        timed("node", "library/node", ["9.1-alpine"], common + [registry.host_binaries_layer(["node"])],
              {"Env": env, "Cmd": ["node"]})
    py = python_layers()
    if py:
        timed("python", "library/python", ["alpine3.23"], common + py,
              {"Env": env + ["LANG=C.UTF-8"], "Cmd": ["python3"]})
    return out


def offered(pushed):
    names = set(OFFERED)
    if not any(k.startswith("library/python") for k in pushed):
        names.discard("python:alpine3.23")
    if not any(k.startswith("library/node") for k in pushed):
        names.discard("node:9.1-alpine")
    if not any(k.startswith("curlimages/curl") for k in pushed):
        names -= {"curlimages/curl", "curlimages/curl:latest"}
    if not any(k.startswith("stedolan/jq") for k in pushed):
        names -= {"stedolan/jq", "stedolan/jq:latest"}
    return sorted(names)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "push":
        raise SystemExit("usage: example_images.py push DIR   (DIR as given to registry.py start)")
    d = os.path.abspath(sys.argv[2])
    try:
        with open(f"{d}/env.json") as f:
            env = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"no test registry in {d} ({e}): run registry.py start {d}")
    reg = registry.Registry(f"https://{env['host']}", f"{d}/ca.pem")
    pushed = push_example_images(reg)
    for name, (digest, secs) in pushed.items():
        print(f"{env['host']}/{name} {digest} ({secs:.1f} s)")
    names = offered(pushed)
    with open(f"{d}/example-images.json", "w") as f:
        json.dump({"offered": names}, f)
    print("offered: " + " ".join(names))


if __name__ == "__main__":
    main()
