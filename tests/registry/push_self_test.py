#!/usr/bin/env python3
"""skiff image push-self against the test registry (tests/registry/registry.py): the skiff
image and the emissary-only image are pushed (Basic auth over TLS, a Bearer token with
push scope, plain HTTP when allowed), pushed again without uploading anything, pulled
back with `skiff image pull`, and run as steps of a workflow with --executor container:
/bin/skiff-emissary --version and /bin/skiff version must answer from inside the images.
Bad cases: wrong password, plain HTTP not allowed, a digest reference, no skiff-emissary
beside skiff."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

WORKFLOW = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: push-self-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: emissary, template: emissary}}
      - {{name: skiff, template: skiff}}
      - {{name: small, template: small}}
  - name: emissary
    container: {{image: "{full}", command: [/bin/skiff-emissary, --version]}}
  - name: skiff
    container: {{image: "{full}", command: [/bin/skiff, version]}}
  - name: small
    container: {{image: "{small}", args: [--version]}}
"""


def main():
    skiff, registry = os.path.abspath(sys.argv[1]), sys.argv[2]
    env = json.load(open(f"{registry}/env.json"))
    host, token_host, plain_host = env["host"], env["token_host"], env["plain_host"]
    flags = ["--registries", f"{registry}/registries.yaml", "--registry-config", f"{registry}/config.json"]
    failures = []

    def run(args, expect=0, timeout=120):
        p = subprocess.run([skiff, *args], capture_output=True, text=True, timeout=timeout)
        if p.returncode != expect:
            failures.append(f"skiff {' '.join(args)}: exit {p.returncode}, want {expect}\n{p.stderr[-3000:]}")
        return p

    def push(ref, *extra, expect=0):
        return run(["image", "push-self", ref, *extra], expect=expect)

    full, small = f"{host}/skiff-test/skiff:push-self", f"{host}/skiff-test/skiff-emissary:push-self"
    p = push(full, *flags)
    digest = p.stdout.strip().rpartition("@")[2]
    if not p.stdout.startswith(full + "@sha256:") or len(digest) != 71:
        failures.append(f"push-self should print {full}@sha256:..., printed {p.stdout!r}")
    print("push-self:", p.stderr.strip().replace("\n", "; "))
    again = push(full, *flags)
    if again.stdout != p.stdout:
        failures.append(f"a second push of the same binaries gave {again.stdout!r}, not {p.stdout!r}")
    if "pushed 0 blobs, 2 already there" not in again.stderr:
        failures.append(f"a second push should upload nothing: {again.stderr}")
    s = push(small, "--emissary-only", *flags)
    if not s.stdout.startswith(small + "@sha256:"):
        failures.append(f"push-self --emissary-only printed {s.stdout!r}")
    if "layer sha256:" not in s.stderr or " 1 files," not in s.stderr:
        failures.append(f"the emissary-only layer should hold one file: {s.stderr}")

    # A Bearer-token registry (the token must allow push) and a plain-HTTP one.
    push(f"{token_host}/skiff-test/skiff-emissary:token", "--emissary-only", *flags)
    push(f"{plain_host}/skiff-test/skiff-emissary:plain", "--emissary-only", "--plain-http", plain_host)
    out = push(f"{plain_host}/skiff-test/skiff-emissary:plain", "--emissary-only", expect=1).stderr
    if f"--plain-http {plain_host}" not in out:
        failures.append(f"pushing to a plain-HTTP registry without --plain-http should say how to allow it: {out}")

    # Bad cases.
    out = push(f"{host}/skiff-test/skiff-emissary:bad", "--emissary-only", "--registries",
               f"{registry}/registries.yaml", "--registry-config", f"{registry}/bad-config.json", expect=1).stderr
    if "refused the credentials of user skiff" not in out or "skiff-test/skiff-emissary" not in out:
        failures.append(f"push with a wrong password: {out}")
    out = push(f"{host}/skiff-test/skiff@sha256:{'0' * 64}", *flags, expect=2).stderr
    if "name a tag to push to, not a digest" not in out:
        failures.append(f"push to a digest: {out}")
    with tempfile.TemporaryDirectory(prefix="skiff-lone-") as lone:
        shutil.copy(skiff, f"{lone}/skiff")
        p2 = subprocess.run([f"{lone}/skiff", "image", "push-self", full, *flags], capture_output=True, text=True,
                            timeout=60)
        if p2.returncode != 1 or "skiff-emissary not found beside skiff" not in p2.stderr:
            failures.append(f"push-self without skiff-emissary: exit {p2.returncode}: {p2.stderr}")

    # Pulled back, then run in containers.
    with tempfile.TemporaryDirectory(prefix="skiff-push-self-") as data:
        out = run(["image", "pull", *flags, full, "--data", data]).stdout
        if digest not in out:
            failures.append(f"pull of {full} should give the pushed digest {digest}: {out}")
        wf = f"{data}/wf.yaml"
        with open(wf, "w") as f:
            f.write(WORKFLOW.format(full=full, small=small))
        p = run(["run", wf, "--executor", "container", "--data", data, *flags, "-o", "json"], timeout=300)
        try:
            nodes = json.loads(p.stdout)["status"]["nodes"].values()
        except (ValueError, KeyError) as e:
            failures.append(f"skiff run output is not a workflow ({e}): {p.stdout[-2000:]}")
            nodes = []
        results = {n.get("displayName"): (n.get("phase"), n.get("outputs", {}).get("result", "")) for n in nodes}
        for name, want in (("emissary", "skiff-emissary "), ("skiff", "skiff "), ("small", "skiff-emissary ")):
            phase, result = results.get(name, (None, ""))
            if phase != "Succeeded" or not result.startswith(want):
                failures.append(f"step {name}: phase {phase}, result {result!r}; want Succeeded and {want!r}...")

    for f in failures:
        print("FAIL:", f)
    print("push-self: all checks passed" if not failures else f"push-self: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
