import Foundation
@_exported import ParityFormats
@_exported import ParityNN

/// A JSON value from a Keras file (`config.json`, the legacy `model_config` attribute): a layer's
/// config as Keras wrote it, read with exact numbers (an epsilon of `1e-3` stays `1e-3`).
public typealias KerasJSON = JSONValue

extension JSONValue {
    /// The value as Python's `json.dumps` writes it with its defaults (what Keras writes to
    /// `config.json`): `", "` and `": "` separators, non-ASCII characters as `\uXXXX` escapes, `NaN`
    /// and `Infinity` bare. Object keys come sorted (a ``JSONValue`` keeps no key order, and Keras
    /// reads configs by key). Whole numbers below 2^53 are written as integers, others in the
    /// shortest form that reads back to the same double, so every number round-trips exactly.
    var pythonJSONText: String {
        var text = ""
        appendPythonJSON(to: &text)
        return text
    }

    private func appendPythonJSON(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .number(let value):
            if value.isNaN { text += "NaN" }
            else if value.isInfinite { text += value < 0 ? "-Infinity" : "Infinity" }
            else if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { text += "\(Int64(value))" }
            else { text += "\(value)" }
        case .string(let value): Self.appendQuoted(value, to: &text)
        case .array(let items):
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += ", " }
                item.appendPythonJSON(to: &text)
            }
            text += "]"
        case .object(let fields):
            text += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { text += ", " }
                Self.appendQuoted(key, to: &text)
                text += ": "
                fields[key]!.appendPythonJSON(to: &text)
            }
            text += "}"
        }
    }

    private static func appendQuoted(_ string: String, to text: inout String) {
        text += "\""
        for unit in string.utf16 {
            switch unit {
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x08: text += "\\b"
            case 0x0C: text += "\\f"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        text += "\""
    }
}
