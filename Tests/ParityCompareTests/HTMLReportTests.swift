import Foundation
import ParityCompare
import Testing

/// `Comparison.html()`: the self-contained HTML report of `parity compare --html`, on the bundled examples
/// and on hand-edited comparisons (log-scale positions, zeros, hostile layer names).
@Suite struct HTMLReportTests {
    static let hostile = "<script>alert(1)</script>&\"'"
    static let hostileEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"

    /// The `(x, y)` points of a plotted series (`s-abs`, `s-noise`, `s-f64`).
    static func points(_ series: String, in html: String) throws -> [(x: Double, y: Double)] {
        let regex = try Regex("data-series=\"\(series)\" points=\"([^\"]*)\"")
        let match = try #require(html.firstMatch(of: regex), "no polyline for \(series)")
        let text = try #require(match.output[1].substring)
        return try text.split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").compactMap { Double($0) }
            try #require(xy.count == 2, "bad point \(pair)")
            return (xy[0], xy[1])
        }
    }

    /// The y of a grid line (`data-decade="-3"`, `"zero"` for the zero line, `"off-scale"` for inf and NaN).
    static func gridY(_ decade: String, in html: String) throws -> Double {
        let regex = try Regex("data-decade=\"\(decade)\" x1=\"[^\"]*\" y1=\"([^\"]*)\"")
        let match = try #require(html.firstMatch(of: regex), "no grid line for \(decade)")
        let text = try #require(match.output[1].substring)
        return try #require(Double(text))
    }

    /// Every number in a coordinate attribute or a `points` list of the plot.
    static func coordinates(in html: String) throws -> [String] {
        let regex = try Regex("(?:\\s(?:x|y|x1|y1|x2|y2|cx|cy|r)=\"([^\"]*)\"|points=\"([^\"]*)\")")
        return html.matches(of: regex).flatMap { match -> [String] in
            if let single = match.output[1].substring { return [String(single)] }
            return (match.output[2].substring ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }
    }

    static func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }

    /// Edits the measurement a layer is plotted by (its local one, else end to end).
    static func set(_ c: inout Comparison, _ i: Int, _ edit: (inout PairMeasurement) -> Void) {
        if c.layers[i].local != nil { edit(&c.layers[i].local!) } else { edit(&c.layers[i].endToEnd) }
    }

    @Test func paddingSameReportHasThePlotTheTableAndTheFinding() throws {
        let c = try CompareExampleTests.compare("padding-same")
        let html = c.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(Self.count("<svg", in: html) == 1 && Self.count("</svg>", in: html) == 1)
        #expect(Self.count("<polyline", in: html) == 3)
        for series in ["s-abs", "s-noise", "s-f64"] {
            let points = try Self.points(series, in: html)
            #expect(points.count == c.layers.count)
            #expect(points.allSatisfy { $0.x.isFinite && $0.y.isFinite })
            #expect(zip(points, points.dropFirst()).allSatisfy { $0.x < $1.x }, "layers left to right")
        }
        let coordinates = try Self.coordinates(in: html)
        #expect(coordinates.count > 3 * c.layers.count)
        #expect(coordinates.allSatisfy { Double($0)?.isFinite == true }, "\(coordinates.filter { Double($0)?.isFinite != true })")
        #expect(Self.count("<tr class=\"layer", in: html) == c.layers.count)
        #expect(Self.count("<tr class=\"layer diverges\"", in: html) == c.layers.filter(\.diverges).count)
        #expect(html.contains("<p class=\"verdict mismatch\">MISMATCH</p>"))
        #expect(html.contains(">first divergence: conv ↔ "))
        #expect(html.contains("permuted [0, 3, 1, 2] (NHWC → NCHW)"))
        #expect(html.contains("rtol 1.3e-06, atol 1e-05 (torch.testing.assert_close defaults for float32)"))
        #expect(html.contains("<code>padding-same</code>"))
        #expect(html.contains("F.pad(x, (0, 1, 0, 1)) then nn.Conv2d("))
        // The first divergence marker stands at the first diverging layer's x.
        let index = try #require(c.layers.firstIndex { $0.diverges })
        let x = try Self.points("s-abs", in: html)[index].x
        #expect(html.contains("<line class=\"divergence\" x1=\"\(String(format: "%.1f", x))\""))
    }

    @Test func faithfulReportMatchesWithoutDivergenceMarker() throws {
        let c = try CompareExampleTests.compare("faithful")
        let html = c.html()
        #expect(html.contains("<p class=\"verdict match\">MATCH</p>"))
        #expect(!html.contains("first divergence:"))
        #expect(!html.contains("<tr class=\"layer diverges\""))
        #expect(Self.count("<tr class=\"layer\"", in: html) == 5)
        #expect(html.contains("<code>float-noise</code>"))
    }

    @Test(arguments: ["faithful", "padding-same", "batchnorm-epsilon", "flatten-order"])
    func noExternalReferences(port: String) throws {
        let html = try CompareExampleTests.compare(port).html()
        for needle in ["http", "src=", "href=", "@import", "url(", "<script", "<link", "<img", "xlink"] {
            #expect(!html.lowercased().contains(needle), "\(port) report contains \(needle)")
        }
    }

    @Test func aValueTenTimesLargerSitsOneDecadeHigher() throws {
        var c = try CompareExampleTests.compare("faithful")
        try #require(c.layers.count == 5)
        for (i, value) in [1e-4, 1e-3, 1e-2, 0, 5e-3].enumerated() { Self.set(&c, i) { $0.metrics.maxAbs = value } }
        let html = c.html()
        let points = try Self.points("s-abs", in: html)
        let (minus4, minus3) = (try Self.gridY("-4", in: html), try Self.gridY("-3", in: html))
        let decade = minus4 - minus3
        #expect(decade > 10, "decades are spaced apart")
        #expect(abs(points[0].y - minus4) < 0.11)
        #expect(abs(points[1].y - minus3) < 0.11)
        #expect(abs((points[0].y - points[1].y) - decade) < 0.11)
        #expect(abs((points[1].y - points[2].y) - decade) < 0.11)
        // 5e-3 sits log10(5) of a decade above 1e-3.
        #expect(abs((points[1].y - points[4].y) - log10(5) * decade) < 0.11)
        // Zero: on the zero line, below every decade, as a hollow marker.
        let zeroY = try Self.gridY("zero", in: html)
        #expect(abs(points[3].y - zeroY) < 0.11)
        #expect(points.enumerated().allSatisfy { $0.offset == 3 || $0.element.y < zeroY })
        #expect(html.contains("<circle class=\"point s-abs off-scale\""))
    }

    @Test func allZeroErrorsAndNonFiniteValuesGiveFiniteCoordinates() throws {
        var c = try CompareExampleTests.compare("faithful")
        for i in c.layers.indices {
            Self.set(&c, i) { m in
                m.metrics.maxAbs = 0
                m.noise = 0
                m.maxAbsFloat64 = 0
            }
        }
        let zeros = c.html()
        #expect(try Self.coordinates(in: zeros).allSatisfy { Double($0)?.isFinite == true })
        let zeroY = try Self.gridY("zero", in: zeros)
        #expect(try Self.points("s-abs", in: zeros).allSatisfy { abs($0.y - zeroY) < 0.11 })
        #expect(!zeros.lowercased().contains("nan\"") && !zeros.lowercased().contains("inf\""))

        Self.set(&c, 1) { $0.metrics.maxAbs = .infinity }
        Self.set(&c, 2) { $0.metrics.maxAbs = .nan }
        Self.set(&c, 3) { $0.metrics.maxAbs = 1e-6 }
        let offScale = c.html()
        #expect(try Self.coordinates(in: offScale).allSatisfy { Double($0)?.isFinite == true })
        let top = try Self.gridY("off-scale", in: offScale)
        let points = try Self.points("s-abs", in: offScale)
        #expect(abs(points[1].y - top) < 0.11 && abs(points[2].y - top) < 0.11)
        #expect(abs(points[3].y - (try Self.gridY("-6", in: offScale))) < 0.11)
    }

    @Test func aWideRangeKeepsThePlotBoundedAndLabelsEveryNthDecade() throws {
        var c = try CompareExampleTests.compare("padding-same")
        Self.set(&c, 0) { $0.maxAbsFloat64 = 1e-300 }
        let html = c.html()
        let decades = html.matches(of: try Regex("data-decade=\"(-?[0-9]+)\"")).compactMap { $0.output[1].substring.flatMap { Int($0) } }
        let highest = try #require(decades.max())
        let (top, bottom) = (try Self.gridY("\(highest)", in: html), try Self.gridY("-300", in: html))
        #expect(bottom - top <= 400.1)
        #expect(try Self.coordinates(in: html).allSatisfy { Double($0)?.isFinite == true })
        let labels = html.matches(of: try Regex("<text class=\"tick\"[^>]*>1e")).count
        #expect(labels > 10 && labels < 40, "\(labels) decade labels")
    }

    @Test func textFromTheModelsIsEscaped() throws {
        var c = try CompareExampleTests.compare("padding-same")
        c.a = Self.hostile
        c.b = Self.hostile
        c.layers[0].a = Self.hostile
        c.layers[0].b = Self.hostile + "2"
        c.layers[1].kindA = Self.hostile
        c.firstDivergence = Self.hostile
        c.inputs[0].note = Self.hostile
        c.tolerance.source = Self.hostile
        c.unpairedA = [Unpaired(name: Self.hostile, kind: Self.hostile, reason: Self.hostile)]
        c.unpairedB = [Unpaired(name: Self.hostile, kind: Self.hostile, reason: Self.hostile)]
        c.findings[0].layer = Self.hostile
        c.findings[0].a = Self.hostile
        c.findings[0].b = Self.hostile
        c.findings[0].fix = Self.hostile
        c.findings[0].message = Self.hostile
        let html = c.html()
        #expect(!html.contains("<script"))
        #expect(!html.contains(Self.hostile))
        #expect(!html.contains("alert(1)</"))
        #expect(Self.count(Self.hostileEscaped, in: html) >= 15)
        // The plot's labels and tooltips are escaped too.
        let svg = try #require(html.components(separatedBy: "<svg").last)
        #expect(svg.contains("<title>\(Self.hostileEscaped) ↔ \(Self.hostileEscaped)2</title>"))
    }

    @Test func noCauseNamedListsTheTestedHypotheses() throws {
        var c = try CompareExampleTests.compare("padding-same")
        c.findings = []
        let html = c.html()
        #expect(html.contains("No cause named: tested \(c.testedHypotheses.map(\.rawValue).joined(separator: ", ")) at conv ↔ "))
    }
}
