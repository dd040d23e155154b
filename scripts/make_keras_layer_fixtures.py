"""Generates Tests/Fixtures/keras/layers/*.json: single Keras layers with their config (as
`layer.get_config()` returns it, the same dict a .keras config.json stores), their weights in
`layer.weights` order, inputs, and Keras's outputs in float32 and float64; and, in float64, the gradient
`tf.GradientTape` gives of Σ output·cotangent with respect to every float input and every weight (cotangents
drawn per case from a generator seeded with the case name, so the forward data does not change).

Run by hand (never in CI), in a venv with `pip install tensorflow-cpu keras h5py numpy`:
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/make_keras_layer_fixtures.py
Run Keras and PyTorch in separate processes (importing both aborts with an LLVM error).
"""
import json
import os
import platform
import sys
import zlib

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = "Tests/Fixtures/keras/layers"
rng = np.random.default_rng(1234)


def arr(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def tensor(x):
    x = np.asarray(x)
    kind = "int64" if np.issubdtype(x.dtype, np.integer) else "float64"
    values = [int(v) for v in x.reshape(-1)] if kind == "int64" else [float(v) for v in x.astype(np.float64).reshape(-1)]
    return {"shape": list(x.shape), "dtype": kind, "values": values}


def jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.get_config() if hasattr(o, "get_config") else str(o)))


families = {}


def case(family, name, make_layer, input_shapes, inputs=None, weights=None, jit=False, call=None):
    """make_layer(dtype) -> a fresh layer; input_shapes exclude the batch axis (batch is 2).

    jit: run the model under `tf.function(jit_compile=True)` (XLA), for what TensorFlow's CPU kernels
    refuse (NCHW convolutions and pooling: "only supports the NHWC tensor format on the CPU"); Keras
    itself takes this route for grouped and 3-D channels_first convolutions."""
    inputs = inputs or [arr((2,) + tuple(s)) for s in input_shapes]
    outputs = {}
    config = None
    saved_weights = None
    for dtype in ("float32", "float64"):
        layer = make_layer(dtype)
        xs = [keras.Input(shape=s, dtype=("int32" if np.issubdtype(x.dtype, np.integer) else dtype))
              for s, x in zip(input_shapes, inputs)]
        y = call(layer, xs) if call else layer(xs[0] if len(xs) == 1 else xs)
        model = keras.Model(xs[0] if len(xs) == 1 else xs, y)
        if saved_weights is None:
            # Random weights (not the initialisers' zeros/ones), drawn once and reused in float64.
            saved_weights = weights or [arr(w.shape, -0.5, 0.5) if "variance" not in w.path else arr(w.shape, 0.5, 1.5)
                                        for w in layer.weights]
            config = jsonable(layer.get_config())
        layer.set_weights([w.astype(dtype) for w in saved_weights])
        if isinstance(layer, L.Normalization):
            # set_weights does not refresh the statistics `call` uses; loading a file does
            # (`load_own_variables` calls `finalize_state`).
            layer.finalize_state()
        feed = [x if np.issubdtype(x.dtype, np.integer) else x.astype(dtype) for x in inputs]
        run = tf.function(lambda v: model(v, training=False), jit_compile=True) if jit else (lambda v: model(v, training=False))
        out = run(feed[0] if len(feed) == 1 else feed)
        outs = out if isinstance(out, (list, tuple)) else [out]
        outputs[dtype] = [tensor(np.asarray(o)) for o in outs]
        if dtype == "float64":
            gradients = tape_gradients(name, model, layer, feed, [tuple(o.shape) for o in outs], jit)
    families.setdefault(family, []).append({
        "name": name, "class_name": layer.__class__.__name__, "config": config,
        "weights": [tensor(w) for w in saved_weights], "inputs": [tensor(x) for x in inputs],
        "output32": outputs["float32"], "output64": outputs["float64"],
    } | ({"note": "reference (and gradient) computed under XLA (tf.function(jit_compile=True))"} if jit else {}) | gradients)


