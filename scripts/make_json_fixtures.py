"""Generates Tests/Fixtures/formats/json/: texts written by Python's json module (what Keras writes
to config.json, what torch's serializer and the fixture scripts write) and what Python's json.loads
says about hostile texts, for Parity's one JSON reader and writer (ParityFormats/JSON).

Run by hand (never in CI; the Swift tests never need Python):
    ~/venv-ref/bin/python scripts/make_json_fixtures.py

Files (generated, do not edit):
- python.json: json.dumps(value) with the defaults (", " / ": ", ensure_ascii, NaN/Infinity bare) of
  values covering float repr (random bit patterns, powers of ten, subnormals, the 1e16 switch to
  exponent form), integers up to int64, strings with every escape, non-ASCII and astral characters,
  member order that is not sorted. One text per line.
- compact.json: the same values with separators=(",", ":") and ensure_ascii=False (serde_json's
  to_string, the safetensors header writer), non-finite floats left out (serde refuses them).
- loads.json: texts and what json.loads does with each ("ok" or the exception's message), for the
  reader's rule table.
"""
import json
import math
import os
import random
import struct
import sys

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "formats", "json")


def floats():
    rng = random.Random(14)
    values = [0.0, -0.0, 1.0, -1.0, 0.1, 1e-5, 1e-3, 0.99, 0.3, 1e15, 1e16, 9007199254740993.0, 123456789012345678.0,
              5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e-7, 1.001e-5, 0.0001, 0.00001, 1e22, 1e21]
    values += [10.0 ** e for e in range(-30, 31)]
    while len(values) < 400:
        bits = rng.getrandbits(64)
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isfinite(x):
            values.append(x)
    return values


def strings():
    return ["", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", "\x00\x01\x1f\x7f", "é ü ß", "日本語", "😀 astral 𝄞",
            "\u2028\u2029", "mixed é\n😀\"", "\ufeffbom inside"]


def values():
    out = [[x] for x in floats()]
    out += [[s] for s in strings()]
    # An integer beyond int64 reads as a double (written back as 1e+20): JSONTests.numbers checks it.
    out.append([0, 1, -1, 9223372036854775807, -9223372036854775808, 2 ** 53 + 1])
    out.append({"zeta": 1, "alpha": [1.0, 2, "x"], "mid": {"b": None, "a": True, "c": False}, "": {}, "é": []})
    out.append({"class_name": "Dense", "config": {"name": "dense", "units": 3, "epsilon": 0.001, "momentum": 0.99,
                                                  "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                                                         "config": {"seed": None}}}})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    vals = values()
    specials = [[float("nan"), float("inf"), float("-inf")]]
    with open(os.path.join(OUT, "python.json"), "w") as f:
        for v in vals + specials:
            f.write(json.dumps(v) + "\n")
    with open(os.path.join(OUT, "compact.json"), "w", encoding="utf-8") as f:
        for v in vals:
            f.write(json.dumps(v, separators=(",", ":"), ensure_ascii=False) + "\n")
    texts = ["{}", "[]", "NaN", "-Infinity", "[1,]", "{\"a\" 1}", "01", "1.", "-", "+1", ".5", "\"\\x\"", "\"a", "[1] x",
             "tru", "\"\\ud800\\u0041\"", "\"\\udc00\"", "{\"a\": 1, \"a\": 2}", "\"\t\"", "[1 2]", "{1: 2}", "'a'",
             "/* c */ 1", "\ufeff[]", "1e400", "-0", "[\"\\u00e9\"]", "nul", "[" * 300 + "]" * 300]
    table = []
    for t in texts:
        try:
            json.loads(t)
            outcome = "ok"
        except (ValueError, RecursionError) as error:
            outcome = str(error)
        table.append({"text": t, "python": outcome})
    with open(os.path.join(OUT, "loads.json"), "w") as f:
        json.dump({"generator": "scripts/make_json_fixtures.py", "python": sys.version.split()[0], "cases": table}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
