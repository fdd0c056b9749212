#!/usr/bin/env python3
"""Puts what the kubernetes executor's tests pull into the test cluster's registry:

  push_images.py SKIFF K8S_ENV_JSON

  skiff/skiff:test   skiff's own image (`skiff image push-self`): the in-Pod helper; its
                     reference by digest goes to emissary-image beside K8S_ENV_JSON
  the test registry's images (tests/registry/registry.py: busybox, skiff-test/entry, ...)

The cluster's containerd mirrors docker.io to its registry, so the names pull as written.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
from registry import Registry, push_images  # noqa: E402


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: push_images.py SKIFF K8S_ENV_JSON")
    skiff, env_path = sys.argv[1:]
    with open(env_path) as f:
        env = json.load(f)
    host = env["registry"]
    push_images(Registry(f"http://{host}", None))
    done = subprocess.run([skiff, "image", "push-self", f"{host}/skiff/skiff:test", "--plain-http", host],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"skiff image push-self failed: {done.stderr}")
    pushed = done.stdout.strip().splitlines()[-1]  # HOST/skiff/skiff:test@sha256:...
    digest = pushed[pushed.index("@"):]
    # By digest, as docker.io (which the cluster mirrors to its registry): a node that has an
    # older skiff/skiff:test cached pulls this one.
    image = f"docker.io/skiff/skiff{digest}"
    with open(os.path.join(os.path.dirname(env_path), "emissary-image"), "w") as f:
        f.write(image + "\n")
    print(image)


if __name__ == "__main__":
    main()
