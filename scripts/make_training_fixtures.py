"""Generates Tests/Fixtures/train/: models trained 10 steps by the real frameworks, the reference for
`parity train` (ParityTrainTests).

Two steps, two processes (TensorFlow and torch must never share one):
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/make_training_fixtures.py keras   # Keras 3 on TensorFlow
    python scripts/make_training_fixtures.py torch                           # PyTorch
(without an argument the script runs both steps as subprocesses). Run by hand, never in CI.

Each case is one entry of `cases.json` and one `cases/<name>.npz` holding the data (`input`, `target`,
optionally `sample_weight`), the loss of every step (`losses`, before the step's update, as
`train_on_batch` / `loss.item()` return it) and every variable after the last step, keyed
`weight:<name>` by the framework's own names (Keras `variable.path` after `load_model`, PyTorch
`state_dict` keys, buffers included). Step i trains on rows [4·(i mod 3), 4·(i mod 3) + 4) of 12, in
order, as `parity train --batch-size 4` does.

Keras: the model is read back with `keras.models.load_model` (what a user trains), compiled with the
case's optimizer and loss (or, when the case names none, with the ones saved in the file's
compile_config), then `train_on_batch` per step. PyTorch: the module is exported in training mode
(`torch.export.export(model.train(), (x,))`, as a user exports for training), then the same module
trains with `opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); [clip]; opt.step()`.
"""
import ast
import json
import os
import platform
import subprocess
import sys

OUT = "Tests/Fixtures/train"
ROWS, BATCH, STEPS = 12, 4, 10


def save_case(cases, name, framework, model, optimizer, loss, data, losses, weights, note="", class_weight=None):
    import numpy as np
    arrays = {k: v for k, v in data.items()}
    arrays["losses"] = np.asarray(losses, dtype=np.float64)
    for key, value in weights.items():
        arrays["weight:" + key] = np.asarray(value)
    np.savez(f"{OUT}/cases/{name}.npz", **arrays)
    entry = {"name": name, "framework": framework, "model": model, "optimizer": optimizer, "loss": loss,
             "steps": STEPS, "batch_size": BATCH, "sample_weight": "sample_weight" in data}
    if note:
        entry["note"] = note
    if class_weight is not None:
        entry["class_weight"] = {str(k): v for k, v in class_weight.items()}
    cases.append(entry)


def parity_mask(step, site, rate, shape, seed=0):
    """Parity's shared dropout mask (ParityTrain `DropoutMasks`): a SplitMix64 stream seeded with
    seed·0x9E3779B9 + step·0x85EBCA6B + site·0xC2B2AE35; element i kept when (z_i >> 11)·2⁻⁵³ ≥ rate."""
    import numpy as np
    m = (1 << 64) - 1
    state = (seed * 0x9E3779B9 + step * 0x85EBCA6B + site * 0xC2B2AE35) & m
    values = []
    for _ in range(int(np.prod(shape))):
        state = (state + 0x9E3779B97F4A7C15) & m
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        z ^= z >> 31
        values.append(1.0 if (z >> 11) * 2.0 ** -53 >= rate else 0.0)
    return np.asarray(values, dtype=np.float32).reshape(shape)


class MaskCounter:
    """The step and the dropout call within it, for `parity_mask` (reset before each step)."""
    step, site = 0, 0

    @classmethod
    def next(cls):
        site = cls.site
        cls.site += 1
        return cls.step, site