def tape_gradients(name, model, layer, feed, shapes, jit):
    """tf.GradientTape's gradient of Σ output·cotangent (inference mode) with respect to the float inputs and
    every weight of the layer (trainable or not), in float64; `null` where TensorFlow returns none (weights the
    call does not read). `jit`: the forward and the gradient under XLA, as the forward of that case."""
    cot_rng = np.random.default_rng(zlib.crc32(name.encode()))
    cotangents = [cot_rng.uniform(-1, 1, size=shape) for shape in shapes]
    xs = [tf.constant(x) for x in feed]
    count = sum(x.dtype.is_floating for x in xs)

    def gradient(xs):
        floats = [x for x in xs if x.dtype.is_floating]
        with tf.GradientTape(persistent=True) as tape:
            for x in floats:
                tape.watch(x)
            for w in layer.weights:  # non-trainable ones too (moving statistics, Normalization's mean and variance)
                tape.watch(w.value)  # the backend tf.Variable behind the keras.Variable
            out = model(xs[0] if len(xs) == 1 else xs, training=False)
            outs = out if isinstance(out, (list, tuple)) else [out]
            total = tf.add_n([tf.reduce_sum(o * c) for o, c in zip(outs, cotangents)])
        return tape.gradient(total, floats + [w.value for w in layer.weights])

    grads = tf.function(gradient, jit_compile=True)(xs) if jit else gradient(xs)
    as_json = lambda g: None if g is None else tensor(tf.convert_to_tensor(g).numpy())
    return {"cotangents": [tensor(c) for c in cotangents], "input_gradients": [as_json(g) for g in grads[:count]],
            "weight_gradients": [as_json(g) for g in grads[count:]]}


L = keras.layers

