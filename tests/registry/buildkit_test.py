#!/usr/bin/env python3
"""pipeline/buildkit: the reference pipeline's container-build step, for real.

Pushes the step images (pipeline_images.py), then `skiff run --executor container` a
workflow whose step runs `buildctl-daemonless.sh build` in moby/buildkit:v0.34.2,
privileged, on the host's network, with the registry's CA and a docker config.json
mounted from secrets made with `skiff secret create generic --from-file`. It checks that
the workflow Succeeds, that the registry serves the tag with the digest the step output,
and that the pushed image runs; then that a wrong password and a CA that did not sign the
registry fail the workflow with the reason in the step's log.

  buildkit_test.py SKIFF REGISTRY_DIR
Exits 77 (skip) when BuildKit is not built: run scripts/buildkit-build.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline_images  # noqa: E402
import registry  # noqa: E402

# The container-build step as the reference writes it, plus what this machine needs:
# hostNetwork (the registry listens on 127.0.0.1 only), an emptyDir for buildkitd's state
# (its snapshots cannot be overlays on the image's overlay rootfs) and buildkitd.toml from
# a config map (BuildKit speaks plain HTTP to 127.0.0.1 unless told `http = false`).
WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: container-build-}
spec:
  entrypoint: main
  hostNetwork: true
  arguments:
    parameters:
      - {name: container_image}
      - {name: container_tag}
  volumeClaimTemplates:
    - metadata: {name: workdir}
      spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}
  volumes:
    - {name: harbor-ca, secret: {secretName: @CA_SECRET@}}
    - {name: docker-config, secret: {secretName: @CONFIG_SECRET@}}
    - {name: buildkitd-config, configMap: {name: buildkitd-config}}
    - {name: buildkit-state, emptyDir: {}}
  templates:
    - name: main
      dag:
        tasks:
          - {name: checkout, template: checkout}
          - name: build
            template: container-build
            dependencies: [checkout]
            arguments:
              parameters:
                - {name: image, value: "{{workflow.parameters.container_image}}"}
                - {name: tag, value: "{{workflow.parameters.container_tag}}"}
      outputs:
        parameters:
          - name: image-digest
            valueFrom:
              expression: "jsonpath(tasks.build.outputs.parameters.metadata, '$[\\"containerimage.digest\\"]')"
    - name: checkout
      script:
        image: busybox:1.36
        command: [sh]
        volumeMounts: [{name: workdir, mountPath: /workdir}]
        source: |
          mkdir -p /workdir/CI
          cd /workdir/CI
          echo '<html><body>built by buildkit in {{workflow.name}}</body></html>' > index.html
          printf 'FROM @REGISTRY@/library/busybox:1.36\\nCOPY index.html /www/index.html\\nRUN echo ran a RUN line > /www/run.txt\\nCMD ["busybox", "httpd", "-f", "-h", "/www"]\\n' > Dockerfile
    - name: container-build
      inputs:
        parameters: [{name: image}, {name: tag}]
      container:
        image: moby/buildkit:v0.34.2
        command: [buildctl-daemonless.sh]
        args:
          - build
          - --frontend
          - dockerfile.v0
          - --local
          - context=/workdir/CI
          - --local
          - dockerfile=/workdir/CI
          - --output
          - type=image,name={{inputs.parameters.image}}:{{inputs.parameters.tag}},push=true
          - --metadata-file
          - /tmp/metadata.json
        env:
          - {name: DOCKER_CONFIG, value: /root/.docker}
        securityContext: {privileged: true}
        volumeMounts:
          - {name: workdir, mountPath: /workdir}
          - {name: buildkit-state, mountPath: /var/lib/buildkit}
          - {name: buildkitd-config, mountPath: /etc/buildkit}
          - {name: harbor-ca, mountPath: /etc/ssl/certs/harbor-ca.crt, subPath: harbor-ca.crt}
          - {name: docker-config, mountPath: /root/.docker}
      outputs:
        parameters:
          - name: metadata
            valueFrom: {path: /tmp/metadata.json}
"""

RUN_IMAGE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: run-demo-app-}
spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: @IMAGE@
        command: [cat, /www/index.html, /www/run.txt]
