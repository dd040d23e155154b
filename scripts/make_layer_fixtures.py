"""Generates Tests/Fixtures/nn/layers.json: Parity's layers (Keras weight layout) against the PyTorch
modules they correspond to, with the weights converted as docs/conventions.md says (Dense kernel ->
Linear weight transposed; LSTM kernel/recurrent kernel transposed, Keras bias -> b_ih, b_hh = 0).

Run by hand (never in CI):  python scripts/make_layer_fixtures.py   (needs torch and numpy)
"""
import json
import platform
import sys

import numpy as np
import torch

rng = np.random.default_rng(7)
cotangent_rng = np.random.default_rng(11)  # its own stream: the forward data above stays as it was


def f32(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def tensor(x):
    return {"shape": list(x.shape), "values": [float(v) for v in np.asarray(x, dtype=np.float64).reshape(-1)]}


def run(module, x, keras_weights):
    """Outputs in float32 and float64, and torch.autograd's float64 VJP of a fixed cotangent with respect to
    the input and to each Keras-layout weight (`keras_weights(module)` gives their torch gradients, transposed
    back to Keras's layout)."""
    out = {}
    for name, dtype in (("output32", torch.float32), ("output64", torch.float64)):
        m = module.to(dtype).eval()
        with torch.no_grad():
            y = m(torch.tensor(x, dtype=dtype))
        out[name] = tensor(y.numpy())
    m = module.to(torch.float64).eval()
    m.zero_grad()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = m(xt)
    c = cotangent_rng.uniform(-1.0, 1.0, size=tuple(y.shape))
    (y * torch.tensor(c)).sum().backward()
    out["cotangent"] = tensor(c)
    out["input_gradient"] = tensor(xt.grad.numpy())
    out["weight_gradients"] = {k: tensor(g.detach().numpy()) for k, g in keras_weights(m).items()}
    return out


cases = []

# Dense(5 -> 10, sigmoid) then Dense(10 -> 1): the seed feed-forward net.
k1, b1, k2, b2 = f32((5, 10)), f32((10,), -0.1, 0.1), f32((10, 1)), f32((1,), -0.1, 0.1)
ffn = torch.nn.Sequential(torch.nn.Linear(5, 10), torch.nn.Sigmoid(), torch.nn.Linear(10, 1))
with torch.no_grad():
    ffn[0].weight.copy_(torch.tensor(k1.T)); ffn[0].bias.copy_(torch.tensor(b1))
    ffn[2].weight.copy_(torch.tensor(k2.T)); ffn[2].bias.copy_(torch.tensor(b2))
x = f32((8, 5))
cases.append({"name": "seed feed-forward", "layer": "ffn",
              "weights": {"k1": tensor(k1), "b1": tensor(b1), "k2": tensor(k2), "b2": tensor(b2)},
              "input": tensor(x),
              **run(ffn, x, lambda m: {"k1": m[0].weight.grad.T, "b1": m[0].bias.grad,
                                       "k2": m[2].weight.grad.T, "b2": m[2].bias.grad})})

# LSTM(units) over a sequence, Keras layout; PyTorch batch_first with b_hh = 0.
for units, steps, features, return_sequences in ((10, 10, 1, False), (6, 5, 3, True)):
    kernel, recurrent, bias = f32((features, 4 * units), -0.5, 0.5), f32((units, 4 * units), -0.5, 0.5), f32((4 * units,), -0.1, 0.1)
    lstm = torch.nn.LSTM(features, units, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(kernel.T)); lstm.weight_hh_l0.copy_(torch.tensor(recurrent.T))
        lstm.bias_ih_l0.copy_(torch.tensor(bias)); lstm.bias_hh_l0.zero_()

    class Wrap(torch.nn.Module):
        def __init__(self, lstm, seq):
            super().__init__()
            self.lstm, self.seq = lstm, seq

        def forward(self, x):
            out, (h, _) = self.lstm(x)
            return out if self.seq else h[0]

    x = f32((4, steps, features))
    cases.append({"name": f"LSTM({units}) {steps} steps x {features} features, return_sequences={return_sequences}",
                  "layer": "lstm", "returnSequences": return_sequences,
                  "weights": {"kernel": tensor(kernel), "recurrent": tensor(recurrent), "bias": tensor(bias)},
                  "input": tensor(x),
                  # Keras's one bias is b_ih (b_hh stays 0): its gradient is b_ih's.
                  **run(Wrap(lstm, return_sequences), x,
                        lambda m: {"kernel": m.lstm.weight_ih_l0.grad.T, "recurrent": m.lstm.weight_hh_l0.grad.T,
                                   "bias": m.lstm.bias_ih_l0.grad})})

meta = {"generator": "scripts/make_layer_fixtures.py (generated, do not edit)", "torch": torch.__version__,
        "numpy": np.__version__, "python": sys.version.split()[0], "platform": platform.platform()}
with open("Tests/Fixtures/nn/layers.json", "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
