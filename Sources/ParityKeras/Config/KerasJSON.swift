@_exported import ParityFormats
@_exported import ParityNN

/// A JSON value from a Keras file (`config.json`, the legacy `model_config` attribute): a layer's
/// config as Keras wrote it, read with exact numbers (an epsilon of `1e-3` stays `1e-3`) and its
/// members in file order. Written back with `JSONValue/pythonText` (Python's `json.dumps`, as Keras
/// writes `config.json`).
public typealias KerasJSON = JSONValue
