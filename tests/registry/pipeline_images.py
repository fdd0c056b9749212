#!/usr/bin/env python3
"""The reference pipeline's step images, built on this machine and pushed to the test registry.

No public registry is reachable, so the images the reference pipeline's steps name are
assembled here from busybox-static, the host's programs (with the libraries they load) and
BuildKit as scripts/buildkit-build builds it:

  moby/buildkit:v0.34.2   buildkitd, buildctl, buildctl-daemonless.sh, the host's runc
                          (the privileged variant: docs/containers.md "BuildKit in a step")
  library/alpine:3.20     busybox + the host's git with git-remote-https (git-checkout-pr)
  library/bash:5.2        busybox + the host's bash (html-modifier)

Big layers are gzip-compressed once and kept in $SKIFF_IMAGES_CACHE (default
~/.cache/skiff/images), keyed by the sha256 of the uncompressed tar, so a warm push costs
building the tar (to know its key) and a HEAD request per blob.

  pipeline_images.py push DIR    DIR as given to `registry.py start DIR`
Exits 77 when BuildKit is not built (scripts/buildkit-build), so a test can skip.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def buildkit_version():
    """The version scripts/moby-buildkit/go.mod requires (what scripts/buildkit-build builds)."""
    with open(os.path.join(ROOT, "scripts", "moby-buildkit", "go.mod")) as f:
        for line in f:
            words = line.split()
            if words[:1] == ["require"]:
                words = words[1:]
            if len(words) >= 2 and words[0] == "github.com/moby/buildkit":
                return words[1]
    raise SystemExit("scripts/moby-buildkit/go.mod requires no github.com/moby/buildkit")


BUILDKIT_VERSION = buildkit_version()
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class MissingTool(Exception):
    pass


def buildkit_bin():
    """The directory scripts/buildkit-build fills, or MissingTool saying how to fill it."""
    cache = os.environ.get("SKIFF_TOOLS_CACHE", os.path.expanduser("~/.cache/skiff/tools"))
    d = os.path.join(cache, f"buildkit-{BUILDKIT_VERSION}", "bin")
    for p in ("buildkitd", "buildctl", "buildctl-daemonless.sh"):
        if not os.access(os.path.join(d, p), os.X_OK):
            raise MissingTool(f"{d}/{p} is missing: run scripts/buildkit-build (cold 3-7 min)")
    if not shutil.which("runc"):
        raise MissingTool("runc is not on the PATH (scripts/install-deps installs Debian's)")
    return d


def cache_dir():
    d = os.environ.get("SKIFF_IMAGES_CACHE", os.path.expanduser("~/.cache/skiff/images"))
    os.makedirs(d, exist_ok=True)
    return d


def compressed(raw):
    """(diff_id, gzipped bytes) of a layer tar; gzip runs once per distinct content."""
    diff_id = hashlib.sha256(raw).hexdigest()
    path = os.path.join(cache_dir(), diff_id + ".tar.gz")
    try:
        with open(path, "rb") as f:
            return "sha256:" + diff_id, f.read()
    except FileNotFoundError:
        pass
    gz = gzip.compress(raw, compresslevel=6, mtime=0)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(gz)
    os.replace(tmp, path)  # atomic: a concurrent push reads a whole file or none
    return "sha256:" + diff_id, gz


def push(reg, repo, tags, layers, config):
    """Like Registry.push_image, with layers compressed through the cache."""
    blobs, diff_ids = [], []
    for raw in layers:
        diff_id, gz = compressed(raw)
        diff_ids.append(diff_id)
        blobs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": reg.push_blob(repo, gz), "size": len(gz)})
    cfg = json.dumps({"architecture": registry.arch(), "os": "linux", "config": config,
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": reg.push_blob(repo, cfg), "size": len(cfg)},
                "layers": blobs}
    for tag in tags:
        digest, _ = reg.push_manifest(repo, tag, manifest)
    return digest


def dirs_of(paths, have=("bin", "usr", "usr/bin", "etc", "tmp", "var")):
    """Directory entries for every parent of paths (relative), minus the base layer's."""
    out = set()
    for p in paths:
        parent = os.path.dirname(p)
        while parent:
            out.add(parent)
            parent = os.path.dirname(parent)
    return [(d, "dir", None, 0o755, 0) for d in sorted(out) if d not in have]


