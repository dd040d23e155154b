import ParityTensor

/// A stated bound for comparing a result with a reference: absolute and relative error
/// (`|a − e| ≤ atol + rtol·|e|`, as `torch.testing.assert_close`), or a ULP distance (where an
/// element may instead be within `absolute`, for outputs near zero).
public struct Tolerance: Sendable, CustomStringConvertible {
    public var absolute: Double
    public var relative: Double
    public var ulps: UInt64?

    public init(absolute: Double = 0, relative: Double = 0, ulps: UInt64? = nil) {
        self.absolute = absolute
        self.relative = relative
        self.ulps = ulps
    }

    public static let exact = Tolerance(ulps: 0)

    public var description: String {
        ulps.map { "≤ \($0) ULP" + (absolute > 0 ? " or ≤ \(absolute) absolute" : "") } ?? "atol \(absolute), rtol \(relative)"
    }

    /// `nil` when `actual` is within the bound of `expected`, else a message saying where it is not.
    public func violation(_ actual: Tensor, _ expected: Tensor) -> String? {
        guard actual.shape == expected.shape else { return "shape \(actual.shape) vs expected \(expected.shape)" }
        if let ulps {
            let expected = expected.cast(to: actual.dtype)
            guard let metrics = try? ErrorMetrics(actual, expected) else { return "not comparable" }
            if metrics.maxUlps <= ulps { return nil }
            for (i, (a, e)) in zip(actual.doubles, expected.doubles).enumerated() where abs(a - e) > absolute {
                let distance = try! ErrorMetrics(Tensor(shape: [], values: [a]).cast(to: actual.dtype),
                                                 Tensor(shape: [], values: [e]).cast(to: actual.dtype)).maxUlps
                if distance > ulps { return "element \(i): \(a) vs expected \(e) (\(distance) ULP); overall \(metrics)" }
            }
            return nil
        }
        let (a, e) = (actual.doubles, expected.doubles)
        for i in a.indices {
            let bound = absolute + relative * abs(e[i])
            if !(abs(a[i] - e[i]) <= bound) && !(a[i].isNaN && e[i].isNaN) && a[i] != e[i] {
                return "element \(i): \(a[i]) vs expected \(e[i]) (|diff| \(abs(a[i] - e[i])) > \(bound))"
            }
        }
        return nil
    }
}
