#!/usr/bin/env python3
"""Records what kubectl prints for generated JSONPath templates, as the expectations of
src/kube/jsonpath_test.cc (JsonPath.PrintsWhatKubectlPrinted), in
src/kube/jsonpath_kubectl_cases.inc.

    scripts/k8s-up
    python3 tests/k8s/record_jsonpath_cases.py [KUBECTL]

kubectl reads each object as `kubectl get` would (`create -f FILE --dry-run=client -o
jsonpath=...`: integers as int64, other numbers as float64), so it needs the test cluster
for discovery only; nothing is created. Templates come from a fixed seed, so a rerun
records the same cases unless kubectl changes.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import cluster_env  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "src", "kube", "jsonpath_kubectl_cases.inc")

OBJECTS = [
    {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "pi", "namespace": "default", "labels": {"app": "pi", "tier": "web"}},
     "spec": {"containers": [{"name": "a", "image": "busybox:1", "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                             {"name": "b", "image": "nginx:2", "ports": []}, {"name": "c", "image": "redis:3"}]},
     "status": {"phase": "Running", "succeeded": 1, "failed": 4, "ratio": 0.25, "whole": 2.0, "big": 1e20, "ok": True,
                "note": None, "html": "<a&b>",
                "conditions": [{"type": "Ready", "status": "True", "n": 3}, {"type": "Synced", "status": "False", "n": 7}]}},
    # No "items" key: kubectl would read the object as a List.
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"},
     "a": [[1, 2], [3, [4, 5]], [], {"k": [6]}],
     "m": {"10": "ten", "2": "two", "e": {}, "l": [], "z": None},
     "nums": [-1, 0, 2.5, -0.5, 1e-7, 123456789, 1e300, 3.0, 9007199254740993],
     "strs": ["", " ", "a\"b", "tab\there", "üñï", "<&>", "x\\y"],
     "mixed": [None, True, "s", 1, {"v": 1}, [1]],
     "its": [{"id": 1, "tags": ["a", "b"], "on": True, "w": 1.5}, {"id": 2, "tags": [], "on": False, "w": -2},
             {"id": 3, "on": None, "w": 2.5, "sub": {"id": 30}}]},
]

SEGMENTS = [
    [".metadata", ".name", ".spec", ".containers", ".ports", ".containerPort", ".status", ".conditions", ".type", ".n",
     ".phase", ".labels", ".app", ".image", ".missing", ".kind", ".ratio", ".big", ".note", ".ok", ".html", ".whole",
     "[0]", "[1]", "[*]", "[-1]", "[0:2]", "[::2]", "[1:]", "[5]", "[-5]", "[2:1]", "[0:0]", "[:]", "[]", "..name",
     "..type", "..n", ".*", "..containerPort", "['name']", "['metadata']", "[0,2]", "['name','image']",
     '[?(@.type=="Ready")]', "[?(@.n>5)]", "[?(@.n==3)]", "[?(@.n==3.0)]", "[?(@.ports)]", '[?(@.type!="Ready")]',
     '[?(@.n<"x")]', "[?(@.status==True)]", "[?(@.n>=@.n)]", '[?(@.name<"b")]', '[?(@.missing=="x")]', "[?(@)]",
     "[?(@.ok==true)]", "[?(@.type)]", "[?(@.n<=7)]", " ", "@", "$"],
    [".a", ".m", ".nums", ".strs", ".mixed", ".its", ".id", ".tags", ".on", ".w", ".sub", ".k", ".v", ".e", ".l", ".z",
     ".10", ".2", "['10']", "['e']", "[0]", "[1]", "[2]", "[3]", "[*]", "[-1]", "[-2:]", "[1:3]", "[::3]", "[0:9:4]",
     "[:-1]", "[0,1]", "[1,-1]", "..id", "..k", "..v", ".*", "..[0]", "[?(@.id>1)]", "[?(@.on==true)]", "[?(@.on)]",
     "[?(@.w<2)]", "[?(@.w>=-2)]", "[?(@.id==2)]", "[?(@.tags)]", "[?(@.sub.id==30)]", "[?(@==1)]", "[?(@>0)]",
     '[?(@=="s")]', "[?(@!=true)]", "[?(@.w==2.5)]", "[?(@.w==-2)]", "[?(@.id!=@.w)]"],
]
LITERALS = ['"x"', "'y'", '"\\n"', "1", "-2", "1.5", "true", "false", '"a\\tb"']
SOUP = ["{", "}", "[", "]", "(", ")", "?", "@", "$", ".", "..", "*", ",", ":", "'", '"', "-", "0", "1", " ", "range",
        "end", "[?(", "==", "!=", "<", ">=", "name", "spec", "containers", "true", "1.5", "metadata"]


def templates(rng, segments, count):
    def path(n):
        return "".join(rng.choice(segments) for _ in range(n))

    def action():
        r = rng.random()
        if r < 0.6:
            return "{" + path(rng.randint(1, 4)) + "}"
        if r < 0.7:
            return "{" + rng.choice(LITERALS) + "}"
        if r < 0.88:
            return "{range " + path(rng.randint(1, 3)) + "}" + action() + ('{"|"}{end}' if rng.random() < 0.8 else "")
        if r < 0.92:
            return "{end}"
        return "txt"

    out = ["".join(action() for _ in range(rng.randint(1, 2))) for _ in range(count)]
    out += ["".join(rng.choice(SOUP) for _ in range(rng.randint(1, 12))) for _ in range(count // 3)]
    return out


def kubectl_print(kubectl, path, template, strict):
    args = [kubectl, "create", "-f", path, "--dry-run=client", "--validate=false", "-o", "jsonpath=" + template]
    if strict:
        args.insert(-2, "--allow-missing-template-keys=false")
    p = subprocess.run(args, capture_output=True)
    return p.returncode == 0, p.stdout.decode("utf-8", "replace")


def printable(s):
    return all(c in "\t\n" or ord(c) >= 0x20 for c in s) and ")jp\"" not in s


def main():
    env = cluster_env(ROOT)
    kubectl = sys.argv[1] if len(sys.argv) > 1 else env["bin"] + "/kubectl"
    os.environ.setdefault("KUBECONFIG", env["kubeconfig"])
    rng = random.Random(12)
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, obj in enumerate(OBJECTS):
            path = os.path.join(tmp, f"{index}.json")
            with open(path, "w") as f:
                json.dump(obj, f)
            seen = set()
            for template in templates(rng, SEGMENTS[index], 450):
                if template in seen or len(template) > 100 or not printable(template):
                    continue
                seen.add(template)
                for strict in (False, True) if index == 0 else (False,):
                    ok, out = kubectl_print(kubectl, path, template, strict)
                    if len(out) <= 200 and printable(out):
                        cases.append((index, strict, template, ok, out if ok else ""))
    with open(OUT, "w") as f:
        f.write("// Generated by tests/k8s/record_jsonpath_cases.py from kubectl's output: do not edit.\n")
        f.write("const char* const kKubectlObjects[] = {\n")
        for obj in OBJECTS:
            f.write('    R"jp(' + json.dumps(obj, ensure_ascii=False) + ')jp",\n')
        f.write("};\n\nconst KubectlCase kKubectlCases[] = {\n")
        for index, strict, template, ok, out in cases:
            f.write(f'    {{{index}, {"true" if strict else "false"}, R"jp({template})jp", {"true" if ok else "false"}, '
                    f'R"jp({out})jp"}},\n')
        f.write("};\n")
    print(f"{len(cases)} cases in {OUT}")


if __name__ == "__main__":
    main()
