#!/usr/bin/env python3
"""skiff image pull|ls|rm|prune against the test registry: what is stored, listed and
removed, and that layers shared by two images are kept until neither needs them."""
import os
import subprocess
import sys
import tempfile


def main():
    skiff, registry = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-image-") as data:
        flags = ["--registries", f"{registry}/registries.yaml", "--registry-config", f"{registry}/config.json"]

        def run(*args, expect=0):
            p = subprocess.run([skiff, "image", *args, "--data", data], capture_output=True, text=True, timeout=60)
            if p.returncode != expect:
                failures.append(f"skiff image {' '.join(args)}: exit {p.returncode}, want {expect}\n{p.stderr}")
            return p.stdout + p.stderr

        def layers():
            return sorted(os.listdir(f"{data}/images/layers"))

        out = run("pull", *flags, "busybox:1.36", "skiff-test/layers:1")
        for want in ("docker.io/library/busybox:1.36  sha256:", "docker.io/skiff-test/layers:1  sha256:"):
            if want not in out:
                failures.append(f"pull output lacks {want!r}:\n{out}")
        if len(layers()) != 2:
            failures.append(f"two images sharing a base layer should store 2 layers, got {layers()}")
        listed = run("ls")
        for want in ("docker.io/library/busybox:1.36", "docker.io/skiff-test/layers:1"):
            if want not in listed:
                failures.append(f"ls lacks {want}:\n{listed}")
        run("rm", "skiff-test/layers:1")
        if "skiff-test/layers" in run("ls"):
            failures.append("rm left the image listed")
        out = run("prune")
        if "removed 3 unused blobs and layers" not in out:  # its manifest, config and upper layer
            failures.append(f"prune: {out}")
        if len(layers()) != 1:
            failures.append(f"prune should keep busybox's layer only, got {layers()}")
        out = run("rm", "nothere:1", expect=1)
        if "image docker.io/library/nothere:1 is not in the local store" not in out:
            failures.append(f"rm of a missing image: {out}")
        out = run("pull", "--registries", f"{registry}/registries.yaml", "--registry-config",
                  f"{registry}/bad-config.json", "busybox:1.36", expect=1)
        if "refused the credentials of user skiff" not in out:
            failures.append(f"pull with a wrong password: {out}")
        def secret(*args, expect=0):
            p = subprocess.run([skiff, "secret", "create", "docker-registry", *args, "--data", data],
                               capture_output=True, text=True, timeout=60)
            if p.returncode != expect:
                failures.append(f"skiff secret create docker-registry {' '.join(args)}: exit {p.returncode}, "
                                f"want {expect}\n{p.stderr}")
            return p.stdout + p.stderr

        out = secret("from-file", "--from-file", f".dockerconfigjson={registry}/config.json")
        if "secret/from-file created" not in out:
            failures.append(f"docker-registry secret from a config.json: {out}")
        out = secret("wrong-key", "--from-file", f"config.json={registry}/config.json", expect=2)
        if "holds only the key .dockerconfigjson, not \"config.json\"" not in out:
            failures.append(f"docker-registry secret with another key: {out}")
        out = secret("not-json", "--from-file", f".dockerconfigjson={registry}/ca.pem", expect=2)
        if "not a docker config.json" not in out:
            failures.append(f"docker-registry secret from a non-JSON file: {out}")
        out = run("pull", *flags, "Not/Valid", expect=2)
        if "expected [registry/]name[:tag][@sha256:digest]" not in out:
            failures.append(f"pull of a bad reference: {out}")
    for f in failures:
        print("FAIL:", f)
    print("image-cli: all checks passed" if not failures else f"image-cli: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
