@_exported import ParityFormats
@_exported import ParityNN

/// A JSON value from a Keras file (`config.json`, the legacy `model_config` attribute): a layer's
/// config as Keras wrote it, read with exact numbers (an epsilon of `1e-3` stays `1e-3`) and its
/// members in file order. Written back with `JSONValue/pythonText` (Python's `json.dumps`, as Keras
/// writes `config.json`).
public typealias KerasJSON = JSONValue

extension JSONValue {
    /// A Python slice `start:stop:step` as Keras serializes it in a call's arguments (`serialization_lib`'s
    /// `__slice__`); nil is an omitted bound (`:` is all three nil).
    public static func kerasSlice(_ start: Int? = nil, _ stop: Int? = nil, _ step: Int? = nil) -> JSONValue {
        .object(["class_name": .string("__slice__"), "config": .object([
            "start": start.map { .int($0) } ?? .null, "stop": stop.map { .int($0) } ?? .null, "step": step.map { .int($0) } ?? .null,
        ])])
    }
}
