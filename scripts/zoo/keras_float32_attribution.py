"""Which Keras layer classes put a converted model's float32 error at its output: for each class, the
converted `.keras` is rebuilt with every layer in float64 except that class (float32), run by Keras, and
compared with PyTorch's float64 run of the zoo model (`expected_float64.npz`). Operation nodes follow
their inputs' dtype. Only Keras is imported (run it in the reference venv):

    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/zoo/keras_float32_attribution.py \
        MODEL.keras .zoo/torchvision/efficientnet_b5

(`parity convert MODEL.pt2 --to keras`, or `torch_to_keras_zoo.py --keep`, writes MODEL.keras.)
Measured this way for docs/zoo-keras.md (EfficientNet B0, B1, B5).
"""
import json
import os
import sys
import zipfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def main(path, zoo):
    import keras
    sys.setrecursionlimit(20000)
    model = keras.saving.load_model(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    with np.load(os.path.join(zoo, "input.npz")) as archive:
        x = archive[archive.files[0]].astype(np.float64)
    with np.load(os.path.join(zoo, "expected_float64.npz")) as archive:
        exact = archive[archive.files[0]]
    skip = {"InputLayer", "Permute", "Reshape", "Flatten", "ZeroPadding2D", "Cropping2D"}  # exact in any dtype
    classes = sorted({layer["class_name"] for layer in config["config"]["layers"] if "dtype" in layer["config"]} - skip)
    for kept in classes:
        mixed = json.loads(json.dumps(config))
        for layer in mixed["config"]["layers"]:
            if layer["class_name"] not in (kept, "InputLayer") and "dtype" in layer["config"]:
                layer["config"]["dtype"] = "float64"
        twin = keras.saving.deserialize_keras_object(mixed)
        for source, target in zip(model.weights, twin.weights):
            target.assign(np.asarray(source).astype(target.dtype))
        out = np.asarray(twin(x), np.float64)
        worst = float((np.abs(out - exact) / np.maximum(1, np.abs(exact))).max())
        print(f"{kept:24s} alone in float32: {worst:.2e} from PyTorch's float64 run", flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    main(*sys.argv[1:3])