def batches():
    for i in range(STEPS):
        start = (i % (ROWS // BATCH)) * BATCH
        yield slice(start, start + BATCH)


# MARK: Keras

def keras_step():
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf
    L = keras.layers
    rng = np.random.default_rng(7)
    os.makedirs(f"{OUT}/keras", exist_ok=True)
    os.makedirs(f"{OUT}/cases", exist_ok=True)

    def randomise(model, scale=0.6):
        model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in w.path
                           else rng.uniform(-scale, scale, w.shape).astype(np.float32) for w in model.weights])

    def mlp(head, units):
        return keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.Dense(units, activation=head)])

    def conv_bn():
        x = keras.Input((6, 6, 2))
        y = L.Conv2D(4, 3, name="conv")(x)
        y = L.BatchNormalization(momentum=0.9, name="bn")(y)
        y = L.ReLU()(y)
        y = L.MaxPooling2D(2)(y)
        y = L.Flatten()(y)
        return keras.Model(x, L.Dense(3, name="head")(y))

    def recurrent():
        x = keras.Input((5, 3))
        y = L.LSTM(6, return_sequences=True, name="lstm")(x)
        y = L.GRU(4, name="gru")(y)
        return keras.Model(x, L.Dense(3, name="head")(y))

    def attention():
        x = keras.Input((5, 4))
        y = L.MultiHeadAttention(2, 3, name="mha")(x, x)
        y = L.LayerNormalization(name="norm")(L.Add()([x, y]))
        y = L.GlobalAveragePooling1D()(y)
        return keras.Model(x, L.Dense(3, name="head")(y))

    def mlp_dropout():
        return keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.Dropout(0.4), L.Dense(8, activation="tanh"),
                                 L.Dropout(0.25), L.Dense(3)])

    # Dropout with Parity's masks: TensorFlow's stateless_dropout order (x·(1/(1 − rate)), then ·mask), the
    # step run eagerly (run_eagerly=True) so the mask can change every step.
    def keras_dropout(inputs, rate, noise_shape=None, seed=None):
        step, site = MaskCounter.next()
        mask = tf.constant(parity_mask(step, site, rate, tuple(inputs.shape)))
        return inputs * tf.constant(1 / (1 - rate), dtype=inputs.dtype) * mask
    keras.src.backend.random.dropout = keras_dropout

    models = {
        "mlp_dropout": (mlp_dropout(), (6,)),
        "mlp": (mlp(None, 3), (6,)), "mlp_sigmoid": (mlp("sigmoid", 3), (6,)), "mlp_softmax": (mlp("softmax", 4), (6,)),
        "mlp_softplus": (mlp("softplus", 3), (6,)), "mlp_logits": (mlp(None, 4), (6,)),
        "conv_bn": (conv_bn(), (6, 6, 2)), "recurrent": (recurrent(), (5, 3)), "attention": (attention(), (5, 4)),
    }
    inputs = {}
    for name, (model, shape) in models.items():
        randomise(model)
        inputs[name] = rng.normal(size=(ROWS,) + shape).astype(np.float32)
        model.save(f"{OUT}/keras/{name}.keras")
    # Saved after compile: Parity reads the optimizer and loss from compile_config.
    compiled = {
        "mlp_compiled_adam": ("mlp_softmax", keras.optimizers.Adam(learning_rate=0.02, epsilon=1e-6), keras.losses.SparseCategoricalCrossentropy()),
        # Keras 3.15's Huber.get_config drops delta: the reloaded model trains with delta 1.0.
        "mlp_compiled_huber": ("mlp", keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5), keras.losses.Huber(delta=0.5)),
    }
    # Nothing to train (parity train refuses it with exit 2).
    frozen = keras.Sequential([keras.Input((6,)), L.Activation("relu")])
    frozen.compile(optimizer="sgd", loss="mse")
    frozen.save(f"{OUT}/keras/no_weights.keras")
    for name, (base, optimizer, loss) in compiled.items():
        model = keras.models.load_model(f"{OUT}/keras/{base}.keras")
        model.compile(optimizer=optimizer, loss=loss)
        model.save(f"{OUT}/keras/{name}.keras")
        models[name] = models[base]
        inputs[name] = inputs[base]

    regression = rng.normal(size=(ROWS, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=(ROWS,)).astype(np.int64)
    onehot = np.eye(4, dtype=np.float32)[labels]
    soft = rng.dirichlet(np.ones(4), size=ROWS).astype(np.float32)
    binary = rng.integers(0, 2, size=(ROWS, 3)).astype(np.float32)
    counts = rng.poisson(1.5, size=(ROWS, 3)).astype(np.float32)
    weights = rng.uniform(0.2, 2.0, size=(ROWS,)).astype(np.float32)

    # Learning-rate schedules, recorded in the file's compile_config (drawn after the data above, so that the
    # earlier cases keep their values).
    S = keras.optimizers.schedules
    scheduled = {
        "mlp_sched_exp": keras.optimizers.SGD(learning_rate=S.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.8), momentum=0.9, nesterov=True),
        "mlp_sched_inverse": keras.optimizers.Adam(learning_rate=S.InverseTimeDecay(0.02, decay_steps=2, decay_rate=0.5, staircase=True)),
        "mlp_sched_piecewise": keras.optimizers.SGD(learning_rate=S.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01]), momentum=0.9),
        "mlp_sched_poly": keras.optimizers.RMSprop(learning_rate=S.PolynomialDecay(0.01, decay_steps=8, end_learning_rate=0.001, power=2.0)),
        "mlp_sched_cosine": keras.optimizers.AdamW(learning_rate=S.CosineDecay(0.02, decay_steps=10, alpha=0.1), weight_decay=0.05),
        # Restarts after 3 and 3 + 6 steps (t_mul 2), each 0.7 times lower.
        "mlp_sched_restarts": keras.optimizers.SGD(learning_rate=S.CosineDecayRestarts(0.05, first_decay_steps=3, t_mul=2.0, m_mul=0.7, alpha=0.1),
                                                   momentum=0.9),
    }
    for name, optimizer in scheduled.items():
        model = keras.models.load_model(f"{OUT}/keras/mlp.keras")
        model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
        model.save(f"{OUT}/keras/{name}.keras")
        models[name] = models["mlp"]
        inputs[name] = inputs["mlp"]
    # A frozen BatchNormalization (trainable=False: inference mode in fit, γ and β not trained).
    bn_frozen = keras.Sequential([keras.Input((6,)), L.Dense(8), L.BatchNormalization(name="bn"), L.ReLU(), L.Dense(3)])
    bn_frozen.get_layer("bn").trainable = False
    randomise(bn_frozen)
    bn_frozen.save(f"{OUT}/keras/bn_frozen.keras")
    models["bn_frozen"] = (bn_frozen, (6,))
    inputs["bn_frozen"] = inputs["mlp"]
    # CosineDecay with a linear warm-up from initial_learning_rate to warmup_target (draws nothing: the cases above keep
    # their values).
    model = keras.models.load_model(f"{OUT}/keras/mlp.keras")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=S.CosineDecay(0.001, decay_steps=6, alpha=0.1, warmup_target=0.02, warmup_steps=4)),
                  loss=keras.losses.MeanSquaredError())
    model.save(f"{OUT}/keras/mlp_sched_cosine_warmup.keras")
    models["mlp_sched_cosine_warmup"] = models["mlp"]
    inputs["mlp_sched_cosine_warmup"] = inputs["mlp"]

    def add_random(name, model, shape):
        """Randomises `model`, saves it as keras/<name>.keras and draws its inputs [ROWS, *shape] (in that order)."""
        randomise(model)
        model.save(f"{OUT}/keras/{name}.keras")
        models[name] = (model, shape)
        inputs[name] = rng.normal(size=(ROWS,) + shape).astype(np.float32)

    # class_weight (a fit / train_on_batch argument Keras turns into per-row sample weights), by case.
    class_weights = {"keras_loss_sparse_class_weight": {0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5}, "keras_loss_cce_class_weight": {0: 0.5, 3: 3.0}}
    # Attention dropout: MultiHeadAttention(dropout=0.3) drops the attention probabilities with the step's shared
    # mask (its _dropout_layer calls the patched backend dropout). Drawn last, so the cases above keep their values.
    x = keras.Input((5, 4))
    y = L.MultiHeadAttention(2, 3, dropout=0.3, name="mha")(x, x)
    y = L.GlobalAveragePooling1D()(L.LayerNormalization(name="norm")(L.Add()([x, y])))
    add_random("attention_dropout", keras.Model(x, L.Dense(3, name="head")(y)), (5, 4))
    # Recurrent layers' dropout: SimpleRNN with dropout and recurrent_dropout, LSTM and GRU with dropout (one mask per
    # sequence each, drawn at the first step: the cells' get_dropout_mask calls the patched backend dropout).
    x = keras.Input((5, 3))
    y = L.SimpleRNN(5, dropout=0.2, recurrent_dropout=0.3, return_sequences=True, name="rnn")(x)
    y = L.LSTM(6, dropout=0.3, return_sequences=True, name="lstm")(y)
    y = L.GRU(4, dropout=0.2, name="gru")(y)
    add_random("recurrent_dropout", keras.Model(x, L.Dense(3, name="head")(y)), (5, 3))
    # LSTM and GRU recurrent_dropout: Keras switches the cell to implementation=1, a mask per gate on the input and
    # on the state.
    x = keras.Input((5, 3))
    y = L.LSTM(6, dropout=0.2, recurrent_dropout=0.3, return_sequences=True, name="lstm")(x)
    y = L.LSTM(4, recurrent_dropout=0.25, go_backwards=True, return_sequences=True, name="lstm_back")(y)
    # GRU recurrent_dropout: implementation=1 too, three masks of each kind; reset_after (the default) and not.
    y = L.GRU(5, dropout=0.2, recurrent_dropout=0.3, return_sequences=True, name="gru")(y)
    y = L.GRU(4, recurrent_dropout=0.2, reset_after=False, name="gru_before")(y)
    add_random("gated_recurrent_dropout", keras.Model(x, L.Dense(3, name="head")(y)), (5, 3))
    # Bidirectional: each direction draws its own masks, the forward layer first.
    x = keras.Input((5, 3))
    y = L.Bidirectional(L.LSTM(4, dropout=0.2, recurrent_dropout=0.25, return_sequences=True), name="bi_lstm")(x)
    y = L.Bidirectional(L.GRU(3, dropout=0.3), merge_mode="sum", name="bi_gru")(y)
    add_random("bidirectional_dropout", keras.Model(x, L.Dense(3, name="head")(y)), (5, 3))
    # Weight regularizers: fit adds l1·sum|w| + l2·sum(w²) of each regularized trainable variable to the loss
    # (compute_loss sums model.losses after the compiled loss). Factors large enough that leaving a penalty out
    # moves the weights far beyond the bound in 10 steps.
    R = keras.regularizers
    x = keras.Input((6,))
    y = L.Dense(8, activation="tanh", kernel_regularizer=R.L2(0.05), bias_regularizer=R.L1(0.02), name="hidden")(x)
    y = L.BatchNormalization(gamma_regularizer=R.L2(0.1), beta_regularizer=R.L1L2(l1=0.01, l2=0.02), name="bn")(y)
    y = L.Dense(3, kernel_regularizer=R.L1L2(l1=0.01, l2=0.03), name="head")(y)
    add_random("regularized", keras.Model(x, y), (6,))
    x = keras.Input((5, 3))
    y = L.LSTM(4, kernel_regularizer=R.L2(0.02), recurrent_regularizer=R.L1(0.01), bias_regularizer=R.L2(0.05), name="lstm")(x)
    add_random("regularized_lstm", keras.Model(x, L.Dense(3, kernel_regularizer="l2", name="head")(y)), (5, 3))
    # Constraints: the optimizer projects each constrained variable right after its update (bounds chosen so that
    # each projection is active at every step).
    C = keras.constraints
    x = keras.Input((6,))
    y = L.Dense(8, activation="tanh", kernel_constraint=C.MaxNorm(0.6), bias_constraint=C.NonNeg(), name="hidden")(x)
    y = L.Dense(6, activation="tanh", kernel_constraint=C.UnitNorm(axis=0), name="mid")(y)
    y = L.Dense(3, kernel_constraint=C.MinMaxNorm(0.2, 0.5, rate=0.7, axis=[0]), kernel_regularizer=R.L2(0.05), name="head")(y)
    add_random("constrained", keras.Model(x, y), (6,))
    # Activity regularizers: Layer.__call__ adds regularizer(output) / batch size, before the weight penalties.
    x = keras.Input((6,))
    y = L.Dense(8, activation="tanh", activity_regularizer=R.L2(0.05), name="hidden")(x)
    y = L.Dense(3, activity_regularizer=R.L1L2(l1=0.02, l2=0.01), kernel_regularizer=R.L2(0.01), name="head")(y)
    add_random("activity", keras.Model(x, y), (6,))
    # OrthogonalRegularizer: factor · 0.5 · the mean |cosine| between distinct rows (mode="rows", the default) or
    # columns of a rank-2 kernel, in the weight-penalty order. Factors large enough that leaving it out moves the
    # weights beyond the bound.
    x = keras.Input((6,))
    y = L.Dense(8, activation="tanh", kernel_regularizer=R.OrthogonalRegularizer(factor=2.0), name="hidden")(x)
    y = L.Dense(3, kernel_regularizer=R.OrthogonalRegularizer(factor=1.5, mode="columns"), bias_regularizer=R.L2(0.05), name="head")(y)
    add_random("orthogonal", keras.Model(x, y), (6,))

    # Regularizers and constraints of a Bidirectional's layer: Keras rebuilds both directions from the wrapped layer's
    # config, so each direction's variables carry them (the forward layer's first in the penalty order).
    x = keras.Input((5, 3))
    y = L.Bidirectional(L.LSTM(4, kernel_regularizer=R.L2(0.05), recurrent_regularizer=R.L1(0.02), recurrent_constraint=C.MaxNorm(0.5),
                               bias_constraint=C.NonNeg(), return_sequences=True), name="bi_lstm")(x)
    y = L.Bidirectional(L.GRU(3, kernel_regularizer=R.OrthogonalRegularizer(0.5, mode="columns")), merge_mode="sum", name="bi_gru")(y)
    add_random("bidirectional_regularized", keras.Model(x, L.Dense(3, name="head")(y)), (5, 3))

    # TimeDistributed: the wrapped layer keeps its own variable names (step/kernel) and its config, regularizers and
    # constraints included.
    x = keras.Input((5, 3))
    y = L.TimeDistributed(L.Dense(4, activation="tanh", kernel_regularizer=R.L2(0.05), bias_constraint=C.NonNeg(), name="step"), name="td")(x)
    y = L.TimeDistributed(L.Dense(2, kernel_regularizer=R.OrthogonalRegularizer(0.5), name="step_out"), name="td_out")(y)
    add_random("time_distributed_regularized", keras.Model(x, L.Dense(3, name="head")(L.Flatten()(y))), (5, 3))

    # What Parity refuses (saved, not trained): a regularizer class of the user's own, an OrthogonalRegularizer on a
    # rank-4 kernel (Keras itself raises at the first step), an activity regularizer inside a Bidirectional, a
    # BatchNormalization inside TimeDistributed (Keras maps it over the steps: statistics per step), ConvNeXt's
    # StochasticDepth with a drop rate (a random per-sample drop of the path in training).
    @keras.saving.register_keras_serializable(package="user")
    class Sparse(keras.regularizers.Regularizer):
        def __call__(self, w):
            return 0.01 * keras.ops.sum(keras.ops.sqrt(keras.ops.abs(w) + 1e-6))

        def get_config(self):
            return {}

    from keras.src.applications.convnext import StochasticDepth

    for name, shape, layer in [
        ("refused_custom_regularizer", (6,), L.Dense(3, kernel_regularizer=Sparse(), name="dense")),
        ("refused_orthogonal_conv", (5, 5, 2), L.Conv2D(3, 3, kernel_regularizer=R.OrthogonalRegularizer(0.01), name="dense")),
        ("refused_wrapped", (4, 6), L.Bidirectional(L.LSTM(3, activity_regularizer=R.L2(0.01)), name="dense")),
        ("refused_time_distributed_bn", (4, 6), L.TimeDistributed(L.BatchNormalization(), name="dense")),
        # A regularizer two wrappers deep: Keras applies it (two penalties in model.losses), Parity reads one level.
        ("refused_nested_wrapper", (3, 4, 2), L.TimeDistributed(L.Bidirectional(L.LSTM(3, kernel_regularizer=R.L2(0.1))), name="dense")),
        ("refused_stochastic_depth", (6,), StochasticDepth(0.1, name="dense")),
    ]:
        keras.Sequential([keras.Input(shape), layer]).save(f"{OUT}/keras/{name}.keras")

    opt_sgd = "SGD(learning_rate=0.1)"
    cases_spec = [
        # Optimizers on one regression model.
        *[(f"keras_opt_{i:02d}", "mlp", opt, "MeanSquaredError()", regression, None) for i, opt in enumerate([
            "SGD(learning_rate=0.1)", "SGD(learning_rate=0.05, momentum=0.9)", "SGD(learning_rate=0.05, momentum=0.9, nesterov=True)",
            "SGD(learning_rate=0.1, weight_decay=0.05)", "Adam(learning_rate=0.01)", "Adam(learning_rate=0.01, amsgrad=True)",
            "Adam(learning_rate=0.01, weight_decay=0.1)", "AdamW(learning_rate=0.01, weight_decay=0.05)", "RMSprop(learning_rate=0.01)",
            "RMSprop(learning_rate=0.01, momentum=0.5, centered=True)", "Adagrad(learning_rate=0.1)", "Adadelta(learning_rate=1.0)",
            "Adamax(learning_rate=0.02)", "Nadam(learning_rate=0.01)", "Lion(learning_rate=0.005)",
            "SGD(learning_rate=0.1, clipnorm=0.05)", "SGD(learning_rate=0.1, global_clipnorm=0.05)", "SGD(learning_rate=0.1, clipvalue=0.01)",
            "Adam(learning_rate=0.01, clipnorm=0.1)", "Adagrad(learning_rate=0.1, initial_accumulator_value=0.0)",
        ])],
        # Gradients of 1e-6 (sample weights 1e-6): where Adam's ε̂ and RMSprop's ε inside the root decide the step.
        ("keras_opt_tiny_adam", "mlp", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, np.full(ROWS, 1e-6, np.float32)),
        ("keras_opt_tiny_rmsprop", "mlp", "RMSprop(learning_rate=0.01)", "MeanSquaredError()", regression, np.full(ROWS, 1e-6, np.float32)),
        # Losses.
        ("keras_loss_mse", "mlp", opt_sgd, "MeanSquaredError()", regression, None),
        ("keras_loss_mse_sum", "mlp", opt_sgd, "MeanSquaredError(reduction='sum')", regression, None),
        ("keras_loss_mse_weighted", "mlp", opt_sgd, "MeanSquaredError()", regression, weights),
        ("keras_loss_mae", "mlp", opt_sgd, "MeanAbsoluteError()", regression, None),
        ("keras_loss_huber", "mlp", opt_sgd, "Huber(delta=0.5)", regression, None),
        ("keras_loss_logcosh", "mlp", opt_sgd, "LogCosh()", regression, None),
        ("keras_loss_cosine", "mlp", opt_sgd, "CosineSimilarity()", regression, None),
        ("keras_loss_hinge", "mlp", opt_sgd, "Hinge()", binary, None),
        ("keras_loss_squared_hinge", "mlp", opt_sgd, "SquaredHinge()", binary, None),
        ("keras_loss_poisson", "mlp_softplus", opt_sgd, "Poisson()", counts, None),
        ("keras_loss_bce", "mlp_sigmoid", opt_sgd, "BinaryCrossentropy()", binary, None),
        ("keras_loss_bce_smoothing", "mlp_sigmoid", opt_sgd, "BinaryCrossentropy(label_smoothing=0.2)", binary, None),
        ("keras_loss_bce_logits", "mlp", opt_sgd, "BinaryCrossentropy(from_logits=True)", binary, None),
        ("keras_loss_cce", "mlp_softmax", opt_sgd, "CategoricalCrossentropy()", onehot, None),
        ("keras_loss_cce_soft", "mlp_softmax", opt_sgd, "CategoricalCrossentropy()", soft, None),
        ("keras_loss_cce_smoothing", "mlp_softmax", opt_sgd, "CategoricalCrossentropy(label_smoothing=0.1)", onehot, None),
        ("keras_loss_cce_logits", "mlp_logits", opt_sgd, "CategoricalCrossentropy(from_logits=True)", onehot, None),
        ("keras_loss_sparse", "mlp_softmax", opt_sgd, "SparseCategoricalCrossentropy()", labels, None),
        ("keras_loss_sparse_weighted", "mlp_softmax", opt_sgd, "SparseCategoricalCrossentropy()", labels, weights),
        ("keras_loss_sparse_ignore", "mlp_softmax", opt_sgd, "SparseCategoricalCrossentropy(ignore_class=0)", labels, None),
        ("keras_loss_sparse_logits", "mlp_logits", opt_sgd, "SparseCategoricalCrossentropy(from_logits=True)", labels, None),
        ("keras_loss_kld", "mlp_softmax", opt_sgd, "KLDivergence()", soft, None),
        ("keras_loss_categorical_hinge", "mlp_softmax", opt_sgd, "CategoricalHinge()", onehot, None),
        # Layers in training mode.
        # A bias right before BatchNorm, and attention's key bias, have an analytically zero gradient: Adam
        # turns its rounding noise into lr-sized steps (no two implementations agree on them), so these
        # models train with momentum SGD, whose steps stay noise-sized there.
        ("keras_model_conv_bn", "conv_bn", "SGD(learning_rate=0.05, momentum=0.9)", "MeanSquaredError()", regression, None),
        ("keras_model_recurrent", "recurrent", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_attention", "attention", "SGD(learning_rate=0.05, momentum=0.9)", "MeanSquaredError()", regression, None),
        ("keras_model_dropout", "mlp_dropout", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        # Optimizer and loss read from the file.
        ("keras_compiled_adam", "mlp_compiled_adam", None, None, labels, None),
        ("keras_compiled_huber", "mlp_compiled_huber", None, None, regression, None),
        *[(f"keras_{name}", name, None, None, regression, None) for name in scheduled],
        ("keras_model_bn_frozen", "bn_frozen", "SGD(learning_rate=0.05, momentum=0.9)", "MeanSquaredError()", regression, None),
        # Coverage rows (docs/training.md, coverage matrix): settings not yet run alone.
        *[(f"keras_opt_extra_{i:02d}", "mlp", opt, "MeanSquaredError()", regression, None) for i, opt in enumerate([
            "RMSprop(learning_rate=0.01, momentum=0.5)", "RMSprop(learning_rate=0.01, centered=True)", "Adamax(learning_rate=0.02, weight_decay=0.1)",
            "Adagrad(learning_rate=0.1, weight_decay=0.1)", "Adam(learning_rate=0.01, clipvalue=0.05)", "Nadam(learning_rate=0.01, global_clipnorm=0.1)",
            "Lion(learning_rate=0.005, weight_decay=0.1)", "AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=True)",
        ])],
        ("keras_loss_bce_weighted", "mlp_sigmoid", opt_sgd, "BinaryCrossentropy()", binary, weights),
        ("keras_loss_mse_mean_sw", "mlp", opt_sgd, "MeanSquaredError(reduction='mean_with_sample_weight')", regression, weights),
        ("keras_loss_cce_sum", "mlp_softmax", "SGD(learning_rate=0.02)", "CategoricalCrossentropy(reduction='sum')", onehot, None),
        ("keras_loss_sparse_logits_weighted", "mlp_logits", opt_sgd, "SparseCategoricalCrossentropy(from_logits=True)", labels, weights),
        ("keras_mlp_sched_cosine_warmup", "mlp_sched_cosine_warmup", None, None, regression, None),
        ("keras_loss_sparse_class_weight", "mlp_softmax", opt_sgd, "SparseCategoricalCrossentropy()", labels, None),
        ("keras_loss_cce_class_weight", "mlp_softmax", opt_sgd, "CategoricalCrossentropy()", onehot, None),
        ("keras_model_attention_dropout", "attention_dropout", "SGD(learning_rate=0.05, momentum=0.9)", "MeanSquaredError()", regression, None),
        ("keras_model_recurrent_dropout", "recurrent_dropout", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_gated_recurrent_dropout", "gated_recurrent_dropout", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_bidirectional_dropout", "bidirectional_dropout", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_regularized", "regularized", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        ("keras_model_regularized_adam", "regularized", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_regularized_lstm", "regularized_lstm", "SGD(learning_rate=0.1)", "MeanSquaredError()", regression, None),
        ("keras_model_constrained", "constrained", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        ("keras_model_constrained_adam", "constrained", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_activity", "activity", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        ("keras_model_orthogonal", "orthogonal", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        ("keras_model_orthogonal_adam", "orthogonal", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_bidirectional_regularized", "bidirectional_regularized", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()", regression, None),
        ("keras_model_bidirectional_regularized_adam", "bidirectional_regularized", "Adam(learning_rate=0.01)", "MeanSquaredError()", regression, None),
        ("keras_model_time_distributed_regularized", "time_distributed_regularized", "SGD(learning_rate=0.1, momentum=0.5)", "MeanSquaredError()",
         regression, None),
    ]
    cases = []
    for name, model_name, optimizer, loss, target, sample_weight in cases_spec:
        path = f"{OUT}/keras/{model_name}.keras"
        model = keras.models.load_model(path, compile=optimizer is None)
        if optimizer is not None:
            model.compile(optimizer=eval("keras.optimizers." + optimizer), loss=eval("keras.losses." + loss),
                          run_eagerly="dropout" in model_name)
        x = inputs[model_name]
        losses = []
        for step, rows in enumerate(batches()):
            MaskCounter.step, MaskCounter.site = step, 0
            sw = None if sample_weight is None else sample_weight[rows]
            losses.append(float(model.train_on_batch(x[rows], target[rows], sample_weight=sw, class_weight=class_weights.get(name))))
        data = {"input": x, "target": target}
        if sample_weight is not None:
            data["sample_weight"] = sample_weight
        save_case(cases, name, "keras", f"keras/{model_name}.keras", optimizer, loss, data, losses,
                  {w.path: w.numpy() for w in model.weights}, class_weight=class_weights.get(name))
    meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"]}
    return cases, meta


# MARK: Gradients at kinks and ties

# Points where the derivative is undefined or the frameworks' kernels choose: each entry is differentiated as
# sum(f(inputs) · cotangent) by tf.GradientTape and by torch.autograd (gradients.npz, keyed
# `<framework>:<entry>:<input>`), inputs and cotangents shared (`input:<entry>:<name>`, `cotangent:<entry>`).
GRADIENT_INPUTS = {
    "relu": {"x": [-1.0, 0.0, 2.0]},
    "relu6": {"x": [-1.0, 0.0, 3.0, 6.0, 7.0]},
    "clip": {"x": [-1.0, 0.0, 3.0, 6.0, 7.0]},
    "maximum": {"x": [1.0, 2.0, 3.0, 0.0], "y": [1.0, 1.0, 3.0, 0.0]},
    "minimum": {"x": [1.0, 2.0, 3.0, 0.0], "y": [1.0, 1.0, 3.0, 0.0]},
    "abs": {"x": [-2.0, 0.0, 2.0]},
    "sqrt": {"x": [0.0, 4.0]},
    "reduce_max": {"x": [[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]]},
    "max_pool": {"x": [[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0], [0.0, 0.0, 4.0, 3.0], [0.0, 0.0, 1.0, 4.0]]},
    "leaky_relu": {"x": [-1.0, 0.0, 1.0]},
    "softmax_xent_soft": {"logits": [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], "labels": [[0.2, 0.9, 0.3], [0.5, 0.0, 0.0]]},
    "sigmoid_bce_saturated": {"z": [20.0, -20.0, 0.5, 17.0], "t": [0.0, 1.0, 1.0, 1.0]},
}


def gradient_cotangent(name, shape):
    import numpy as np
    return (np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) % 4 + 1) * 0.5


def keras_gradients():
    import keras
    import numpy as np
    import tensorflow as tf
    out = {}

    def f(name, v):
        x = v.get("x")
        if name == "relu": return tf.nn.relu(x)
        if name == "relu6": return tf.nn.relu6(x)
        if name == "clip": return keras.ops.clip(x, 0.0, 6.0)
        if name == "maximum": return keras.ops.maximum(x, v["y"])
        if name == "minimum": return keras.ops.minimum(x, v["y"])
        if name == "abs": return keras.ops.abs(x)
        if name == "sqrt": return keras.ops.sqrt(x)
        if name == "reduce_max": return keras.ops.max(x, axis=-1)
        if name == "max_pool": return tf.nn.max_pool2d(tf.reshape(x, (1, 4, 4, 1)), 2, 2, "VALID")
        if name == "leaky_relu": return keras.ops.leaky_relu(x, negative_slope=0.2)
        if name == "softmax_xent_soft": return tf.nn.softmax_cross_entropy_with_logits(labels=v["labels"], logits=v["logits"])
        if name == "sigmoid_bce_saturated":
            return keras.losses.binary_crossentropy(tf.reshape(v["t"], (4, 1)), keras.activations.sigmoid(tf.reshape(v["z"], (4, 1))))
        raise KeyError(name)

    for name, inputs in GRADIENT_INPUTS.items():
        values = {k: tf.Variable(np.asarray(a, np.float32)) for k, a in inputs.items()}
        with tf.GradientTape() as tape:
            y = f(name, values)
            c = gradient_cotangent(name, tuple(y.shape))
            total = tf.reduce_sum(y * c)
        grads = tape.gradient(total, list(values.values()))
        out[f"cotangent:{name}"] = c
        for (k, a), g in zip(inputs.items(), grads):
            out[f"input:{name}:{k}"] = np.asarray(a, np.float32)
            out[f"keras:{name}:{k}"] = np.zeros_like(a, dtype=np.float32) if g is None else g.numpy()
    return out


def torch_gradients():
    import numpy as np
    import torch
    import torch.nn.functional as F
    out = {}

    def f(name, v):
        x = v.get("x")
        if name == "relu": return torch.relu(x)
        if name == "relu6": return F.relu6(x)
        if name == "clip": return torch.clamp(x, 0.0, 6.0)
        if name == "maximum": return torch.maximum(x, v["y"])
        if name == "minimum": return torch.minimum(x, v["y"])
        if name == "abs": return torch.abs(x)
        if name == "sqrt": return torch.sqrt(x)
        if name == "reduce_max": return torch.amax(x, dim=-1)
        if name == "max_pool": return F.max_pool2d(x.reshape(1, 1, 4, 4), 2)
        if name == "leaky_relu": return F.leaky_relu(x, 0.2)
        if name == "softmax_xent_soft": return F.cross_entropy(v["logits"], v["labels"], reduction="none")
        if name == "sigmoid_bce_saturated":
            return F.binary_cross_entropy(torch.sigmoid(v["z"]).reshape(4, 1), v["t"].reshape(4, 1), reduction="none").reshape(4)
        raise KeyError(name)

    for name, inputs in GRADIENT_INPUTS.items():
        values = {k: torch.tensor(a, dtype=torch.float32, requires_grad=True) for k, a in inputs.items()}
        y = f(name, values)
        c = torch.from_numpy(gradient_cotangent(name, tuple(y.shape)))
        (y * c).sum().backward()
        for k, t in values.items():
            out[f"pytorch:{name}:{k}"] = (torch.zeros_like(t) if t.grad is None else t.grad).numpy()

    # The elementwise entries as one exported program (gradients.pt2): each input a parameter named
    # `<entry>_<input>`, the cotangents user inputs in entry order, the output Σ f(inputs)·cotangent, so Parity
    # differentiates the operators exactly as the exported graph holds them.
    probed = [n for n in GRADIENT_INPUTS if n not in ("softmax_xent_soft", "sigmoid_bce_saturated")]

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for n in probed:
                for k, a in GRADIENT_INPUTS[n].items():
                    self.register_parameter(f"{n}_{k}", torch.nn.Parameter(torch.tensor(a, dtype=torch.float32)))

        def forward(self, *cotangents):
            total = 0
            for n, c in zip(probed, cotangents):
                values = {k: getattr(self, f"{n}_{k}") for k in GRADIENT_INPUTS[n]}
                # F.relu6 exports as aten.relu6, which Parity does not map yet; hardtanh(0, 6) is its definition.
                y = F.hardtanh(values["x"], 0.0, 6.0) if n == "relu6" else f(n, values)
                total = total + (y * c).sum()
            return total

    probe = Probe()
    example = []
    for n in probed:
        with torch.no_grad():
            shape = f(n, {k: torch.tensor(a) for k, a in GRADIENT_INPUTS[n].items()}).shape
        example.append(torch.from_numpy(gradient_cotangent(n, tuple(shape))))
    torch.export.save(torch.export.export(probe, tuple(example)), f"{OUT}/torch/gradients.pt2")
    return out


def save_gradients(framework, arrays):
    import numpy as np
    path = f"{OUT}/gradients.npz"
    existing = dict(np.load(path)) if os.path.exists(path) else {}
    existing = {k: v for k, v in existing.items() if not k.startswith(framework + ":")}
    existing.update(arrays)
    np.savez(path, **existing)


# MARK: PyTorch

def torch_call(namespace, spec, first=None):
    """Evaluates `Name(args)` under `namespace`, lists for weight / pos_weight as float32 tensors."""
    import torch
    call = ast.parse(spec, mode="eval").body
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    for key in ("weight", "pos_weight"):
        if isinstance(kwargs.get(key), (list, tuple)):
            kwargs[key] = torch.tensor(kwargs[key], dtype=torch.float32)
    function = getattr(namespace, call.func.id)
    return function(*([first] if first is not None else []), *args, **kwargs)


def torch_step():
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(1)
    rng = np.random.default_rng(11)
    os.makedirs(f"{OUT}/torch", exist_ok=True)
    os.makedirs(f"{OUT}/cases", exist_ok=True)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 6, batch_first=True)
            self.gru = nn.GRU(6, 4, batch_first=True)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            y, _ = self.lstm(x)
            _, h = self.gru(y)
            return self.head(h[0])

    class Attention(nn.Module):
        # Self-attention written as most ports and Hugging Face models write it (projections, heads,
        # F.scaled_dot_product_attention), then a residual LayerNorm.
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = nn.Linear(4, 6), nn.Linear(4, 6), nn.Linear(4, 6)
            self.o = nn.Linear(6, 4)
            self.norm = nn.LayerNorm(4)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            b, t, _ = x.shape
            heads = lambda z: z.view(b, t, 2, 3).transpose(1, 2)
            y = nn.functional.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
            y = self.o(y.transpose(1, 2).reshape(b, t, 6))
            return self.head(self.norm(x + y).mean(1))

    class AttentionDropout(Attention):
        # The attention written out, as Hugging Face's eager attention writes it: softmax(q·kᵀ/√d), nn.Dropout on the
        # probabilities, then ·v (F.scaled_dot_product_attention(dropout_p=…) drops inside its kernel, which a
        # shared mask cannot reach).
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.3)

        def forward(self, x):
            b, t, _ = x.shape
            heads = lambda z: z.view(b, t, 2, 3).transpose(1, 2)
            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
            p = torch.softmax(q @ k.transpose(-2, -1) / 3 ** 0.5, dim=-1)
            y = self.o((self.drop(p) @ v).transpose(1, 2).reshape(b, t, 6))
            return self.head(self.norm(x + y).mean(1))

    def build(name):
        torch.manual_seed(3)
        mlp = lambda *head: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), *head)
        return {
            "mlp": lambda: mlp(nn.Linear(8, 3)),
            "mlp_sigmoid": lambda: mlp(nn.Linear(8, 3), nn.Sigmoid()),
            "mlp_logits": lambda: mlp(nn.Linear(8, 4)),
            "mlp_logsoftmax": lambda: mlp(nn.Linear(8, 4), nn.LogSoftmax(dim=1)),
            "conv_bn": lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, momentum=0.2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                             nn.Linear(16, 3)),
            "bn_mlp": lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
            "bn_eval": lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
            "bn_frozen": lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
            "mlp_dropout": lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(0.4), nn.Linear(8, 8), nn.Tanh(), nn.Dropout(0.25),
                                                 nn.Linear(8, 3)),
            "recurrent": Recurrent, "attention": Attention, "attention_dropout": AttentionDropout,
        }[name]()

    # Dropout with Parity's masks, in ATen's order (`_dropout_impl`: mask / (1 − p), then ·x).
    def torch_dropout(self, x):
        if not self.training or self.p == 0:
            return x
        step, site = MaskCounter.next()
        return x * torch.from_numpy(parity_mask(step, site, self.p, tuple(x.shape))).div_(1 - self.p)

    shapes = {"mlp_dropout": (6,), "mlp": (6,), "mlp_sigmoid": (6,), "mlp_logits": (6,), "mlp_logsoftmax": (6,), "conv_bn": (2, 6, 6), "bn_mlp": (6,),
              "recurrent": (5, 3), "attention": (5, 4)}
    inputs = {}
    for name, shape in shapes.items():
        inputs[name] = rng.normal(size=(ROWS,) + shape).astype(np.float32)
        model = build(name).train()
        program = torch.export.export(model, (torch.from_numpy(inputs[name][:BATCH]),))
        torch.export.save(program, f"{OUT}/torch/{name}.pt2")
    # Modes set after model.train(), as a port does: a BatchNorm left in eval mode, and one frozen with
    # requires_grad_(False) only (which PyTorch still trains in train mode). Exported as set up, on bn_mlp's inputs.
    configure = {"bn_eval": lambda m: m[1].eval(), "bn_frozen": lambda m: m[1].requires_grad_(False)}
    for name in configure:
        inputs[name] = inputs["bn_mlp"]
        model = build(name).train()
        configure[name](model)
        torch.export.save(torch.export.export(model, (torch.from_numpy(inputs[name][:BATCH]),)), f"{OUT}/torch/{name}.pt2")
    original_dropout = nn.Dropout.forward
    nn.Dropout.forward = torch_dropout  # after the export, which keeps aten.dropout

    torch.export.save(torch.export.export(nn.ReLU(), (torch.zeros(BATCH, 6),)), f"{OUT}/torch/no_weights.pt2")

    regression = rng.normal(size=(ROWS, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=(ROWS,)).astype(np.int64)
    soft = rng.dirichlet(np.ones(4), size=ROWS).astype(np.float32)
    binary = rng.integers(0, 2, size=(ROWS, 3)).astype(np.float32)
    signs = (binary * 2 - 1).astype(np.float32)
    counts = rng.poisson(1.5, size=(ROWS, 3)).astype(np.float32)
    # Drawn after the data above, so that the earlier cases keep their values; exported with nn.Dropout's own forward.
    inputs["attention_dropout"] = rng.normal(size=(ROWS, 5, 4)).astype(np.float32)
    nn.Dropout.forward = original_dropout
    program = torch.export.export(build("attention_dropout").train(), (torch.from_numpy(inputs["attention_dropout"][:BATCH]),))
    torch.export.save(program, f"{OUT}/torch/attention_dropout.pt2")
    nn.Dropout.forward = torch_dropout

    sgd = "SGD(lr=0.1)"
    cases_spec = [
        *[(f"torch_opt_{i:02d}", "mlp", opt, "MSELoss()", regression) for i, opt in enumerate([
            "SGD(lr=0.1)", "SGD(lr=0.05, momentum=0.9)", "SGD(lr=0.05, momentum=0.9, nesterov=True)", "SGD(lr=0.05, momentum=0.9, dampening=0.3)",
            "SGD(lr=0.1, weight_decay=0.05)", "Adam(lr=0.01)", "Adam(lr=0.01, amsgrad=True)", "Adam(lr=0.01, weight_decay=0.1)",
            "AdamW(lr=0.01)", "RMSprop(lr=0.01)", "RMSprop(lr=0.01, momentum=0.5, centered=True)", "Adagrad(lr=0.1)",
            "Adagrad(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.1)", "Adadelta()", "Adamax(lr=0.02)", "NAdam(lr=0.01)",
            "NAdam(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)", "SGD(lr=0.1) + clip_grad_norm_(max_norm=0.05)",
            "SGD(lr=0.1) + clip_grad_value_(clip_value=0.01)", "RMSprop(lr=0.01, weight_decay=0.1)",
        ])],
        # Gradients below 1e-5 (HuberLoss with delta 1e-5): where Adam's ε and RMSprop's ε outside the root decide the step.
        ("torch_opt_tiny_adam", "mlp", "Adam(lr=0.01)", "HuberLoss(delta=1e-05)", regression),
        ("torch_opt_tiny_rmsprop", "mlp", "RMSprop(lr=0.001)", "HuberLoss(delta=1e-05)", regression),
        ("torch_loss_mse", "mlp", sgd, "MSELoss()", regression),
        ("torch_loss_mse_sum", "mlp", "SGD(lr=0.01)", "MSELoss(reduction='sum')", regression),
        ("torch_loss_l1", "mlp", sgd, "L1Loss()", regression),
        ("torch_loss_huber", "mlp", sgd, "HuberLoss(delta=0.5)", regression),
        ("torch_loss_smooth_l1", "mlp", sgd, "SmoothL1Loss(beta=0.5)", regression),
        ("torch_loss_poisson", "mlp", sgd, "PoissonNLLLoss()", counts),
        ("torch_loss_poisson_full", "mlp", sgd, "PoissonNLLLoss(full=True)", counts),
        ("torch_loss_hinge_embedding", "mlp", sgd, "HingeEmbeddingLoss(margin=0.5)", signs),
        ("torch_loss_bce", "mlp_sigmoid", sgd, "BCELoss()", binary),
        ("torch_loss_bce_logits", "mlp", sgd, "BCEWithLogitsLoss()", binary),
        ("torch_loss_bce_logits_pos", "mlp", sgd, "BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 0.5])", binary),
        ("torch_loss_ce", "mlp_logits", sgd, "CrossEntropyLoss()", labels),
        ("torch_loss_ce_smoothing", "mlp_logits", sgd, "CrossEntropyLoss(label_smoothing=0.1)", labels),
        ("torch_loss_ce_weight", "mlp_logits", sgd, "CrossEntropyLoss(weight=[1.0, 2.0, 0.5, 1.5])", labels),
        ("torch_loss_ce_weight_smoothing", "mlp_logits", sgd, "CrossEntropyLoss(weight=[1.0, 2.0, 0.5, 1.5], label_smoothing=0.2)", labels),
        ("torch_loss_ce_ignore", "mlp_logits", sgd, "CrossEntropyLoss(ignore_index=0)", labels),
        ("torch_loss_ce_soft", "mlp_logits", sgd, "CrossEntropyLoss(label_smoothing=0.1)", soft),
        ("torch_loss_nll", "mlp_logsoftmax", sgd, "NLLLoss()", labels),
        ("torch_loss_kl", "mlp_logsoftmax", sgd, "KLDivLoss(reduction='batchmean')", soft),
        ("torch_model_dropout", "mlp_dropout", "SGD(lr=0.1, momentum=0.5)", "MSELoss()", regression),
        ("torch_model_conv_bn", "conv_bn", "SGD(lr=0.05, momentum=0.9)", "MSELoss()", regression),
        ("torch_model_bn_mlp", "bn_mlp", "SGD(lr=0.1, momentum=0.9)", "MSELoss()", regression),
        ("torch_model_recurrent", "recurrent", "Adam(lr=0.01)", "MSELoss()", regression),
        ("torch_model_attention", "attention", "SGD(lr=0.05, momentum=0.9)", "MSELoss()", regression),
        ("torch_model_bn_eval", "bn_eval", "SGD(lr=0.1, momentum=0.9)", "MSELoss()", regression),
        ("torch_model_bn_frozen", "bn_frozen", "SGD(lr=0.1, momentum=0.9)", "MSELoss()", regression),
        # Learning-rate schedulers, stepped after every optimizer.step().
        ("torch_opt_sched_exp", "mlp", "SGD(lr=0.1, momentum=0.9, nesterov=True) + ExponentialLR(gamma=0.8)", "MSELoss()", regression),
        ("torch_opt_sched_step", "mlp", "Adam(lr=0.02) + StepLR(step_size=3, gamma=0.5)", "MSELoss()", regression),
        ("torch_opt_sched_multistep", "mlp", "SGD(lr=0.1, momentum=0.9) + MultiStepLR(milestones=[3, 6], gamma=0.5)", "MSELoss()", regression),
        # Coverage rows (docs/training.md, coverage matrix): settings not yet run alone.
        *[(f"torch_opt_extra_{i:02d}", "mlp", opt, "MSELoss()", regression) for i, opt in enumerate([
            "RMSprop(lr=0.01, momentum=0.5)", "RMSprop(lr=0.01, centered=True)", "Adagrad(lr=0.1, weight_decay=0.1)", "Adamax(lr=0.02, weight_decay=0.1)",
            "Adadelta(weight_decay=0.1)", "AdamW(lr=0.01, amsgrad=True)", "NAdam(lr=0.01, weight_decay=0.1)",
            "Adam(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)",
        ])],
        ("torch_loss_l1_sum", "mlp", "SGD(lr=0.02)", "L1Loss(reduction='sum')", regression),
        ("torch_loss_ce_sum", "mlp_logits", "SGD(lr=0.02)", "CrossEntropyLoss(reduction='sum')", labels),
        ("torch_loss_nll_weight", "mlp_logsoftmax", sgd, "NLLLoss(weight=[1.0, 2.0, 0.5, 1.5])", labels),
        ("torch_loss_kl_log_target", "mlp_logsoftmax", sgd, "KLDivLoss(reduction='batchmean', log_target=True)", soft),
        ("torch_loss_bce_logits_sum", "mlp", "SGD(lr=0.02)", "BCEWithLogitsLoss(reduction='sum')", binary),
        # Schedulers a Keras schedule pairs with (LinearLR ↔ a warm-up, CosineAnnealingLR ↔ CosineDecay, PolynomialLR ↔
        # PolynomialDecay, OneCycleLR ↔ CosineDecay with warm-up); T_max 4 of 10 steps reaches the rising branch.
        ("torch_opt_sched_linear", "mlp", "SGD(lr=0.1, momentum=0.9) + LinearLR(start_factor=0.25, total_iters=4)", "MSELoss()", regression),
        ("torch_opt_sched_cosine", "mlp", "Adam(lr=0.02) + CosineAnnealingLR(T_max=4, eta_min=0.001)", "MSELoss()", regression),
        ("torch_opt_sched_poly", "mlp", "RMSprop(lr=0.01) + PolynomialLR(total_iters=6, power=2.0)", "MSELoss()", regression),
        ("torch_opt_sched_onecycle", "mlp", "SGD(lr=0.1, momentum=0.9) + OneCycleLR(max_lr=0.1, total_steps=10)", "MSELoss()", regression),
        ("torch_opt_sched_onecycle_adam", "mlp", "Adam(lr=0.01) + OneCycleLR(max_lr=0.02, total_steps=10, pct_start=0.4)", "MSELoss()", regression),
        ("torch_opt_sched_onecycle_linear", "mlp", "SGD(lr=0.1) + OneCycleLR(max_lr=0.1, total_steps=12, anneal_strategy='linear', cycle_momentum=False, three_phase=True)",
         "MSELoss()", regression),
        ("torch_loss_bce_weight", "mlp_sigmoid", sgd, "BCELoss(weight=[2.0, 1.0, 0.5])", binary),
        ("torch_loss_bce_logits_weight", "mlp", sgd, "BCEWithLogitsLoss(weight=[2.0, 1.0, 0.5], pos_weight=[1.5, 1.0, 0.5])", binary),
        # CosineEmbeddingLoss(output, target, y) with y = 1 on every row: 1 − cos(output, target), Keras's CosineSimilarity + 1.
        ("torch_loss_cosine_embedding", "mlp", sgd, "CosineEmbeddingLoss()", regression),
        ("torch_model_attention_dropout", "attention_dropout", "SGD(lr=0.05, momentum=0.9)", "MSELoss()", regression),
        # CyclicLR: base_lr replaces the optimizer's rate; with cycle_momentum (the default) the momentum or β₁ runs
        # against the rate, set to max_momentum when the scheduler is built (also on an SGD built without momentum).
        ("torch_opt_sched_cyclic", "mlp", "SGD(lr=0.1) + CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2, mode='triangular2')",
         "MSELoss()", regression),
        ("torch_opt_sched_cyclic_adam", "mlp", "Adam(lr=0.01) + CyclicLR(base_lr=0.002, max_lr=0.02, step_size_up=2, mode='exp_range', gamma=0.9, "
         "base_momentum=0.8, max_momentum=0.95)", "MSELoss()", regression),
        ("torch_opt_sched_cyclic_plain", "mlp", "SGD(lr=0.1) + CyclicLR(base_lr=0.02, max_lr=0.1, step_size_up=4, cycle_momentum=False)", "MSELoss()", regression),
        # CosineAnnealingWarmRestarts (periods of 3, then 6 steps: one restart in 10) and ConstantLR (back to lr after 4 steps).
        ("torch_opt_sched_warm_restarts", "mlp", "SGD(lr=0.1, momentum=0.9) + CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=0.01)", "MSELoss()",
         regression),
        ("torch_opt_sched_constant", "mlp", "Adam(lr=0.02) + ConstantLR(factor=0.25, total_iters=4)", "MSELoss()", regression),
    ]
    cases = []
    for name, model_name, optimizer, loss, target in cases_spec:
        model = build(model_name).train()
        if model_name in configure:
            configure[model_name](model)
        parts = [p.strip() for p in optimizer.split("+")]
        opt = torch_call(torch.optim, parts[0], first=model.parameters())
        is_scheduler = [hasattr(torch.optim.lr_scheduler, extra.split("(")[0]) for extra in parts[1:]]
        schedulers = [torch_call(torch.optim.lr_scheduler, extra, first=opt) for extra, yes in zip(parts[1:], is_scheduler) if yes]
        clips = [extra for extra, yes in zip(parts[1:], is_scheduler) if not yes]
        loss_fn = torch_call(torch.nn, loss)
        x = torch.from_numpy(inputs[model_name])
        y = torch.from_numpy(target)
        losses = []
        for step, rows in enumerate(batches()):
            MaskCounter.step, MaskCounter.site = step, 0
            opt.zero_grad()
            out = model(x[rows])
            if loss.startswith("CosineEmbeddingLoss"):
                value = loss_fn(out, y[rows], torch.ones(out.shape[0]))
            else:
                value = loss_fn(out, y[rows])
            value.backward()
            for extra in clips:
                torch_call(torch.nn.utils, extra, first=list(model.parameters()))
            opt.step()
            for scheduler in schedulers:
                scheduler.step()
            losses.append(value.item())
        save_case(cases, name, "pytorch", f"torch/{model_name}.pt2", optimizer, loss, {"input": inputs[model_name], "target": target},
                  losses, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    meta = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}
    return cases, meta


def main():
    if len(sys.argv) == 1:
        for step in ("keras", "torch"):
            env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
            subprocess.run([sys.executable, __file__, step], check=True, env=env)
        return
    step = sys.argv[1]
    cases, meta = keras_step() if step == "keras" else torch_step()
    save_gradients("keras" if step == "keras" else "pytorch", keras_gradients() if step == "keras" else torch_gradients())
    os.makedirs(OUT, exist_ok=True)
    path = f"{OUT}/cases.json"
    existing = json.load(open(path)) if os.path.exists(path) else {"cases": [], "versions": {}}
    framework = "keras" if step == "keras" else "pytorch"
    existing["cases"] = [c for c in existing["cases"] if c["framework"] != framework] + cases
    existing["versions"][framework] = meta
    existing["generator"] = "scripts/make_training_fixtures.py (generated, do not edit)"
    with open(path, "w") as f:
        json.dump(existing, f, indent=1)
    print(f"{step}: {len(cases)} cases")


if __name__ == "__main__":
    main()
