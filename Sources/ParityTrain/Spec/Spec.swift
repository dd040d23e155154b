/// A constructor call as written in the framework's Python: `Adam(lr=1e-3, betas=(0.9, 0.999))`,
/// `keras.losses.Huber(0.5)`, several joined by `+` (`SGD(lr=0.1) + clip_grad_norm_(max_norm=1.0)`).
public struct SpecCall: Sendable, Equatable, CustomStringConvertible {
    /// An argument's value: a Python literal.
    public indirect enum Value: Sendable, Equatable, CustomStringConvertible {
        /// An int or float.
        case number(Double)
        /// `True` or `False`.
        case bool(Bool)
        /// `None`.
        case none
        /// A quoted string.
        case string(String)
        /// A tuple or list.
        case sequence([Value])

        public var description: String {
            switch self {
            case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
            case .bool(let b): return b ? "True" : "False"
            case .none: return "None"
            case .string(let s): return "'\(s)'"
            case .sequence(let items): return "(\(items.map(\.description).joined(separator: ", ")))"
            }
        }
    }

    /// The dotted name as written (`torch.optim.Adam`).
    public var qualifiedName: String
    /// The positional arguments, in order.
    public var positional: [Value]
    /// The keyword arguments, in order.
    public var keywords: [(name: String, value: Value)]

    /// The class name without its module prefix.
    public var name: String { String(qualifiedName.split(separator: ".").last ?? "") }
    /// The module prefix (`torch.optim`), empty when none was written.
    public var module: String { qualifiedName.split(separator: ".").dropLast().joined(separator: ".") }

    public var description: String {
        let args = positional.map(\.description) + keywords.map { "\($0.name)=\($0.value)" }
        return "\(qualifiedName)(\(args.joined(separator: ", ")))"
    }

    public static func == (a: SpecCall, b: SpecCall) -> Bool {
        a.qualifiedName == b.qualifiedName && a.positional == b.positional
            && a.keywords.map(\.name) == b.keywords.map(\.name) && a.keywords.map(\.value) == b.keywords.map(\.value)
    }

    /// Parses `text`: calls joined by `+`; a bare name is a call without arguments. Python literals only
    /// (numbers, `True`/`False`/`None`, quoted strings, tuples and lists); anything else is refused with
    /// its position.
    public static func parse(_ text: String) throws -> [SpecCall] {
        var parser = Parser(text: text)
        return try parser.calls()
    }

    struct Parser {
        let text: String
        let chars: [Character]
        var index = 0

        init(text: String) {
            self.text = text
            chars = Array(text)
        }

        func fail(_ reason: String) -> TrainError { .badSpec(spec: text, position: index, reason: reason) }

        mutating func skipSpace() { while index < chars.count, chars[index].isWhitespace { index += 1 } }

        mutating func calls() throws -> [SpecCall] {
            var result: [SpecCall] = []
            repeat {
                skipSpace()
                result.append(try call())
                skipSpace()
                guard index < chars.count else { return result }
                guard chars[index] == "+" else { throw fail("expected '+' or the end after \(result.last!.qualifiedName)(...); found '\(chars[index])'") }
                index += 1
            } while true
        }

        mutating func identifier() throws -> String {
            skipSpace()
            let start = index
            while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" { index += 1 }
            guard index > start, !chars[start].isNumber else { throw fail(index < chars.count ? "expected a name; found '\(chars[index])'" : "expected a name") }
            return String(chars[start..<index])
        }

        mutating func call() throws -> SpecCall {
            var name = try identifier()
            while index < chars.count, chars[index] == "." {
                index += 1
                name += "." + (try identifier())
            }
            var call = SpecCall(qualifiedName: name, positional: [], keywords: [])
            skipSpace()
            guard index < chars.count, chars[index] == "(" else { return call }
            index += 1
            skipSpace()
            while index < chars.count, chars[index] != ")" {
                let save = index
                if let keyword = try? identifier(), { skipSpace(); return index < chars.count && chars[index] == "=" }() {
                    index += 1
                    guard !call.keywords.contains(where: { $0.name == keyword }) else { throw fail("argument '\(keyword)' given twice") }
                    call.keywords.append((keyword, try value()))
                } else {
                    index = save
                    guard call.keywords.isEmpty else { throw fail("a positional argument after keyword arguments") }
                    call.positional.append(try value())
                }
                skipSpace()
                if index < chars.count, chars[index] == "," { index += 1; skipSpace(); continue }
                guard index < chars.count, chars[index] == ")" else { throw fail(index < chars.count ? "expected ',' or ')'; found '\(chars[index])'" : "missing ')'") }
            }
            guard index < chars.count else { throw fail("missing ')'") }
            index += 1
            return call
        }

