"""Generates Tests/Fixtures/train/compare/: Keras models and PyTorch ports of them with the same starting
weights, for `parity compare --train-steps` (ParityCompareTests/TrainingComparisonTests).

Two steps, two processes (TensorFlow and torch must never share one):
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/make_training_compare_pairs.py keras
    python scripts/make_training_compare_pairs.py torch
(without an argument both run as subprocesses). Run by hand, never in CI.

keras: builds each model with seeded weights, compiles it with the framework's defaults where the pair is
about defaults (`Adam()`: learning rate 1e-3, epsilon 1e-7; BatchNormalization momentum 0.99, epsilon
1e-3), saves `<name>.keras` (with its compile_config) and `weights.npz` (every Keras variable, by name),
and `data.npz` (inputs and targets, 12 rows). torch: builds the faithful PyTorch port of each model (Linear
weight = kernel.T, LSTM weight_ih = kernel.T with b_ih = bias and b_hh = 0, BatchNorm1d with the Keras
statistics), loads the Keras weights into it and exports it in training mode (`torch.export.export(
model.train(), (x[:4],))`), as a user ports and exports a model for training: `<name>.pt2`, and
`<name>_faithful.pt2` where PyTorch's defaults differ (BatchNorm momentum 0.01 = 1 − Keras's 0.99).
training-mode pairs: `bn_eval.pt2` (the port's BatchNorm left in eval mode against Keras's trained one),
`bn_frozen.keras` (BatchNormalization with trainable=False) against `bn_frozen.pt2` (requires_grad_(False) but
train mode) and `bn_frozen_faithful.pt2` (requires_grad_(False) and .eval()). `mlp_nesterov_schedule.keras` /
`mlp_momentum_schedule.keras`: the mlp compiled with SGD(momentum=0.9) under ExponentialDecay(0.1, 1, 0.5) (compared
with the mlp port and ExponentialLR(gamma=0.5)). `binary`: a final sigmoid with saturating logits, compiled with
BinaryCrossentropy (against nn.Sigmoid + BCELoss). `lstm_time_first.pt2`: the LSTM port with nn.LSTM's
time-first layout, (T, N, F). `rmsprop.keras`: the mlp compiled with `optimizer="rmsprop"` (Keras's RMSprop
defaults), against the mlp port trained with torch.optim.Adam (`optimizer-algorithm`). `max_branches`: two Dense
branches initialised alike, merged by Maximum (torch.maximum in the port): at a tie TensorFlow gives the whole
gradient to the first argument, ATen half to each (`gradient-convention`). `dropout`: a Dropout between two
Dense layers; `dropout.pt2` trains it, `dropout_eval.pt2` is the port with its Dropout left in eval mode
(`training-mode`). `lstm_dropout.keras`: the lstm with `LSTM(dropout=0.3)`, against the lstm port (`nn.LSTM` has no
such dropout: `training-mode`). `bilstm_dropout.keras`: Bidirectional(LSTM(4, dropout=0.3, recurrent_dropout=0.2)),
against `bilstm.pt2`, its port with a bidirectional nn.LSTM (`training-mode`, `rnn-bias-trained-twice`).
`mlp_l2.keras`: the mlp with L2(0.05) kernel regularizers, against the mlp port (`weight-regularizer`).
`mlp_restarts.keras`: the mlp compiled with SGD under CosineDecayRestarts (against CosineAnnealingWarmRestarts).
"""
import os
import subprocess
import sys

OUT = "Tests/Fixtures/train/compare"
ROWS, BATCH = 12, 4


