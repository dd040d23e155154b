/// Renders a ``TorchModuleSource`` as `model.py`: idiomatic PyTorch with a no-argument `Model()`.
extension TorchModuleSource {
    /// The text of `model.py`.
    public var python: String {
        var lines = header.map { "# " + $0 }
        lines += ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", ""]
        for helper in helpers { lines += ["", helper.trimmingTrailingNewlines, ""] }
        lines += ["", "class Model(nn.Module):"]
        lines.append("    \"\"\"" + (docstring.first ?? ""))
        for line in docstring.dropFirst() { lines.append(line.isEmpty ? "" : "    " + line) }
        lines += ["    \"\"\"", "", "    def __init__(self):", "        super().__init__()"]
        for module in submodules {
            lines.append("        self.\(module.name) = \(module.constructor)" + (module.comment.map { "  # " + $0 } ?? ""))
        }
        lines += ["", "    def forward(self, \(inputs.map(\.python).joined(separator: ", "))):"]
        for step in steps { lines += step.python.map { "        " + $0 } }
        lines.append("        return " + outputs.map(\.python).joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}

/// Python literals.
enum Py {
    /// A float as Python reads it back exactly (Swift's shortest round-trip form: `0.001`, `1e-05`).
    static func float(_ value: Double) -> String {
        if value == .infinity { return "float(\"inf\")" }
        if value == -.infinity { return "float(\"-inf\")" }
        return "\(value)"
    }

    /// `1 − value` written as the decimal a reader expects (`1 − 0.99` is `0.01`, not `0.010000000000000009`).
    static func complement(_ value: Double) -> Double {
        let digits = "\(value)".split(separator: ".").last.map { $0.count } ?? 0
        let scale = (0..<min(digits, 15)).reduce(1.0) { r, _ in r * 10 }
        return (scale - (value * scale).rounded()) / scale
    }

    /// `3` or `(3, 3)`: one int when every entry is equal.
    static func ints(_ values: [Int]) -> String {
        if let first = values.first, values.allSatisfy({ $0 == first }) { return "\(first)" }
        return tuple(values)
    }

    static func tuple(_ values: [Int]) -> String {
        values.count == 1 ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
    }

    static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
        "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
        "return", "try", "while", "with", "yield", "self", "torch", "nn", "F", "super",
        // builtins a variable would shadow
        "input", "max", "min", "sum", "abs", "all", "any", "len", "list", "dict", "tuple", "set", "type", "id", "range", "map",
        "filter", "zip", "round", "pow", "print", "object", "iter", "next", "open", "format", "hash", "vars", "float", "int", "bool", "str",
    ]
    /// Attributes every `nn.Module` has: a submodule must not shadow them.
    static let moduleAttributes: Set<String> = [
        "training", "forward", "state_dict", "load_state_dict", "parameters", "buffers", "modules", "children", "named_modules",
        "eval", "train", "to", "cuda", "cpu", "float", "double", "half", "apply", "type", "zero_grad", "register_buffer",
        "register_parameter", "add_module", "extra_repr", "requires_grad_", "get_submodule", "get_parameter", "get_buffer",
    ]

    /// A Keras name as a Python identifier: other characters become `_`, a leading digit gets `_`, and
    /// keywords and `nn.Module` attributes get a trailing `_`.
    static func identifier(_ name: String) -> String {
        var s = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if s.isEmpty || s.first!.isNumber { s = "_" + s }
        if keywords.contains(s) || moduleAttributes.contains(s) { s += "_" }
        return s
    }
}
