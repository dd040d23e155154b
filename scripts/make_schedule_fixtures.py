"""Generates Tests/Fixtures/train/schedules.json: Keras's float32 learning rates of learning-rate schedules
at steps 0…40, the table SpecTests reads (the schedules of its restarts test, where
⌊log(1 − f(1 − t_mul))/log(t_mul)⌋ lands on a whole number).

Each case: `spec` (as Parity's --optimizer parser and Python both read it) and `rates`, the value of
`keras.optimizers.schedules.<spec>` at steps 0, 1, …, as Python floats of the float32 results.

Run by hand in the reference venv (never in CI):
    TF_ENABLE_ONEDNN_OPTS=0 ~/venv-ref/bin/python scripts/make_schedule_fixtures.py
"""
import json
import os
import platform

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

OUT = "Tests/Fixtures/train/schedules.json"
STEPS = 41
SPECS = [
    "CosineDecayRestarts(0.05, first_decay_steps=3, t_mul=2.0, m_mul=0.7, alpha=0.1)",
    "CosineDecayRestarts(0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5)",
    "CosineDecayRestarts(0.1, first_decay_steps=5, t_mul=1.5, alpha=0.05)",
    "CosineDecayRestarts(0.01, first_decay_steps=1, t_mul=3.0, m_mul=0.9)",
]


def main():
    cases = []
    for spec in SPECS:
        schedule = eval("keras.optimizers.schedules." + spec)  # noqa: S307 (our own fixed specs)
        cases.append({"spec": spec, "rates": [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(STEPS)]})
    meta = {"generator": "scripts/make_schedule_fixtures.py (generated, do not edit)", "keras": keras.__version__,
            "backend": keras.backend.backend(), "python": platform.python_version()}
    with open(OUT, "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