def keras_step():
    import numpy as np
    import keras
    from keras import layers as L
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    data = {
        "x": rng.normal(size=(ROWS, 4)).astype(np.float32),
        "x_seq": rng.normal(size=(ROWS, 5, 3)).astype(np.float32),
        "y": rng.normal(size=(ROWS, 2)).astype(np.float32),
        "labels": rng.integers(0, 3, size=(ROWS,)).astype(np.int64),
    }
    data["onehot"] = np.eye(3, dtype=np.float32)[data["labels"]]
    data["binary"] = (data["y"][:, :1] > 0).astype(np.float32)  # from y: no draw, so the weights below keep their values
    np.savez(f"{OUT}/data.npz", **data)

    def seeded(model):
        model.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in model.get_weights()])
        return model

    models = {}
    models["mlp"] = (keras.Sequential([keras.Input((4,)), L.Dense(6, activation="tanh", name="hidden"), L.Dense(2, name="out")], name="mlp"),
                     keras.optimizers.Adam(), keras.losses.MeanSquaredError())
    bn = keras.Sequential([keras.Input((4,)), L.Dense(6, name="hidden"), L.BatchNormalization(name="bn"), L.Activation("tanh"),
                           L.Dense(2, name="out")], name="bn")
    models["bn"] = (bn, keras.optimizers.SGD(learning_rate=0.1), keras.losses.MeanSquaredError())
    models["lstm"] = (keras.Sequential([keras.Input((5, 3)), L.LSTM(4, name="lstm"), L.Dense(2, name="out")], name="lstm"),
                      keras.optimizers.SGD(learning_rate=0.1), keras.losses.MeanSquaredError())
    models["classifier"] = (keras.Sequential([keras.Input((4,)), L.Dense(6, activation="tanh", name="hidden"), L.Dense(3, name="logits")],
                                             name="classifier"),
                            keras.optimizers.SGD(learning_rate=0.1), keras.losses.SparseCategoricalCrossentropy())
    # A frozen BatchNormalization (trainable=False: inference mode in fit, γ and β not trained), as in fine-tuning.
    bn_frozen = keras.Sequential([keras.Input((4,)), L.Dense(6, name="hidden"), L.BatchNormalization(name="bn"), L.Activation("tanh"),
                                  L.Dense(2, name="out")], name="bn_frozen")
    bn_frozen.get_layer("bn").trainable = False
    models["bn_frozen"] = (bn_frozen, keras.optimizers.SGD(learning_rate=0.1), keras.losses.MeanSquaredError())
    weights = {}
    for name, (model, optimizer, loss) in models.items():
        seeded(model)
        if name in ("bn", "bn_frozen"):
            layer = model.get_layer("bn")
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, rng.normal(size=6).astype(np.float32) * 0.1, rng.uniform(0.5, 1.5, size=6).astype(np.float32)])
        model.compile(optimizer=optimizer, loss=loss)
        model.save(f"{OUT}/{name}.keras")
        for v in model.weights:
            weights[f"{name}:{v.path}"] = np.asarray(v.numpy())
    # Learning-rate schedules (recorded in compile_config) on the mlp's weights: Nesterov and plain momentum,
    # which agree with PyTorch's only while the rate is constant.
    for name, nesterov in (("mlp_nesterov_schedule", True), ("mlp_momentum_schedule", False)):
        model = keras.models.load_model(f"{OUT}/mlp.keras")
        schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9, nesterov=nesterov), loss=keras.losses.MeanSquaredError())
        model.save(f"{OUT}/{name}.keras")
    # A binary classifier with a final sigmoid and saturating logits (|z| mostly beyond 40, where float32 and float64 both round the sigmoid of a positive logit to 1): Keras's BinaryCrossentropy
    # recovers the logits; PyTorch's BCELoss on the sigmoid's output clamps log at −100 and its gradient vanishes.
    binary = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="tanh", name="hidden"), L.Dense(1, activation="sigmoid", name="out")],
                              name="binary")
    own = np.random.default_rng(9)
    binary.set_weights([own.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) * (120 if w.path.endswith("out/kernel") else 1)
                        for w in binary.weights])
    binary.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.BinaryCrossentropy())
    binary.save(f"{OUT}/binary.keras")
    for v in binary.weights:
        weights[f"binary:{v.path}"] = np.asarray(v.numpy())
    # The mlp compiled with SGD under CosineDecayRestarts (restarts after 2 and 2 + 4 steps), against the port under
    # CosineAnnealingWarmRestarts(T_0=2, T_mult=2, eta_min=0.01): the same rates (float32 against doubles).
    model = keras.models.load_model(f"{OUT}/mlp.keras")
    schedule = keras.optimizers.schedules.CosineDecayRestarts(0.1, first_decay_steps=2, t_mul=2.0, m_mul=1.0, alpha=0.1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss=keras.losses.MeanSquaredError())
    model.save(f"{OUT}/mlp_restarts.keras")
    # optimizer-algorithm: the mlp compiled with the string "rmsprop" (RMSprop with Keras's defaults).
    model = keras.models.load_model(f"{OUT}/mlp.keras")
    model.compile(optimizer="rmsprop", loss="mse")
    model.save(f"{OUT}/rmsprop.keras")
    # gradient-convention: two branches initialised alike (as when both are copied from one layer), merged by
    # Maximum: every element ties.
    more = np.random.default_rng(13)
    x = keras.Input((4,))
    left, right = L.Dense(6, name="left"), L.Dense(6, name="right")
    merged = L.Maximum(name="max")([left(x), right(x)])
    branches = keras.Model(x, L.Dense(2, name="out")(L.Activation("tanh")(merged)), name="max_branches")
    kernel, bias = more.uniform(-0.6, 0.6, size=(4, 6)).astype(np.float32), more.uniform(-0.6, 0.6, size=6).astype(np.float32)
    left.set_weights([kernel, bias])
    right.set_weights([kernel.copy(), bias.copy()])
    branches.get_layer("out").set_weights([more.uniform(-0.6, 0.6, size=(6, 2)).astype(np.float32), more.uniform(-0.6, 0.6, size=2).astype(np.float32)])
    branches.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.MeanSquaredError())
    branches.save(f"{OUT}/max_branches.keras")
    # training-mode of a Dropout: Dense, Dropout(0.3), Dense.
    dropout = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="tanh", name="hidden"), L.Dropout(0.3, name="drop"), L.Dense(2, name="out")],
                               name="dropout")
    dropout.set_weights([more.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in dropout.weights])
    dropout.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.MeanSquaredError())
    dropout.save(f"{OUT}/dropout.keras")
    # A Keras LSTM with dropout, against the LSTM port (nn.LSTM has no counterpart): the lstm's config and weights.
    lstm_dropout = keras.Sequential([keras.Input((5, 3)), L.LSTM(4, dropout=0.3, name="lstm"), L.Dense(2, name="out")], name="lstm_dropout")
    lstm_dropout.set_weights(keras.models.load_model(f"{OUT}/lstm.keras").get_weights())
    lstm_dropout.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.MeanSquaredError())
    lstm_dropout.save(f"{OUT}/lstm_dropout.keras")
    # weight-regularizer: the mlp with L2(0.05) on both kernels (fit adds 0.05·Σw² to the loss, so 0.1·w to each
    # kernel's gradient), against the mlp port trained without decay, or with SGD(weight_decay=0.1) on every parameter.
    mlp_l2 = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.05), name="hidden"),
                               L.Dense(2, kernel_regularizer=keras.regularizers.L2(0.05), name="out")], name="mlp_l2")
    mlp_l2.set_weights(keras.models.load_model(f"{OUT}/mlp.keras").get_weights())
    mlp_l2.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.MeanSquaredError())
    mlp_l2.save(f"{OUT}/mlp_l2.keras")
    # A Bidirectional(LSTM) with dropout and recurrent_dropout, against the bidirectional nn.LSTM port (its last
    # states concatenated, as Keras's return_sequences=False output): nn.LSTM has no such dropout (`training-mode`).
    bilstm = keras.Sequential([keras.Input((5, 3)), L.Bidirectional(L.LSTM(4, dropout=0.3, recurrent_dropout=0.2), name="bi"), L.Dense(2, name="out")],
                              name="bilstm_dropout")
    bilstm.set_weights([more.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in bilstm.weights])
    bilstm.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.MeanSquaredError())
    bilstm.save(f"{OUT}/bilstm_dropout.keras")
    for v in bilstm.weights:
        weights[f"bilstm_dropout:{v.path}"] = np.asarray(v.numpy())
    for model in (branches, dropout):
        for layer in model.layers:
            for v in layer.weights:
                weights[f"{model.name}:{model.name}/{layer.name}/{v.name}"] = np.asarray(v.numpy())
    np.savez(f"{OUT}/weights.npz", **weights)
    print("keras", keras.__version__, sorted(models))