# core
case("core", "Dense relu", lambda d: L.Dense(4, activation="relu", dtype=d), [(5,)])
case("core", "Dense no bias, softmax, rank 3", lambda d: L.Dense(3, use_bias=False, activation="softmax", dtype=d), [(4, 5)])
for act in ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "softplus", "softsign",
            "silu", "gelu", "hard_sigmoid", "hard_silu", "leaky_relu", "exponential", "linear"]:
    case("core", f"Activation {act}", lambda d, act=act: L.Activation(act, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("core", "Dropout at inference", lambda d: L.Dropout(0.5, dtype=d), [(6,)])


# convolution (channels_first runs through the same TF kernels after Keras's transposes where TF allows it)
case("conv", "Conv1D valid", lambda d: L.Conv1D(3, 3, dtype=d), [(7, 2)])
case("conv", "Conv1D same stride 2 relu", lambda d: L.Conv1D(3, 3, strides=2, padding="same", activation="relu", dtype=d), [(8, 2)])
case("conv", "Conv1D causal dilation 2", lambda d: L.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype=d), [(7, 3)])
case("conv", "Conv1D groups 2 no bias", lambda d: L.Conv1D(4, 2, groups=2, use_bias=False, dtype=d), [(6, 4)])
case("conv", "Conv1D channels_first", lambda d: L.Conv1D(3, 3, data_format="channels_first", dtype=d), [(2, 7)], jit=True)
case("conv", "Conv2D valid", lambda d: L.Conv2D(3, (2, 3), dtype=d), [(5, 6, 2)])
case("conv", "Conv2D same stride 2 even", lambda d: L.Conv2D(2, 3, strides=2, padding="same", dtype=d), [(6, 6, 2)])
case("conv", "Conv2D same stride (2,3) odd", lambda d: L.Conv2D(2, 3, strides=(2, 3), padding="same", dtype=d), [(5, 7, 2)])
case("conv", "Conv2D dilation 2 same tanh", lambda d: L.Conv2D(2, 3, dilation_rate=2, padding="same", activation="tanh", dtype=d), [(6, 5, 2)])
case("conv", "Conv2D groups 2", lambda d: L.Conv2D(4, 3, groups=2, dtype=d), [(5, 5, 4)])
# Output [2, 3, 3, 3]: last axis == filters, so Keras's TF `ops.add` adds the bias along the last axis.
case("conv", "Conv2D channels_first same stride 2 (bias_add quirk)", lambda d: L.Conv2D(3, 3, strides=2, padding="same", data_format="channels_first", dtype=d), [(2, 6, 5)], jit=True)
case("conv", "Conv2D channels_first same stride 2", lambda d: L.Conv2D(3, 3, strides=2, padding="same", data_format="channels_first", dtype=d), [(2, 6, 7)], jit=True)
case("conv", "DepthwiseConv2D channels_first", lambda d: L.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_first", dtype=d), [(2, 5, 6)], jit=True)
case("conv", "SeparableConv2D channels_first", lambda d: L.SeparableConv2D(3, 2, data_format="channels_first", dtype=d), [(2, 4, 5)], jit=True)
case("conv", "Conv2DTranspose channels_first same stride 2", lambda d: L.Conv2DTranspose(2, 3, strides=2, padding="same", data_format="channels_first", dtype=d), [(3, 3, 2)], jit=True)
case("conv", "Conv3D valid", lambda d: L.Conv3D(2, 2, dtype=d), [(3, 4, 3, 2)])
case("conv", "Conv3D same stride 2", lambda d: L.Conv3D(2, 3, strides=2, padding="same", dtype=d), [(4, 3, 4, 2)])
case("conv", "DepthwiseConv2D multiplier 2", lambda d: L.DepthwiseConv2D(3, depth_multiplier=2, dtype=d), [(5, 5, 3)])
case("conv", "DepthwiseConv2D same stride 2 no bias", lambda d: L.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, dtype=d), [(6, 5, 2)])
case("conv", "DepthwiseConv2D stride 2 dilation 2", lambda d: L.DepthwiseConv2D(2, strides=2, dilation_rate=2, padding="same", dtype=d), [(7, 6, 2)])
case("conv", "SeparableConv2D", lambda d: L.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu", dtype=d), [(5, 6, 3)])
case("conv", "SeparableConv2D same stride 2", lambda d: L.SeparableConv2D(3, 3, strides=2, padding="same", dtype=d), [(6, 6, 2)])
case("conv", "Conv1DTranspose valid stride 2", lambda d: L.Conv1DTranspose(3, 3, strides=2, dtype=d), [(5, 2)])
case("conv", "Conv1DTranspose same stride 2", lambda d: L.Conv1DTranspose(2, 4, strides=2, padding="same", dtype=d), [(5, 3)])
case("conv", "Conv2DTranspose valid", lambda d: L.Conv2DTranspose(2, (2, 3), dtype=d), [(3, 4, 2)])
case("conv", "Conv2DTranspose same stride 2 k3", lambda d: L.Conv2DTranspose(3, 3, strides=2, padding="same", dtype=d), [(3, 4, 2)])
case("conv", "Conv2DTranspose same stride 2 k4", lambda d: L.Conv2DTranspose(2, 4, strides=2, padding="same", dtype=d), [(3, 3, 2)])
case("conv", "Conv2DTranspose valid output_padding 1", lambda d: L.Conv2DTranspose(2, 3, strides=2, output_padding=1, dtype=d), [(3, 3, 2)])
case("conv", "Conv2DTranspose same output_padding 1", lambda d: L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1, dtype=d), [(3, 3, 2)])
case("conv", "Conv2DTranspose dilation 2", lambda d: L.Conv2DTranspose(2, 2, dilation_rate=2, dtype=d), [(3, 3, 2)], jit=True)

# pooling
case("pooling", "MaxPooling1D", lambda d: L.MaxPooling1D(2, dtype=d), [(7, 3)])
case("pooling", "MaxPooling1D same stride 2 pool 3", lambda d: L.MaxPooling1D(3, strides=2, padding="same", dtype=d), [(8, 2)])
case("pooling", "AveragePooling1D same", lambda d: L.AveragePooling1D(3, strides=2, padding="same", dtype=d), [(7, 2)])
case("pooling", "MaxPooling2D", lambda d: L.MaxPooling2D(2, dtype=d), [(5, 6, 2)])
case("pooling", "MaxPooling2D same stride 2 pool 3", lambda d: L.MaxPooling2D(3, strides=2, padding="same", dtype=d), [(6, 5, 2)])
case("pooling", "AveragePooling2D", lambda d: L.AveragePooling2D((2, 3), strides=(1, 2), dtype=d), [(5, 7, 2)])
case("pooling", "AveragePooling2D same", lambda d: L.AveragePooling2D(3, strides=2, padding="same", dtype=d), [(6, 5, 2)])
case("pooling", "MaxPooling2D channels_first", lambda d: L.MaxPooling2D(2, data_format="channels_first", dtype=d), [(2, 5, 4)], jit=True)
case("pooling", "AveragePooling2D channels_first same", lambda d: L.AveragePooling2D(3, strides=2, padding="same", data_format="channels_first", dtype=d), [(2, 5, 4)], jit=True)
case("pooling", "GlobalAveragePooling1D", lambda d: L.GlobalAveragePooling1D(dtype=d), [(5, 3)])
case("pooling", "GlobalMaxPooling1D keepdims", lambda d: L.GlobalMaxPooling1D(keepdims=True, dtype=d), [(5, 3)])
case("pooling", "GlobalAveragePooling2D", lambda d: L.GlobalAveragePooling2D(dtype=d), [(4, 3, 3)])
case("pooling", "GlobalAveragePooling2D keepdims channels_first", lambda d: L.GlobalAveragePooling2D(keepdims=True, data_format="channels_first", dtype=d), [(3, 4, 3)], jit=True)
case("pooling", "GlobalMaxPooling2D", lambda d: L.GlobalMaxPooling2D(dtype=d), [(4, 3, 3)])
case("pooling", "GlobalMaxPooling1D channels_first", lambda d: L.GlobalMaxPooling1D(data_format="channels_first", dtype=d), [(3, 5)], jit=True)

# normalization
case("normalization", "BatchNormalization", lambda d: L.BatchNormalization(dtype=d), [(3, 4)])
case("normalization", "BatchNormalization axis 1 eps 1e-5", lambda d: L.BatchNormalization(axis=1, epsilon=1e-5, dtype=d), [(3, 4)])
case("normalization", "BatchNormalization no center no scale", lambda d: L.BatchNormalization(center=False, scale=False, dtype=d), [(2, 2, 3)])
case("normalization", "BatchNormalization no scale", lambda d: L.BatchNormalization(scale=False, epsilon=0.01, dtype=d), [(5,)])
case("normalization", "LayerNormalization", lambda d: L.LayerNormalization(dtype=d), [(3, 6)])
case("normalization", "LayerNormalization axes [1, 2]", lambda d: L.LayerNormalization(axis=[1, 2], epsilon=1e-5, dtype=d), [(3, 4)])
case("normalization", "LayerNormalization axis 1 no center", lambda d: L.LayerNormalization(axis=1, center=False, dtype=d), [(3, 4)])
case("normalization", "LayerNormalization no scale", lambda d: L.LayerNormalization(scale=False, dtype=d), [(5,)])
case("normalization", "LayerNormalization rms_scaling", lambda d: L.LayerNormalization(rms_scaling=True, dtype=d), [(3, 6)])

# reshaping
case("reshaping", "Flatten", lambda d: L.Flatten(dtype=d), [(3, 2, 2)])
case("reshaping", "Flatten channels_first", lambda d: L.Flatten(data_format="channels_first", dtype=d), [(2, 3, 2)])
case("reshaping", "Reshape", lambda d: L.Reshape((3, 4), dtype=d), [(2, 6)])
case("reshaping", "Reshape -1", lambda d: L.Reshape((-1, 2), dtype=d), [(3, 4)])
case("reshaping", "Permute", lambda d: L.Permute((3, 1, 2), dtype=d), [(2, 3, 4)])
case("reshaping", "RepeatVector", lambda d: L.RepeatVector(3, dtype=d), [(4,)])
case("reshaping", "ZeroPadding1D", lambda d: L.ZeroPadding1D((1, 2), dtype=d), [(3, 2)])
case("reshaping", "ZeroPadding2D", lambda d: L.ZeroPadding2D(((1, 0), (2, 1)), dtype=d), [(2, 3, 2)])
case("reshaping", "ZeroPadding2D channels_first", lambda d: L.ZeroPadding2D(1, data_format="channels_first", dtype=d), [(2, 2, 3)])
case("reshaping", "Cropping1D", lambda d: L.Cropping1D((1, 2), dtype=d), [(6, 2)])
case("reshaping", "Cropping2D", lambda d: L.Cropping2D(((1, 0), (1, 2)), dtype=d), [(4, 5, 2)])
case("reshaping", "Cropping2D channels_first", lambda d: L.Cropping2D(1, data_format="channels_first", dtype=d), [(2, 4, 4)])

# merging
for cls in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]:
    n = 2 if cls == "Subtract" else 3
    case("merging", cls, lambda d, cls=cls: getattr(L, cls)(dtype=d), [(3, 4)] * n)
