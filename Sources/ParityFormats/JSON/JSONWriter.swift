/// The one JSON writer, in the two styles the files Parity writes use. Members are written in the
/// object's order; numbers as Python writes them (``JSONValue/int(_:)`` as digits, ``JSONValue/double(_:)``
/// as Python's `repr(float)`: the shortest text that reads back to the same double, `1.0`, `1e-05`,
/// `1e+16`, which Swift's `description` also produces), non-finite doubles as `NaN`, `Infinity`,
/// `-Infinity` (``JSONReader`` reads them back).
public enum JSONWriter {
    /// How the text is spaced and escaped.
    public enum Style: Sendable {
        /// Python's `json.dumps` defaults, as Keras writes `config.json`: `", "` and `": "` separators,
        /// every character outside printable ASCII as a `\uXXXX` escape (UTF-16 units, lowercase hex).
        case python
        /// No spaces, UTF-8 kept as is, only `"`, `\` and control characters escaped: serde_json's
        /// `to_string`, as the safetensors library writes its header.
        case compact
    }

    /// `value` as JSON text in `style`.
    public static func text(_ value: JSONValue, style: Style) -> String {
        var out = ""
        append(value, style, to: &out)
        return out
    }

    static func append(_ value: JSONValue, _ style: Style, to out: inout String) {
        let (comma, colon) = style == .python ? (", ", ": ") : (",", ":")
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += d.description }
        case .string(let s): appendQuoted(s, style, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += comma }
                append(item, style, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, member) in object.enumerated() {
                if index > 0 { out += comma }
                appendQuoted(member.key, style, to: &out)
                out += colon
                append(member.value, style, to: &out)
            }
            out += "}"
        }
    }

    static func appendQuoted(_ string: String, _ style: Style, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(scalar)
            case 0x7F... where style == .compact: out.unicodeScalars.append(scalar)
            default:
                for unit in String(scalar).utf16 { out += "\\u" + String(unit, radix: 16).leftPadded(to: 4) }
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// The value as Python's `json.dumps` writes it with its defaults (Keras's `config.json`).
    public var pythonText: String { JSONWriter.text(self, style: .python) }

    /// The value without spaces, UTF-8 kept (serde_json's `to_string`; the safetensors header).
    public var compactText: String { JSONWriter.text(self, style: .compact) }
}
