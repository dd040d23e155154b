/// The value of an attribute (or a small dataset read with ``HDF5Dataset/readValue()``).
///
/// A scalar dataspace gives the singular case, any other (even with one element) the array case;
/// arrays of rank 2 or more are flattened in row-major order. Strings of every HDF5 flavour
/// (fixed-length with any padding, variable-length, ASCII or UTF-8) become `String`; all integer
/// types, h5py's bools and enums become `Int64`; float16/32/64 become `Double` (exactly).
public enum HDF5Value: Sendable, Hashable, CustomStringConvertible {
    /// A scalar string.
    case string(String)
    /// An array of strings.
    case strings([String])
    /// A scalar integer (or bool, or enum).
    case integer(Int64)
    /// An array of integers.
    case integers([Int64])
    /// A scalar float.
    case float(Double)
    /// An array of floats.
    case floats([Double])

    /// The string of a `.string`.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The strings of a `.strings`, or a `.string` as one element.
    public var strings: [String]? {
        switch self {
        case .strings(let values): return values
        case .string(let value): return [value]
        default: return nil
        }
    }

    /// The integer of an `.integer`.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The integers of an `.integers`, or an `.integer` as one element.
    public var integers: [Int64]? {
        switch self {
        case .integers(let values): return values
        case .integer(let value): return [value]
        default: return nil
        }
    }

    /// The number of a `.float` or `.integer`.
    public var double: Double? {
        switch self {
        case .float(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// The numbers of a `.floats`, `.integers` or their scalar forms.
    public var doubles: [Double]? {
        switch self {
        case .floats(let values): return values
        case .float(let value): return [value]
        case .integers(let values): return values.map(Double.init)
        case .integer(let value): return [Double(value)]
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .string(let value): return "\"\(value)\""
        case .strings(let values): return "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case .integer(let value): return "\(value)"
        case .integers(let values): return "\(values)"
        case .float(let value): return "\(value)"
        case .floats(let values): return "\(values)"
        }
    }
}
