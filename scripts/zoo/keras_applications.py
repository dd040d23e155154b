"""Exports keras.applications models in the shared zoo layout (docs/zoo-layout: `.zoo/<source>/<name>/`
with `model.keras`, `input.npz`, `expected.npz`, `meta.json`).

Every model of `keras.applications`, built as a user builds it (`weights=None`, the smallest input
the model accepts, otherwise defaults) except for two choices that make the measure honest:
- `classifier_activation=None`: the outputs are the logits, so a difference is not hidden by the
  softmax squeezing 1000 classes into values of ~1e-3;
- the BatchNormalization statistics and ConvNeXt's LayerScale gammas are drawn at random (defaults
  make BN an identity and LayerScale a 1e-6 factor, which would leave whole branches untested).
Saved with `model.save("model.keras")`, Keras's float32 outputs from `model.predict`.

`--subset` writes instead the small configurations of the same families (the applications' own
builders with tiny widths and depths) committed in `Tests/Fixtures/zoo/keras.applications/`.

Run in the reference venv (TensorFlow only; never with torch in the same process):
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/zoo/keras_applications.py [--only NAME,...] [--subset]
"""
import argparse
import json
import os
import shutil
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.src.applications import convnext, efficientnet, efficientnet_v2, mobilenet_v3, resnet  # noqa: E402

SOURCE = "keras.applications"
# The smallest input each model accepts (32×32 unless it says otherwise).
INPUT_SIZE = {"Xception": 71, "InceptionV3": 75, "InceptionResNetV2": 75}


def full_models():
    for name in sorted(n for n in dir(keras.applications) if n[0].isupper() and callable(getattr(keras.applications, n))):
        size = INPUT_SIZE.get(name, 32)
        yield name, (lambda n=name, s=size: getattr(keras.applications, n)(
            input_shape=(s, s, 3), weights=None, classifier_activation=None)), size


def tiny_models():
    """Small configurations of the application families, built by the applications' own code."""
    def mobilenet_v3_stack(x, kernel, activation, se_ratio):
        x = mobilenet_v3._inverted_res_block(x, 1, 8, 3, 2, se_ratio, mobilenet_v3.relu, 0)
        x = mobilenet_v3._inverted_res_block(x, 3, 16, kernel, 2, se_ratio, activation, 1)
        return mobilenet_v3._inverted_res_block(x, 3, 16, kernel, 1, se_ratio, activation, 2)
    yield "MobileNetV3_tiny_config", lambda: mobilenet_v3.MobileNetV3(
        mobilenet_v3_stack, 64, input_shape=(32, 32, 3), model_type="small", weights=None, classes=10,
        classifier_activation=None, name="mobilenetv3_test"), 32
    yield "ConvNeXt_tiny_config", lambda: convnext.ConvNeXt(
        depths=[1, 1, 1, 1], projection_dims=[8, 16, 24, 32], input_shape=(32, 32, 3), weights=None, classes=10,
        classifier_activation=None, name="convnext_test"), 32
    yield "EfficientNet_tiny_config", lambda: efficientnet.EfficientNet(
        0.1, 0.1, 32, input_shape=(32, 32, 3), weights=None, classes=10, classifier_activation=None, name="efficientnet_test"), 32
    yield "EfficientNetV2_tiny_config", lambda: efficientnet_v2.EfficientNetV2(
        0.1, 0.1, 32, input_shape=(32, 32, 3), weights=None, classes=10, classifier_activation=None, name="efficientnetv2-b0"), 32
    def resnet_v1(x):
        return resnet.stack_residual_blocks_v1(resnet.stack_residual_blocks_v1(x, 8, 1, stride1=1, name="conv2"), 16, 2, name="conv3")

    def resnet_v2(x):
        x = resnet.stack_residual_blocks_v2(x, 8, 2, name="conv2")
        x = resnet.stack_residual_blocks_v2(x, 16, 2, stride1=1, name="conv3")
        return x
    yield "ResNet_tiny_config", lambda: resnet.ResNet(
        resnet_v1, preact=False, use_bias=True, name="resnet_test", input_shape=(32, 32, 3), weights=None,
        include_top=False, pooling="avg"), 32
    yield "ResNetV2_tiny_config", lambda: resnet.ResNet(
        resnet_v2, preact=True, use_bias=True, name="resnetv2_test", input_shape=(32, 32, 3), weights=None,
        include_top=False, pooling="avg"), 32


def randomise(model, rng):
    """BatchNormalization statistics and affine parameters, and LayerScale gammas, drawn at random."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            values = []
            for w in layer.weights:
                leaf = w.path.split("/")[-1]
                # Each BN scales by gamma/sqrt(var + eps) <= 1: wider ranges make the deepest models
                # (EfficientNetV2-L: logits ~1e4) so ill-conditioned that float32 noise dominates.
                low, high = {"gamma": (0.8, 1.0), "beta": (-0.1, 0.1), "moving_mean": (-0.1, 0.1), "moving_variance": (0.9, 1.5)}[leaf]
                values.append(rng.uniform(low, high, w.shape).astype(np.float32))
            layer.set_weights(values)
        elif kind == "LayerScale":
            layer.set_weights([rng.uniform(0.05, 0.3, w.shape).astype(np.float32) for w in layer.weights])


def export(name, build, size, root, seed):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    model = build()
    randomise(model, rng)
    layers = model.get_config()["layers"]
    preprocessing = any(l["class_name"] in ("Rescaling", "Normalization") for l in layers[:4])
    low, high = (0.0, 255.0) if preprocessing else (-1.0, 1.0)
    x = rng.uniform(low, high, (2, size, size, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    folder = os.path.join(root, SOURCE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.save(os.path.join(folder, "model.keras"))
    np.savez(os.path.join(folder, "input.npz"), **{model.inputs[0]._keras_history[0].name: x})
    np.savez(os.path.join(folder, "expected.npz"), **{f"output{i}": np.asarray(e) for i, e in enumerate(expected)})
    family = {"Mobile": "mobilenet", "Efficient": "efficientnet", "ConvNeXt": "convnext", "DenseNet": "densenet", "NASNet": "nasnet",
              "ResNet": "resnet", "VGG": "vgg", "Inception": "inception", "Xception": "xception"}
    meta = {"name": name, "source": SOURCE, "family": next((v for k, v in family.items() if name.startswith(k)), name.lower()),
            "params": int(model.count_params()),
            "framework_versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "python": sys.version.split()[0]},
            "notes": f"weights=None, input {size}x{size}x3 in [{low:g}, {high:g}], batch 2, classifier_activation=None (logits); "
                     "BatchNormalization statistics and LayerScale gammas randomised; Keras float32 outputs of model.predict"}
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{name}: {meta['params']} params, output {[e.shape for e in expected]}", flush=True)
    keras.backend.clear_session()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--subset", action="store_true", help="write the small committed configurations to Tests/Fixtures/zoo")
    parser.add_argument("--root", default=None)
    args = parser.parse_args()
    models = tiny_models() if args.subset else full_models()
    root = args.root or ("Tests/Fixtures/zoo" if args.subset else ".zoo")
    only = set(args.only.split(",")) if args.only else None
    for index, (name, build, size) in enumerate(models):
        if only and name not in only:
            continue
        try:
            export(name, build, size, root, seed=1000 + index)
        except Exception as error:  # keep going: one broken export must not hide the others
            print(f"{name}: EXPORT FAILED {type(error).__name__}: {error}", flush=True)


if __name__ == "__main__":
    main()
