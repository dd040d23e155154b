#!/usr/bin/env python3
"""Reruns `parity compare` over the port corpus (examples/ports/corpus.json) and the third-party pairs
(examples/hub_pairs/pairs.json) and records what Parity measured beside what the scripts measured with the real
frameworks: exit code, whether the report says what the corpus expects (exit 0 with no diverging layer; exit 1 with
the expected cause first at the expected layer), the diverging layers, the findings' causes, and the max output
difference Parity computes (float32, and between the two Float64 runs).

    PARITY_BIN=path/to/parity python3 scripts/rerun_compare_corpora.py

Writes examples/ports/parity_run.json and examples/hub_pairs/parity_run.json. Needs no Python ML library.
"""
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PARITY = os.environ.get("PARITY_BIN") or os.path.join(REPO, ".build", "release", "parity")


def compare(a, b, x):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        r = subprocess.run([PARITY, "compare", a, b, "--input", x, "--json", report.name], capture_output=True, text=True)
        rep = json.load(open(report.name)) if r.returncode in (0, 1) else {}
    outputs = rep.get("outputs", [])
    return r.returncode, rep, dict(
        exit=r.returncode, diverging=[l["a"] for l in rep.get("layers", []) if l["diverges"]],
        shape_mismatches=[m["a"] for m in rep.get("shape_mismatches", [])], causes=[f["cause"] for f in rep.get("findings", [])],
        first_layer=(rep.get("findings") or [{}])[0].get("layer"),
        max_abs_outputs=[(o.get("metrics") or {}).get("max_abs") for o in outputs], max_abs_outputs_float64=[o.get("max_abs_float64") for o in outputs],
        error=r.stderr.strip()[-300:] if r.returncode not in (0, 1) else None)


def expected(e, got, layers):
    if got["exit"] != e["exit"]:
        return False
    if e["exit"] == 0:
        return not got["diverging"] and not got["shape_mismatches"]
    first_ok = bool(got["causes"]) and got["causes"][0] == e["cause"] and (got["first_layer"] or "").startswith(e["layer"] + " ↔")
    return first_ok and (got["diverging"] == layers or (not got["diverging"] and got["shape_mismatches"] == [e["layer"]]))


def main():
    failures = 0
    root = os.path.join(REPO, "examples", "ports")
    rows = []
    for e in json.load(open(os.path.join(root, "corpus.json")))["ports"]:
        m, port = e["model"], e["port"]
        _, _, got = compare(os.path.join(root, m, "keras.keras"), os.path.join(root, m, port, "torch.pt2"), os.path.join(root, m, "input.npz"))
        got = dict(model=m, port=port, expected=expected(e, got, [e.get("layer")]), frameworks_max_abs_output=e["max_abs_output"], **got)
        failures += not got["expected"]
        rows.append(got)
        print(f"{m}/{port}: exit {got['exit']} {'as expected' if got['expected'] else 'NOT AS EXPECTED'}, max abs {got['max_abs_outputs']}", flush=True)
    with open(os.path.join(root, "parity_run.json"), "w") as f:
        json.dump({"generated_by": "scripts/rerun_compare_corpora.py", "ports": rows}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    root = os.path.join(REPO, "examples", "hub_pairs")
    rows = []
    for e in json.load(open(os.path.join(root, "pairs.json")))["pairs"]:
        n = e["name"]
        _, _, got = compare(os.path.join(root, n, "keras.keras"), os.path.join(root, n, "torch.pt2"), os.path.join(root, n, "input.npz"))
        got = dict(name=n, expected=expected(e, got, e.get("layers") or [e.get("layer")]), frameworks_max_abs_outputs=e["max_abs_outputs"], **got)
        failures += not got["expected"]
        rows.append(got)
        print(f"hub {n}: exit {got['exit']} {'as expected' if got['expected'] else 'NOT AS EXPECTED'}, max abs {got['max_abs_outputs']}, causes {got['causes']}", flush=True)
    with open(os.path.join(root, "parity_run.json"), "w") as f:
        json.dump({"generated_by": "scripts/rerun_compare_corpora.py", "pairs": rows}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
