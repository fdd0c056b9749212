#!/usr/bin/env python3
"""git input artifacts through the real git server (tests/git/gitserver.py): HTTPS with
credentials from secrets, ssh with a key from a secret, a tag and a commit as revision, a
shallow clone, a repository on this machine (file://), and the messages of a wrong
password and of a revision that does not exist.
Usage: git_artifacts_test.py SKIFF GITSERVER_DIR"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def workflow(name, git, command):
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: {name}
spec:
  entrypoint: main
  templates:
    - name: main
      inputs:
        artifacts:
          - name: src
            path: /tmp/src
            git: {json.dumps(git)}
      container:
        image: busybox
        command: [sh, -c, {json.dumps(command)}]
"""


def main():
    skiff, gitdir = sys.argv[1], sys.argv[2]
    if not os.path.exists(f"{gitdir}/env.json"):
        print("skipped: no git server")
        sys.exit(77)
    env = json.load(open(f"{gitdir}/env.json"))
    server = [sys.executable, f"{HERE}/gitserver.py"]
    commit = lambda *a: subprocess.run(server + ["commit", gitdir, *a], check=True, capture_output=True,  # noqa: E731
                                       text=True).stdout.strip()
    first = commit("artifact-src", "--tag", "v1", "README=first\n")
    commit("artifact-src", "README=second\n")
    url = env["url_base"] + "/artifact-src.git"
    with tempfile.TemporaryDirectory(prefix="skiff-git-art-") as data:
        def skiff_cmd(*a):
            return subprocess.run([skiff, *a, "--data", data], capture_output=True, text=True)
        skiff_cmd("secret", "create", "generic", "git-creds", "--from-literal", f"user={env['username']}",
                  "--from-literal", f"pass={env['password']}", "--from-literal", "wrong=not-it",
                  "--from-file", f"key={env['ssh_key']}")
        cases = [
            ("git-https-tag", {"repo": url, "revision": "v1", "insecureSkipTLS": True,
                               "usernameSecret": {"name": "git-creds", "key": "user"},
                               "passwordSecret": {"name": "git-creds", "key": "pass"}},
             "cat /tmp/src/README", "Succeeded", "first"),
            ("git-https-shallow", {"repo": url, "depth": 1, "insecureSkipTLS": True,
                                   "usernameSecret": {"name": "git-creds", "key": "user"},
                                   "passwordSecret": {"name": "git-creds", "key": "pass"}},
             "cat /tmp/src/README; git -C /tmp/src rev-list --count HEAD 2>/dev/null || echo", "Succeeded", "second"),
            ("git-ssh-commit", {"repo": env["ssh_url_base"] + "/artifact-src.git", "revision": first,
                                "sshPrivateKeySecret": {"name": "git-creds", "key": "key"}, "insecureIgnoreHostKey": True},
             "cat /tmp/src/README", "Succeeded", "first"),
            ("git-local", {"repo": "file://" + env["repos_dir"] + "/artifact-src.git"},
             "cat /tmp/src/README", "Succeeded", "second"),
            ("git-wrong-password", {"repo": url, "insecureSkipTLS": True,
                                    "usernameSecret": {"name": "git-creds", "key": "user"},
                                    "passwordSecret": {"name": "git-creds", "key": "wrong"}},
             "true", "Error", "git clone " + url + " failed"),
            ("git-no-revision", {"repo": url, "revision": "no-such-tag", "insecureSkipTLS": True,
                                 "usernameSecret": {"name": "git-creds", "key": "user"},
                                 "passwordSecret": {"name": "git-creds", "key": "pass"}},
             "true", "Error", "git checkout no-such-tag failed"),
        ]
        for name, git, command, phase, want in cases:
            path = f"{data}/{name}.yaml"
            with open(path, "w") as f:
                f.write(workflow(name, git, command))
            run = subprocess.run([skiff, "run", "--executor", "host", "--data", data, "-o", "json", path],
                                 capture_output=True, text=True, timeout=120)
            try:
                wf = json.loads(run.stdout)
            except ValueError:
                fail(f"{name}: no JSON from skiff run: {run.stdout[-500:]} {run.stderr[-500:]}")
            node = wf["status"]["nodes"][name]
            got = node.get("outputs", {}).get("result", "") if phase == "Succeeded" else node.get("message", "")
            if wf["status"]["phase"] != phase or want not in got:
                fail(f"{name}: phase {wf['status']['phase']}, {got!r}; want {phase} with {want!r}")
            if env["password"] in json.dumps(wf):
                fail(f"{name}: the password shows in the workflow's status")
            print(f"ok: {name}")
    print("git artifacts: ok")


if __name__ == "__main__":
    main()
