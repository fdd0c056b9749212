#!/usr/bin/env python3
"""Pushes the test cluster's images into its local registry (no other registry is reachable):

  images.py REGISTRY_HOST:PORT BIN_DIR KUBERNETES_VERSION

  docker.io/library/busybox:latest, :1.36   Debian's busybox-static, `sh` as its command
  registry.k8s.io/pause:3.10                the sandbox image: BIN_DIR/pause
  registry.k8s.io/kubectl:VERSION           busybox plus BIN_DIR/kubectl, kubectl as entrypoint

containerd mirrors docker.io and registry.k8s.io to REGISTRY, so these names pull as they do
on any cluster. Images are built with tests/registry/registry.py's layer and push helpers;
an image already in the registry is left alone (the registry's storage outlives the cluster).
"""
import os
import sys
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "registry"))
from registry import PATH_ENV, Registry, busybox_layer, tar_of  # noqa: E402


def present(reg, repo, tag):
    try:
        reg.request("HEAD", f"/v2/{repo}/manifests/{tag}",
                    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).close()
        return True
    except urllib.error.HTTPError:
        return False


def binary_layer(path, name):
    return tar_of([(name, "file", open(path, "rb").read(), 0o755, 0)])


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: images.py REGISTRY_HOST:PORT BIN_DIR KUBERNETES_VERSION")
    host, bin_dir, version = sys.argv[1:]
    reg = Registry(f"http://{host}", None)
    images = [
        ("library/busybox", ["latest", "1.36"], lambda: [busybox_layer()], {"Env": [PATH_ENV], "Cmd": ["sh"]}),
        ("pause", ["3.10"], lambda: [binary_layer(f"{bin_dir}/pause", "pause")], {"Entrypoint": ["/pause"]}),
        ("kubectl", [version], lambda: [busybox_layer(), binary_layer(f"{bin_dir}/kubectl", "bin/kubectl")],
         {"Env": [PATH_ENV], "Entrypoint": ["kubectl"]}),
    ]
    for repo, tags, layers, config in images:
        if all(present(reg, repo, t) for t in tags):
            continue
        reg.push_image(repo, tags, layers(), config)
        print(f"images: pushed {repo}:{','.join(tags)}", file=sys.stderr)


if __name__ == "__main__":
    main()