def torch_step():
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(1)
    w = dict(np.load(f"{OUT}/weights.npz"))
    data = dict(np.load(f"{OUT}/data.npz"))

    def t(key):
        # Variables of a model built in memory carry the model's name: `mlp/hidden/kernel`.
        model, path = key.split(":")
        return torch.from_numpy(w[f"{model}:{model}/{path}"].copy())

    def linear(module, prefix):
        with torch.no_grad():
            module.weight.copy_(t(prefix + "/kernel").T)
            module.bias.copy_(t(prefix + "/bias"))
        return module

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)
            self.out = nn.Linear(4, 2)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.out(y[:, -1])

    def export(model, x, name):
        program = torch.export.export(model.train(), (torch.from_numpy(x[:BATCH]),))
        torch.export.save(program, f"{OUT}/{name}.pt2")

    export(nn.Sequential(linear(nn.Linear(4, 6), "mlp:hidden"), nn.Tanh(), linear(nn.Linear(6, 2), "mlp:out")), data["x"], "mlp")
    export(nn.Sequential(linear(nn.Linear(4, 6), "classifier:hidden"), nn.Tanh(), linear(nn.Linear(6, 3), "classifier:logits")), data["x"], "classifier")
    for suffix, momentum in (("", 0.1), ("_faithful", 0.01)):
        norm = nn.BatchNorm1d(6, eps=1e-3, momentum=momentum)
        with torch.no_grad():
            norm.weight.copy_(t("bn:bn/gamma"))
            norm.bias.copy_(t("bn:bn/beta"))
            norm.running_mean.copy_(t("bn:bn/moving_mean"))
            norm.running_var.copy_(t("bn:bn/moving_variance"))
        export(nn.Sequential(linear(nn.Linear(4, 6), "bn:hidden"), norm, nn.Tanh(), linear(nn.Linear(6, 2), "bn:out")), data["x"], "bn" + suffix)

    def bn_port(model, momentum=0.01):
        norm = nn.BatchNorm1d(6, eps=1e-3, momentum=momentum)
        with torch.no_grad():
            for p, k in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
                getattr(norm, p).copy_(t(f"{model}:bn/{k}"))
        return nn.Sequential(linear(nn.Linear(4, 6), f"{model}:hidden"), norm, nn.Tanh(), linear(nn.Linear(6, 2), f"{model}:out"))

    def export_modes(model, x, name):
        # Exported as set up (model.train() first, then the port's own .eval() calls): torch.export records each
        # module's mode in its batch_norm node.
        torch.export.save(torch.export.export(model, (torch.from_numpy(x[:BATCH]),)), f"{OUT}/{name}.pt2")

    # training-mode pairs. The Keras BatchNormalization trains (fit) but the port's BatchNorm was left in eval mode.
    port = bn_port("bn").train()
    port[1].eval()
    export_modes(port, data["x"], "bn_eval")
    # Keras's frozen BatchNormalization (trainable=False) against a port that freezes the parameters with
    # requires_grad_(False) but leaves the module in train mode (batch statistics, running statistics move)…
    port = bn_port("bn_frozen").train()
    port[1].requires_grad_(False)
    export_modes(port, data["x"], "bn_frozen")
    # …and the faithful port: .eval() on it too.
    port[1].eval()
    export_modes(port, data["x"], "bn_frozen_faithful")
    seq = Sequence()
    with torch.no_grad():
        seq.lstm.weight_ih_l0.copy_(t("lstm:lstm/lstm_cell/kernel").T)
        seq.lstm.weight_hh_l0.copy_(t("lstm:lstm/lstm_cell/recurrent_kernel").T)
        seq.lstm.bias_ih_l0.copy_(t("lstm:lstm/lstm_cell/bias"))
        seq.lstm.bias_hh_l0.zero_()
    linear(seq.out, "lstm:out")
    export(seq, data["x_seq"], "lstm")

    class TimeFirst(nn.Module):
        # The same port with nn.LSTM's default layout: (T, N, F) in, the last time step out.
        def __init__(self, seq):
            super().__init__()
            self.lstm = nn.LSTM(3, 4)
            self.lstm.load_state_dict(seq.lstm.state_dict())
            self.out = seq.out

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.out(y[-1])

    program = torch.export.export(TimeFirst(seq).train(), (torch.from_numpy(data["x_seq"][:BATCH].transpose(1, 0, 2).copy()),))
    torch.export.save(program, f"{OUT}/lstm_time_first.pt2")
    export(nn.Sequential(linear(nn.Linear(4, 6), "binary:hidden"), nn.Tanh(), linear(nn.Linear(6, 1), "binary:out"), nn.Sigmoid()), data["x"], "binary")

    class MaxBranches(nn.Module):
        # The faithful port of keras.layers.Maximum: torch.maximum.
        def __init__(self):
            super().__init__()
            self.left, self.right = linear(nn.Linear(4, 6), "max_branches:left"), linear(nn.Linear(4, 6), "max_branches:right")
            self.out = linear(nn.Linear(6, 2), "max_branches:out")

        def forward(self, x):
            return self.out(torch.tanh(torch.maximum(self.left(x), self.right(x))))

    export(MaxBranches(), data["x"], "max_branches")
    port = nn.Sequential(linear(nn.Linear(4, 6), "dropout:hidden"), nn.Tanh(), nn.Dropout(0.3), linear(nn.Linear(6, 2), "dropout:out"))
    export(port, data["x"], "dropout")
    port.train()
    port[2].eval()  # the port's Dropout never trains
    export_modes(port, data["x"], "dropout_eval")

    class BiSequence(nn.Module):
        # The bidirectional port: both directions' last states, forward first (Keras's merge_mode="concat").
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
            self.out = linear(nn.Linear(8, 2), "bilstm_dropout:out")
            with torch.no_grad():
                for suffix, direction in (("", "forward"), ("_reverse", "backward")):
                    cell = f"bilstm_dropout:bi/{direction}_lstm/lstm_cell"
                    getattr(self.lstm, "weight_ih_l0" + suffix).copy_(t(cell + "/kernel").T)
                    getattr(self.lstm, "weight_hh_l0" + suffix).copy_(t(cell + "/recurrent_kernel").T)
                    getattr(self.lstm, "bias_ih_l0" + suffix).copy_(t(cell + "/bias"))
                    getattr(self.lstm, "bias_hh_l0" + suffix).zero_()

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.out(torch.cat([h[0], h[1]], dim=-1))

    export(BiSequence(), data["x_seq"], "bilstm")
    os.remove(f"{OUT}/weights.npz")  # only the torch step reads it
    print("torch", torch.__version__)


def main():
    if len(sys.argv) == 1:
        for step in ("keras", "torch"):
            subprocess.run([sys.executable, __file__, step], check=True, env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0"))
        return
    keras_step() if sys.argv[1] == "keras" else torch_step()


if __name__ == "__main__":
    main()
