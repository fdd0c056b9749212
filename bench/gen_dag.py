#!/usr/bin/env python3
"""Writes the same layered DAG of N no-op steps for skiff, make, ninja and snakemake.

  gen_dag.py N WIDTH OUTDIR [--chain]

Layer l has WIDTH nodes; node (l, w) depends on (l-1, w) and (l-1, (w+1) % WIDTH).
--chain makes a single chain of N nodes (each depends on the previous one).
Every node runs `true` exactly once in every tool.
"""
import os
import sys


def edges(n, width, chain):
    if chain:
        return [(f"n{i}", [f"n{i-1}"] if i else []) for i in range(n)]
    out = []
    layers = (n + width - 1) // width
    for l in range(layers):
        for w in range(min(width, n - l * width)):
            deps = []
            if l > 0:
                prev = min(width, n - (l - 1) * width)
                deps = sorted({f"n{l-1}-{w % prev}", f"n{l-1}-{(w + 1) % prev}"})
            out.append((f"n{l}-{w}", deps))
    return out


def main():
    n, width, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    chain = "--chain" in sys.argv
    g = edges(n, width, chain)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "dag.yaml"), "w") as f:
        f.write("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: bench\nspec:\n"
                "  entrypoint: main\n  templates:\n    - name: noop\n"
                "      container: {image: busybox, command: [\"true\"]}\n"
                "    - name: main\n      dag:\n        tasks:\n")
        for name, deps in g:
            d = f", dependencies: [{', '.join(deps)}]" if deps else ""
            f.write(f"          - {{name: {name}, template: noop{d}}}\n")
    with open(os.path.join(outdir, "Makefile"), "w") as f:
        f.write(".PHONY: all " + " ".join(name for name, _ in g) + "\n")
        f.write("all: " + " ".join(name for name, _ in g) + "\n")
        for name, deps in g:
            f.write(f"{name}: {' '.join(deps)}\n\t@true\n")
    with open(os.path.join(outdir, "build.ninja"), "w") as f:
        # Phony-like edges whose outputs are never written: each runs once per build.
        f.write("rule noop\n  command = true\n")
        for name, deps in g:
            f.write(f"build {name}: noop{(' | ' + ' '.join(deps)) if deps else ''}\n")
    with open(os.path.join(outdir, "Snakefile"), "w") as f:
        f.write("DEPS = {\n")
        for name, deps in g:
            f.write(f"  {name!r}: {deps!r},\n")
        f.write("}\n\nrule all:\n  input: expand('out/{n}', n=list(DEPS))\n\n"
                "rule node:\n  input: lambda wc: [f'out/{d}' for d in DEPS[wc.n]]\n"
                "  output: 'out/{n}'\n  shell: 'true; touch {output}'\n")


if __name__ == "__main__":
    main()