        mutating func value() throws -> Value {
            skipSpace()
            guard index < chars.count else { throw fail("expected a value") }
            let c = chars[index]
            if c == "(" || c == "[" {
                let close: Character = c == "(" ? ")" : "]"
                index += 1
                var items: [Value] = []
                skipSpace()
                while index < chars.count, chars[index] != close {
                    items.append(try value())
                    skipSpace()
                    if index < chars.count, chars[index] == "," { index += 1; skipSpace(); continue }
                    guard index < chars.count, chars[index] == close else { throw fail("expected ',' or '\(close)'") }
                }
                guard index < chars.count else { throw fail("missing '\(close)'") }
                index += 1
                return .sequence(items)
            }
            if c == "'" || c == "\"" {
                index += 1
                let start = index
                while index < chars.count, chars[index] != c { index += 1 }
                guard index < chars.count else { throw fail("unterminated string") }
                defer { index += 1 }
                return .string(String(chars[start..<index]))
            }
            if c.isLetter {
                let word = try identifier()
                switch word {
                case "True", "true": return .bool(true)
                case "False", "false": return .bool(false)
                case "None", "null": return .none
                case "inf": return .number(.infinity)
                default: throw fail("'\(word)' is not a value (numbers, True, False, None, strings, tuples)")
                }
            }
            let start = index
            while index < chars.count, chars[index].isNumber || "+-.eE_".contains(chars[index]) {
                if (chars[index] == "+" || chars[index] == "-"), index > start, !"eE".contains(chars[index - 1]) { break }
                index += 1
            }
            let literal = String(chars[start..<index]).replacingOccurrences(of: "_", with: "")
            guard let number = Double(literal), number.isFinite || literal.contains("inf") else {
                index = start
                throw fail("expected a value; found '\(literal.isEmpty ? String(c) : literal)'")
            }
            return .number(number)
        }
    }
}

/// The arguments a class takes, in positional order, with defaults: binds a call's arguments by name.
struct ArgumentTable {
    let className: String
    let parameters: [(name: String, value: SpecCall.Value)]

    /// The call's arguments over the defaults, by name. Throws for an argument the class does not take.
    func bind(_ call: SpecCall) throws -> Arguments {
        var values = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) })
        guard call.positional.count <= parameters.count else {
            throw TrainError.badArgument(name: className, value: "\(call.positional.count) positional arguments",
                                         reason: "it takes at most \(parameters.count): \(parameters.map(\.name).joined(separator: ", "))")
        }
        for (parameter, value) in zip(parameters, call.positional) { values[parameter.name] = value }
        for (name, value) in call.keywords {
            guard values[name] != nil else { throw TrainError.unknownArgument(className: className, name: name, known: parameters.map(\.name)) }
            values[name] = value
        }
        let defaults = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) })
        let given = call.positional.indices.map { parameters[$0].name } + call.keywords.map(\.name)
        return Arguments(className: className, values: values, given: given.filter { $0 != "name" && values[$0] != defaults[$0] })
    }
}

/// Bound arguments, read with their expected types.
struct Arguments {
    let className: String
    var values: [String: SpecCall.Value]
    /// The arguments written with a value other than their default, in order (for reports).
    let given: [String]

    func fail(_ name: String, _ reason: String) -> TrainError {
        .badArgument(name: "\(className) \(name)", value: "\(values[name] ?? .none)", reason: reason)
    }

    func double(_ name: String) throws -> Double {
        switch values[name] {
        case .number(let x)?: return x
        case .bool(let b)?: return b ? 1 : 0
        default: throw fail(name, "expected a number")
        }
    }

    func optionalDouble(_ name: String) throws -> Double? {
        if case .none? = values[name] { return nil }
        return try double(name)
    }

    func nonNegative(_ name: String) throws -> Double {
        let x = try double(name)
        guard x >= 0, x.isFinite else { throw fail(name, "expected a finite number ≥ 0") }
        return x
    }

    func bool(_ name: String) throws -> Bool {
        switch values[name] {
        case .bool(let b)?: return b
        case .number(let x)? where x == 0 || x == 1: return x == 1
        default: throw fail(name, "expected True or False")
        }
    }

    func string(_ name: String) throws -> String {
        guard case .string(let s)? = values[name] else { throw fail(name, "expected a string") }
        return s
    }

    func optionalInt(_ name: String) throws -> Int? {
        switch values[name] {
        case .none?, nil: return nil
        case .number(let x)? where x == x.rounded() && abs(x) < 1e9: return Int(x)
        default: throw fail(name, "expected an integer or None")
        }
    }

    func doubles(_ name: String, count: Int? = nil) throws -> [Double]? {
        switch values[name] {
        case .none?, nil: return nil
        case .sequence(let items)?:
            let numbers = try items.map { item -> Double in
                guard case .number(let x) = item else { throw fail(name, "expected numbers") }
                return x
            }
            if let count, numbers.count != count { throw fail(name, "expected \(count) numbers") }
            return numbers
        case .number(let x)? where count == nil: return [x]
        default: throw fail(name, "expected a tuple of numbers")
        }
    }

    /// Throws unless the argument keeps its default (settings Parity does not apply).
    func requireDefault(_ name: String, _ expected: SpecCall.Value, because reason: String) throws {
        guard let value = values[name], value != expected else { return }
        throw fail(name, reason)
    }

    /// `name=value` for each argument written (for ``Optimizer/arguments`` and ``Loss/arguments``).
    var written: [String] { given.map { "\($0)=\(values[$0] ?? .none)" } }
}