def files_layer(files, extra_dirs=()):
    """files: {path in image: host path}; extra_dirs: (path, mode) made empty."""
    entries = []
    for dest, src in sorted(files.items()):
        mode = 0o755 if os.access(src, os.X_OK) else 0o644
        with open(src, "rb") as f:
            entries.append((dest, "file", f.read(), mode, 0))
    dirs = dirs_of(list(files) + [d for d, _ in extra_dirs])
    dirs += [(d, "dir", None, mode, 0) for d, mode in extra_dirs]
    return registry.tar_of(dirs + entries)


def ca_layer():
    """The host's CA bundle at Debian's path, where Go, curl and git look by default."""
    return files_layer({CA_BUNDLE.lstrip("/"): CA_BUNDLE}) if os.path.exists(CA_BUNDLE) else None


def push_pipeline_images(reg):
    """Pushes the step images; returns {name: (manifest digest, seconds)}."""
    bk = buildkit_bin()
    base = registry.busybox_layer()
    env = [registry.PATH_ENV]
    ca = ca_layer()
    common = [base] + ([ca] if ca else [])
    out = {}

    def timed(name, repo, tags, layers, config):
        t0 = time.monotonic()
        out[name] = (push(reg, repo, tags, layers, config), time.monotonic() - t0)

    # buildkitd keeps state in /var/lib/buildkit (the step mounts an emptyDir there: the
    # image's own rootfs is an overlay, and buildkitd's overlay snapshots cannot sit on one)
    # and its socket in /run/buildkit; buildctl-daemonless.sh writes to /tmp.
    buildkit = files_layer({f"usr/bin/{p}": f"{bk}/{p}" for p in ("buildkitd", "buildctl", "buildctl-daemonless.sh")},
                           extra_dirs=[("etc/buildkit", 0o755), ("var/lib/buildkit", 0o711), ("run", 0o755),
                                       ("run/buildkit", 0o711)])
    timed("moby/buildkit", "moby/buildkit", [BUILDKIT_VERSION],
          common + [registry.host_binaries_layer(["runc"]), buildkit],
          {"Env": env, "Entrypoint": ["buildkitd"], "Volumes": {"/var/lib/buildkit": {}}})

    # git-checkout-pr clones over https: git hands the transport to git-remote-https.
    git_core = ["/usr/lib/git-core/git-remote-http", "/usr/lib/git-core/git-remote-https"]
    timed("library/alpine", "library/alpine", ["3.20"],
          common + [registry.host_binaries_layer(["git"] + [p for p in git_core if os.path.exists(p)]),
                    files_layer({}, extra_dirs=[("usr/share/git-core/templates", 0o755)])],  # git init's
          {"Env": env, "Cmd": ["/bin/sh"]})

    timed("library/bash", "library/bash", ["5.2"], common + [registry.host_binaries_layer(["bash"])],
          {"Env": env, "Entrypoint": ["bash"], "Cmd": []})
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "push":
        raise SystemExit("usage: pipeline_images.py push DIR   (DIR as given to registry.py start)")
    d = os.path.abspath(sys.argv[2])
    try:
        env = json.load(open(f"{d}/env.json"))
    except (OSError, ValueError) as e:
        raise SystemExit(f"no test registry in {d} ({e}): run registry.py start {d}")
    reg = registry.Registry(f"https://{env['host']}", f"{d}/ca.pem")
    try:
        pushed = push_pipeline_images(reg)
    except MissingTool as e:
        print(f"pipeline_images: {e}", file=sys.stderr)
        sys.exit(77)
    for name, (digest, secs) in pushed.items():
        print(f"{env['host']}/{name} {digest} ({secs:.1f} s)")


if __name__ == "__main__":
    main()