case("merging", "Add broadcast", lambda d: L.Add(dtype=d), [(3, 4), (1, 4)])
case("merging", "Concatenate", lambda d: L.Concatenate(dtype=d), [(3, 2), (3, 4)])
case("merging", "Concatenate axis 1", lambda d: L.Concatenate(axis=1, dtype=d), [(2, 3), (1, 3), (3, 3)])
case("merging", "Dot axes 1", lambda d: L.Dot(axes=1, dtype=d), [(4,), (4,)])
case("merging", "Dot axes (2, 2) normalize", lambda d: L.Dot(axes=(2, 2), normalize=True, dtype=d), [(3, 4), (5, 4)])
case("merging", "Dot axes (1, 2)", lambda d: L.Dot(axes=(1, 2), dtype=d), [(3, 4), (2, 3)])

# activation layers
case("activations", "ReLU", lambda d: L.ReLU(dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ReLU max_value 6", lambda d: L.ReLU(max_value=6.0, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -8, 8)])
case("activations", "ReLU max_value 1.3", lambda d: L.ReLU(max_value=1.3, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ReLU negative_slope 0.1", lambda d: L.ReLU(negative_slope=0.1, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ReLU threshold 0.3 slope 0.2 max 2.1", lambda d: L.ReLU(threshold=0.3, negative_slope=0.2, max_value=2.1, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ReLU threshold 0.7", lambda d: L.ReLU(threshold=0.7, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "LeakyReLU", lambda d: L.LeakyReLU(dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "LeakyReLU 0.1", lambda d: L.LeakyReLU(negative_slope=0.1, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "PReLU", lambda d: L.PReLU(dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "PReLU shared_axes [1]", lambda d: L.PReLU(shared_axes=[1], dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ELU", lambda d: L.ELU(dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "ELU alpha 0.7", lambda d: L.ELU(alpha=0.7, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "Softmax", lambda d: L.Softmax(dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
case("activations", "Softmax axis 1", lambda d: L.Softmax(axis=1, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])
for act in ["hard_tanh", "celu", "log_sigmoid", "mish", "tanh_shrink", "soft_shrink", "hard_shrink", "squareplus",
            "sparse_plus", "sparse_sigmoid", "swish", "hard_swish"]:
    case("activations", f"Activation {act}", lambda d, act=act: L.Activation(act, dtype=d), [(3, 4)], inputs=[arr((2, 3, 4), -3, 3)])

# recurrent
seq = [(5, 2)]
case("recurrent", "SimpleRNN", lambda d: L.SimpleRNN(3, dtype=d), seq)
case("recurrent", "SimpleRNN return_sequences relu", lambda d: L.SimpleRNN(3, activation="relu", return_sequences=True, dtype=d), seq)
case("recurrent", "SimpleRNN go_backwards return_state no bias", lambda d: L.SimpleRNN(3, go_backwards=True, return_state=True, use_bias=False, dtype=d), seq)
case("recurrent", "GRU reset_after", lambda d: L.GRU(3, dtype=d), seq)
case("recurrent", "GRU reset_after false", lambda d: L.GRU(3, reset_after=False, dtype=d), seq)
case("recurrent", "GRU return_sequences return_state", lambda d: L.GRU(3, return_sequences=True, return_state=True, dtype=d), seq)
case("recurrent", "GRU go_backwards return_sequences reset_after false", lambda d: L.GRU(3, go_backwards=True, return_sequences=True, reset_after=False, dtype=d), seq)
case("recurrent", "GRU no bias", lambda d: L.GRU(3, use_bias=False, dtype=d), seq)
case("recurrent", "LSTM", lambda d: L.LSTM(3, dtype=d), seq)
case("recurrent", "LSTM return_sequences return_state", lambda d: L.LSTM(3, return_sequences=True, return_state=True, dtype=d), seq)
case("recurrent", "LSTM go_backwards return_sequences", lambda d: L.LSTM(3, go_backwards=True, return_sequences=True, dtype=d), seq)
case("recurrent", "LSTM relu hard_sigmoid no bias", lambda d: L.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False, dtype=d), seq)
case("recurrent", "Bidirectional LSTM concat", lambda d: L.Bidirectional(L.LSTM(3, dtype=d), dtype=d), seq)
case("recurrent", "Bidirectional LSTM ave return_sequences", lambda d: L.Bidirectional(L.LSTM(3, return_sequences=True, dtype=d), merge_mode="ave", dtype=d), seq)
case("recurrent", "Bidirectional GRU sum return_sequences", lambda d: L.Bidirectional(L.GRU(3, return_sequences=True, dtype=d), merge_mode="sum", dtype=d), seq)
case("recurrent", "Bidirectional SimpleRNN mul", lambda d: L.Bidirectional(L.SimpleRNN(3, dtype=d), merge_mode="mul", dtype=d), seq)
case("recurrent", "Bidirectional GRU merge None", lambda d: L.Bidirectional(L.GRU(2, dtype=d), merge_mode=None, dtype=d), seq)
case("recurrent", "Bidirectional LSTM return_state", lambda d: L.Bidirectional(L.LSTM(2, return_state=True, dtype=d), dtype=d), seq)
case("recurrent", "Bidirectional GRU reset_after false return_sequences", lambda d: L.Bidirectional(L.GRU(2, return_sequences=True, reset_after=False, dtype=d), dtype=d), seq)

# attention (query, value[, key]); Keras 3 on TF runs rank-4 projections through ops.dot_product_attention
mha = lambda layer, xs: layer(xs[0], xs[1], key=xs[2]) if len(xs) == 3 else layer(xs[0], xs[1])
case("attention", "MultiHeadAttention self", lambda d: L.MultiHeadAttention(2, 3, dtype=d), [(4, 5), (4, 5)], call=mha)
case("attention", "MultiHeadAttention cross key value_dim output_shape", lambda d: L.MultiHeadAttention(2, 3, value_dim=2, output_shape=4, dtype=d), [(3, 5), (4, 6), (4, 2)], call=mha)
case("attention", "MultiHeadAttention no bias", lambda d: L.MultiHeadAttention(3, 2, use_bias=False, dtype=d), [(4, 5), (3, 5)], call=mha)
case("attention", "MultiHeadAttention key_dim 5", lambda d: L.MultiHeadAttention(1, 5, dtype=d), [(3, 4), (3, 4)], call=mha)

# embedding (int64 indices)
case("embedding", "Embedding", lambda d: L.Embedding(7, 3, dtype=d), [(4,)], inputs=[rng.integers(0, 7, size=(2, 4)).astype(np.int64)])
case("embedding", "Embedding rank 3 indices", lambda d: L.Embedding(5, 2, dtype=d), [(2, 3)], inputs=[rng.integers(0, 5, size=(2, 2, 3)).astype(np.int64)])

# upsampling and resizing
case("resizing", "UpSampling1D", lambda d: L.UpSampling1D(3, dtype=d), [(3, 2)])
case("resizing", "UpSampling2D nearest", lambda d: L.UpSampling2D((2, 3), dtype=d), [(2, 3, 2)])
case("resizing", "UpSampling2D bilinear", lambda d: L.UpSampling2D(2, interpolation="bilinear", dtype=d), [(3, 4, 2)])
case("resizing", "UpSampling2D bilinear (2, 3)", lambda d: L.UpSampling2D((2, 3), interpolation="bilinear", dtype=d), [(3, 2, 1)])
case("resizing", "UpSampling2D nearest channels_first", lambda d: L.UpSampling2D(2, data_format="channels_first", dtype=d), [(2, 3, 2)])
case("resizing", "Resizing bilinear up", lambda d: L.Resizing(5, 7, dtype=d), [(3, 4, 2)])
case("resizing", "Resizing bilinear down", lambda d: L.Resizing(3, 2, dtype=d), [(5, 6, 1)])
case("resizing", "Resizing nearest", lambda d: L.Resizing(5, 3, interpolation="nearest", dtype=d), [(3, 4, 2)])

# preprocessing
case("preprocessing", "Rescaling", lambda d: L.Rescaling(1 / 255, dtype=d), [(3, 2)], inputs=[arr((2, 3, 2), 0, 255)])
case("preprocessing", "Rescaling offset", lambda d: L.Rescaling(0.5, offset=-1.3, dtype=d), [(3, 2)])
case("preprocessing", "Normalization from config", lambda d: L.Normalization(mean=[0.5, -1.0, 2.0], variance=[2.0, 0.3, 1.7], dtype=d), [(4, 3)])
case("preprocessing", "Normalization weights axis -1", lambda d: L.Normalization(dtype=d), [(4, 3)])
case("preprocessing", "Normalization axis (1, 2)", lambda d: L.Normalization(axis=(1, 2), dtype=d), [(2, 3)])

# appended last, so that the cases above keep their random draws
case("normalization", "GroupNormalization 3 groups", lambda d: L.GroupNormalization(3, epsilon=1e-4, dtype=d), [(4, 5, 6)])
case("normalization", "GroupNormalization axis 1 no center", lambda d: L.GroupNormalization(2, axis=1, center=False, dtype=d), [(4, 7)])
case("normalization", "GroupNormalization instance (-1) no scale", lambda d: L.GroupNormalization(-1, scale=False, dtype=d), [(5, 3)])

os.makedirs(OUT, exist_ok=True)
meta = {"generator": "scripts/make_keras_layer_fixtures.py (generated, do not edit)", "keras": keras.__version__,
        "tensorflow": tf.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"]}
for family, cases in families.items():
    with open(f"{OUT}/{family}.json", "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
    print(f"{family}: {len(cases)} cases")
