import Foundation
import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

@Suite("Element types and ArrayRecord")
struct ElementTypeTests {
    /// PyTorch's own float32 → float16 / bfloat16 rounding, specials and ties included.
    @Test func narrowingMatchesTorch() throws {
        let json = try Fixtures.json("formats/conversions.json")
        let inputs = try #require(json["float32"]?.array?.compactMap { $0.string.flatMap { UInt32($0, radix: 16) } })
        let halves = try #require(json["float16"]?.array?.compactMap { $0.string.flatMap { UInt16($0, radix: 16) } })
        let brains = try #require(json["bfloat16"]?.array?.compactMap { $0.string.flatMap { UInt16($0, radix: 16) } })
        #expect(inputs.count > 300 && inputs.count == halves.count && inputs.count == brains.count)
        for (i, bits) in inputs.enumerated() {
            let value = Float(bitPattern: bits)
            #expect(HalfPrecision.float16Bits(from: value) == halves[i], "float16 of \(value) (0x\(String(bits, radix: 16)))")
            #expect(HalfPrecision.bfloat16Bits(from: value) == brains[i], "bfloat16 of \(value) (0x\(String(bits, radix: 16)))")
        }
    }

    @Test func bfloat16WideningIsTheUpperHalf() {
        for bits in stride(from: 0, through: 0xffff, by: 1) {
            let value = HalfPrecision.float(fromBFloat16: UInt16(bits))
            #expect(value.bitPattern == UInt32(bits) << 16)
            if !value.isNaN { #expect(HalfPrecision.bfloat16Bits(from: value) == UInt16(bits)) }
        }
    }

    /// Every binary16 value widens exactly and narrows back to itself.
    @Test func float16RoundTripsEveryValue() {
        for bits in 0...0xffff {
            let half = UInt16(bits)
            let value = HalfPrecision.float(fromFloat16: half)
            if value.isNaN {
                #expect(half & 0x7c00 == 0x7c00 && half & 0x3ff != 0)
                #expect(value.bitPattern & 0x1fff == 0, "payload kept in the top mantissa bits")
            } else {
                #expect(HalfPrecision.float16Bits(from: value) == half, "0x\(String(half, radix: 16))")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// Against the compiler's own Float16 where it exists.
    @Test func float16AgreesWithSwiftFloat16() {
        for bits in 0...0xffff {
            let native = Float(Float16(bitPattern: UInt16(bits)))
            let ours = HalfPrecision.float(fromFloat16: UInt16(bits))
            #expect(native.bitPattern == ours.bitPattern || (native.isNaN && ours.isNaN))
        }
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            guard !value.isNaN else { continue }
            #expect(Float16(value).bitPattern == HalfPrecision.float16Bits(from: value), "\(value)")
        }
    }
    #endif

    @Test func recordChecksItsByteCount() throws {
        #expect(throws: FormatError.self) { try ArrayRecord(elementType: .float32, shape: [2, 3], bytes: Data(count: 20)) }
        #expect(throws: FormatError.self) { try ArrayRecord(elementType: .int8, shape: [-1], bytes: Data()) }
        #expect(throws: FormatError.self) { try ArrayRecord(elementType: .int8, shape: [1 << 40, 1 << 40], bytes: Data()) }
        let scalar = try ArrayRecord(elementType: .int16, shape: [], bytes: Data([0xfe, 0xff]))
        #expect(try scalar.toTensor() == Tensor(shape: [], int64: [-2]))
        #expect(try ArrayRecord(elementType: .float64, shape: [0, 3], bytes: Data()).toTensor().shape == [0, 3])
    }

    @Test func tensorsConvertExactlyOrThrow() throws {
        let floats = Tensor(shape: [3], values: [Float(1.5), -2, 65520])
        #expect(ArrayRecord(floats).elementType == .float32)
        #expect(try ArrayRecord(floats).toTensor() == floats)
        let half = try ArrayRecord(floats, as: .float16)
        #expect(half.bytes == Data([0x00, 0x3e, 0x00, 0xc0, 0x00, 0x7c]))  // 65520 rounds to infinity
        let brain = try ArrayRecord(floats, as: .bfloat16)
        #expect(try brain.toTensor() == Tensor(shape: [3], values: [Float(1.5), -2, 65536]))
        let ints = Tensor(shape: [2], int64: [255, 0])
        #expect(try ArrayRecord(ints, as: .uint8).bytes == Data([255, 0]))
        #expect(try ArrayRecord(Tensor(shape: [1], values: [2.0]), as: .int32).bytes == Data([2, 0, 0, 0]))
        for (tensor, type) in [(Tensor(shape: [1], int64: [256]), ElementType.uint8), (Tensor(shape: [1], int64: [-1]), .uint16),
                               (Tensor(shape: [1], values: [0.5]), .int64), (Tensor(shape: [1], int64: [2]), .bool),
                               (Tensor(shape: [1], values: [Double.nan]), .int8)] {
            guard let error = FormatFixtures.formatError("\(tensor) as \(type)", { _ = try ArrayRecord(tensor, as: type) }) else { continue }
            #expect(FormatFixtures.caseName(error) == "unrepresentable")
        }
        let doubles = Tensor(shape: [2], values: [0.1, 1e300])
        #expect(try ArrayRecord(doubles, as: .float64).toTensor() == doubles)
        #expect(try ArrayRecord(doubles, as: .float32).toTensor().values(Float.self) == [Float(0.1), .infinity])
    }

    @Test func widenedDTypes() {
        #expect(ElementType.allCases.map(\.widenedDType) == [
            .int64, .int64, .int64, .int64, .int64, .int64, .int64, .int64, .int64, .float32, .float32, .float32, .float64,
            .complex64, .complex128,
        ])
        #expect(ElementType.allCases.map(\.byteCount) == [1, 1, 1, 2, 2, 4, 4, 8, 8, 2, 2, 4, 8, 8, 16])
    }
}