"""


def main():
    skiff, regdir = sys.argv[1], os.path.abspath(sys.argv[2])
    env = json.load(open(f"{regdir}/env.json"))
    host = env["host"]
    reg = registry.Registry(f"https://{host}", f"{regdir}/ca.pem")
    failures = []

    def check(what, ok, detail=""):
        print(("ok  " if ok else "FAIL"), what)
        if not ok:
            failures.append(f"{what}: {detail}")

    t0 = time.monotonic()
    try:
        pushed = pipeline_images.push_pipeline_images(reg)
    except pipeline_images.MissingTool as e:
        print(f"skip: {e}")
        sys.exit(77)
    first = time.monotonic() - t0
    t0 = time.monotonic()
    pipeline_images.push_pipeline_images(reg)
    print(f"images pushed in {first:.1f} s ({', '.join(f'{n} {s:.1f} s' for n, (_, s) in pushed.items())}); "
          f"again in {time.monotonic() - t0:.1f} s")

    with tempfile.TemporaryDirectory(prefix="skiff-buildkit-") as tmp:
        data = f"{tmp}/data"
        regflags = ["--registries", f"{regdir}/registries.yaml", "--registry-config", f"{regdir}/config.json"]

        def skiff_cmd(*args, timeout=60):
            p = subprocess.run([skiff, *args, "--data", data], capture_output=True, text=True, timeout=timeout)
            if p.returncode != 0:
                failures.append(f"skiff {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
            return p

        with open(f"{tmp}/buildkitd.toml", "w") as f:
            f.write(f'# 127.0.0.1 is plain HTTP to BuildKit unless said otherwise\n[registry."{host}"]\n  http = false\n')
        skiff_cmd("configmap", "create", "buildkitd-config", "--from-file", f"buildkitd.toml={tmp}/buildkitd.toml")
        for name, key, path in (("harbor-ca", "harbor-ca.crt", "ca.pem"),
                                ("harbor-ca-other", "harbor-ca.crt", "other-ca.pem"),
                                ("docker-config", "config.json", "config.json"),
                                ("docker-config-bad", "config.json", "bad-config.json")):
            skiff_cmd("secret", "create", "generic", name, "--from-file", f"{key}={regdir}/{path}")

        def run_workflow(text, name, params=(), timeout=300):
            """(workflow JSON, the process, seconds); p.logs holds the steps' log lines."""
            path = f"{tmp}/{name}.yaml"
            with open(path, "w") as f:
                f.write(text)
            # A run's directory, logs included, goes when `skiff run` ends: --logs prints
            # the lines ("<pod>: <line>") before the JSON.
            argv = [skiff, "run", path, "--executor", "container", "--data", data, "-o", "json", "--logs", *regflags]
            for p in params:
                argv += ["-p", p]
            t = time.monotonic()
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            secs = time.monotonic() - t
            start = 0 if p.stdout.startswith("{") else p.stdout.find("\n{") + 1
            p.logs = p.stdout[:start] if start > 0 else p.stdout
            try:
                wf = json.loads(p.stdout[start:]) if start >= 0 else {}
            except ValueError:
                wf = {}
            return wf, p, secs

        def build(name, ca_secret, config_secret, tag):
            text = (WORKFLOW.replace("@CA_SECRET@", ca_secret).replace("@CONFIG_SECRET@", config_secret)
                    .replace("@REGISTRY@", host))
            return run_workflow(text, name, [f"container_image={host}/demo-app", f"container_tag={tag}"])

        def node(wf, display):
            for n in wf.get("status", {}).get("nodes", {}).values():
                if n.get("displayName") == display:
                    return n
            return {}

        def step_log(p, wf, display):
            """The lines the build step printed (--logs prefixes each with its pod's name;
            only the build step says anything)."""
            return p.logs

        tag = f"t{os.getpid()}"
        wf, p, secs = build("good", "harbor-ca", "docker-config", tag)
        phase = wf.get("status", {}).get("phase")
        print(f"build + push workflow: {phase} in {secs:.1f} s")
        check("the container-build workflow Succeeds", phase == "Succeeded",
              f"{phase}\n{p.stderr[-3000:]}\n{step_log(p, wf, 'build')[-3000:]}")
        params = {q["name"]: q.get("value") for q in wf.get("status", {}).get("outputs", {}).get("parameters", []) or
                  node(wf, wf.get("metadata", {}).get("name")).get("outputs", {}).get("parameters", [])}
        digest = params.get("image-digest", "")
        check("the step outputs the image digest", digest.startswith("sha256:"), f"{params}")
        accept = ",".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                           "application/vnd.docker.distribution.manifest.v2+json",
                           "application/vnd.docker.distribution.manifest.list.v2+json"])
        try:
            with reg.request("GET", f"/v2/demo-app/manifests/{tag}", headers={"Accept": accept}) as r:
                body = r.read()
            served = "sha256:" + hashlib.sha256(body).hexdigest()
        except urllib.error.HTTPError as e:
            served = f"HTTP {e.code}"
        check("the registry serves the tag with the digest the step output", served == digest,
              f"served {served}, step said {digest!r}")

        if phase == "Succeeded":
            wf, p, secs = run_workflow(RUN_IMAGE.replace("@IMAGE@", f"{host}/demo-app:{tag}"), "run-image")
            result = node(wf, wf.get("metadata", {}).get("name")).get("outputs", {}).get("result", "")
            check("the pushed image runs and holds the page and the RUN line's file",
                  "built by buildkit in container-build-" in result and "ran a RUN line" in result,
                  f"{wf.get('status', {}).get('phase')} {result!r}\n{p.stderr[-2000:]}")
            wf, p, secs = run_workflow(RUN_IMAGE.replace("@IMAGE@", f"{host}/demo-app@{digest}"), "run-digest")
            check("... also by the digest the step output", wf.get("status", {}).get("phase") == "Succeeded",
                  p.stderr[-2000:])

        for case, ca_secret, config_secret, want in (
                ("a wrong registry password", "harbor-ca", "docker-config-bad", "401 Unauthorized"),
                ("a CA that did not sign the registry", "harbor-ca-other", "docker-config",
                 "certificate signed by unknown authority")):
            wf, p, secs = build(case.replace(" ", "-"), ca_secret, config_secret, tag + "-bad")
            phase = wf.get("status", {}).get("phase")
            n = node(wf, "build")
            log = step_log(p, wf, "build")
            print(f"{case}: {phase} in {secs:.1f} s; node message {n.get('message')!r}")
            check(f"{case}: the workflow Fails", phase == "Failed", f"{phase}\n{p.stderr[-2000:]}")
            check(f"{case}: the step's log says why ({want})", want in log, log[-3000:])
    print("pipeline/buildkit: all checks passed" if not failures else f"pipeline/buildkit: {len(failures)} checks failed")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
