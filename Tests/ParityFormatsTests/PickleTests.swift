import Foundation
@testable import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

@Suite("Restricted pickle")
struct PickleTests {
    /// The `data.pkl` of a torch.save archive.
    static func pickle(_ file: String) throws -> Data {
        let zip = try ZipContainer(data: FormatFixtures.data("torch/\(file)"), file: file)
        let member = try #require(zip.members.first { $0.name.hasSuffix("/data.pkl") })
        return try zip.contents(of: member)
    }

    @Test func decodesACheckpointsPlainData() throws {
        let root = try RestrictedPickle.load(Self.pickle("checkpoint.pt"), source: "checkpoint.pt")
        #expect(root["epoch"] == .int(3))
        #expect(root["lr"] == .float(0.01))
        #expect(root["name"] == .string("run-1"))
        #expect(root["betas"] == .tuple([.float(0.9), .float(0.999)]))
        #expect(root["flags"] == .list([.bool(true), .none, .bool(false)]))
        #expect(root["blob"] == .bytes(Data([0, 1, 0xff])))  // protocol 2: _codecs.encode('\x00\x01ÿ', 'latin1')
        #expect(root["big"] == .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40]))  // 2**70, LONG1
        #expect(root["neg"] == .int(-5) && root["mid"] == .int(70000))
        guard case .dict(let model)? = root["model"] else { Issue.record("model is not a dict"); return }
        #expect(model.isOrdered && model.entries.count == 2)
        guard case .tensor(let w)? = root["model"]?["w"] else { Issue.record("w is not a tensor"); return }
        #expect(w.elementType == .float32 && w.shape == [2] && w.strides == [1] && w.storage.key == "0" && w.storage.numel == 2)
    }

    @Test func keepsAStateDictsMetadata() throws {
        let root = try RestrictedPickle.load(Self.pickle("state_dict.pt"))
        #expect(try RestrictedPickle.load(RestrictedPickle.dump(root)) == root, "BUILD state survives dump → load")
        guard case .dict(let sd) = root else { Issue.record("not a dict"); return }
        #expect(sd.isOrdered && sd.entries.count == 9)
        #expect(sd.attributes.map(\.key) == ["_metadata"])
        guard case .dict(let metadata)? = sd.attributes.first?.value else { Issue.record("no _metadata"); return }
        #expect(metadata.entries.first?.key == .string("") && metadata.entries.count == 5)
        #expect(metadata.entries.last?.value["version"] == .int(1))
    }

    @Test func readsProtocol4Framing() throws {
        // FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL, which torch's own weights_only loader refuses.
        guard case .dict(let sd) = try RestrictedPickle.load(Self.pickle("proto4.pt")) else { Issue.record("not a dict"); return }
        #expect(sd.entries.map(\.key) == [.string("w"), .string("b")])
        let expected = try FormatFixtures.expected("torch")
        #expect(expected["files"]?["proto4.pt"]?["weights_only_load"]?.string?.contains("Unsupported operand 149") == true)
    }

    @Test func parametersAndTensorsFromV3() throws {
        let params = try RestrictedPickle.load(Self.pickle("params.pt"))
        guard case .tensor(let w)? = params["w"], case .tensor(let frozen)? = params["frozen"] else { Issue.record("no params"); return }
        #expect(w.isParameter && w.requiresGrad && frozen.isParameter && !frozen.requiresGrad)
        let dtypes = try RestrictedPickle.load(Self.pickle("dtypes.pt"))
        guard case .tensor(let u16)? = dtypes["u16"] else { Issue.record("no u16"); return }
        #expect(u16.elementType == .uint16 && u16.storage.elementType == nil && u16.storage.numel == 6)
    }

    /// What the allowlist holds, and that everything else is refused by name before any call.
    @Test func allowlistIsMinimal() throws {
        let allowed = Set(RestrictedPickle.allowedGlobals)
        #expect(allowed.contains("collections.OrderedDict") && allowed.contains("torch._utils._rebuild_tensor_v2"))
        #expect(allowed.contains("torch.FloatStorage") && allowed.contains("torch.uint16") && allowed.contains("_codecs.encode"))
        #expect(allowed.count == 9 + 10 + 13)
        #expect(!allowed.contains { $0.hasPrefix("os.") || $0.hasPrefix("posix.") || $0.hasPrefix("sys.") || $0.hasPrefix("subprocess.") })
        for global in ["posix\nsystem", "os\nsystem", "nt\nsystem", "builtins\neval", "__builtin__\nexec", "subprocess\nPopen",
                       "torch\nload", "torch._tensor\n_rebuild_from_type_v2", "collections\ndefaultdict", "builtins\ngetattr"] {
            let data = Data([0x80, 0x02, 0x63] + Array(global.utf8) + [0x0a, 0x29, 0x52, 0x2e])
            let error = FormatFixtures.formatError(global) { _ = try RestrictedPickle.load(data) }
            guard case .forbiddenGlobal(_, let name, let offset)? = error else { Issue.record("\(global): \(String(describing: error))"); continue }
            #expect(name == global.replacingOccurrences(of: "\n", with: ".").replacingOccurrences(of: "__builtin__", with: "builtins"))
            #expect(offset == 2)
        }
    }

    @Test func refusesCallsAndConstructsOutsideTheSubset() throws {
        let cases: [(String, [UInt8])] = [
            ("storage class called", Array("\u{80}\u{02}ctorch\nFloatStorage\n)R.".utf8)),
            ("set item on a list", [0x80, 0x02, 0x5d, 0x4b, 0x01, 0x4b, 0x02, 0x73, 0x2e]),
            ("append to a dict", [0x80, 0x02, 0x7d, 0x4b, 0x01, 0x61, 0x2e]),
            ("list as dict key", [0x80, 0x02, 0x7d, 0x5d, 0x4b, 0x01, 0x73, 0x2e]),
            ("BUILD on a dict", [0x80, 0x02, 0x7d, 0x7d, 0x62, 0x2e]),
            ("odd SETITEMS", [0x80, 0x02, 0x7d, 0x28, 0x4b, 0x01, 0x75, 0x2e]),
            ("TUPLE without MARK", [0x80, 0x02, 0x74, 0x2e]),
            ("protocol 6", [0x80, 0x06, 0x4e, 0x2e]),
            ("persistent id not a storage", [0x80, 0x02, 0x4b, 0x01, 0x51, 0x2e]),
            ("bad UTF-8", [0x80, 0x02, 0x8c, 0x01, 0xff, 0x2e]),
            ("STOP on empty stack", [0x80, 0x02, 0x2e]),
            ("text opcode INT", Array("\u{80}\u{02}I1\n.".utf8)),
        ]
        for (name, bytes) in cases {
            let error = FormatFixtures.formatError(name) { _ = try RestrictedPickle.load(Data(bytes)) }
            #expect(error.map(FormatFixtures.caseName) == "malformedPickle", "\(name): \(String(describing: error))")
        }
    }

    @Test func limitsAreEnforced() throws {
        // 999 nested lists pass the default depth of 1000; 1001 do not.
        func nested(_ depth: Int) -> Data {
            Data([0x80, 0x02] + [UInt8](repeating: 0x5d, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2e])
        }
        var value = try RestrictedPickle.load(nested(999))
        var depth = 0
        while case .list(let items) = value { depth += 1; value = items.first ?? .none }
        #expect(depth == 999)
        #expect(throws: FormatError.self) { try RestrictedPickle.load(nested(1001)) }
        let memo = Data([0x80, 0x02, 0x4e, 0x71, 0x00, 0x71, 0x01, 0x71, 0x02, 0x2e])
        #expect(throws: FormatError.self) { try RestrictedPickle.load(memo, limits: PickleLimits(maxMemoEntries: 2)) }
        #expect(try RestrictedPickle.load(memo, limits: PickleLimits(maxMemoEntries: 3)) == .none)
        let shared = Data([0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x68, 0x00, 0x68, 0x00, 0x68, 0x00, 0x74, 0x2e])  // ([], [], [])
        #expect(throws: FormatError.self) { try RestrictedPickle.load(shared, limits: PickleLimits(maxValues: 3)) }
        #expect(try RestrictedPickle.load(shared, limits: PickleLimits(maxValues: 4)) == .tuple([.list([]), .list([]), .list([])]))
    }

    /// dump → load is the identity on every kind of value the reader produces.
    @Test func writerRoundTrips() throws {
        let storage = TorchStorageReference(key: "0", elementType: .float16, numel: 6)
        let value = PickleValue.dict(PickleDict(entries: [
            (.string("ints"), .list([.int(0), .int(255), .int(256), .int(65536), .int(-1), .int(Int64.max), .int(Int64.min), .int(1 << 31)])),
            (.string("floats"), .tuple([.float(0.1), .float(-.infinity), .float(5e-324)])),
            (.string("nested"), .dict(PickleDict(entries: [(.int(1), .tuple([.none, .bool(true), .string("é\n")]))], isOrdered: false))),
            (.string("bytes"), .bytes(Data([0, 0x80, 0xff]))), (.string("empty"), .bytes(Data())),
            (.string("set"), .set([.string("a"), .int(2)])), (.string("big"), .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 1])),
            (.string("t"), .tensor(TorchTensorReference(storage: storage, elementType: .float16, storageOffset: 1, shape: [2, 2],
                                                        strides: [1, 2], requiresGrad: true))),
            (.string("p"), .tensor(TorchTensorReference(storage: storage, elementType: .float16, shape: [3], isParameter: true))),
            (.string("u"), .tensor(TorchTensorReference(storage: TorchStorageReference(key: "1", elementType: nil, numel: 8),
                                                        elementType: .uint32, shape: [2]))),
            (.string("many"), .list((0..<2500).map { .int(Int64($0)) })),
        ], isOrdered: true, attributes: [("_metadata", .dict(PickleDict(entries: [], isOrdered: true)))]))
        let bytes = try RestrictedPickle.dump(value)
        #expect(try RestrictedPickle.load(bytes) == value)
        #expect(bytes.count > 2500 * 2 && bytes.count < 2500 * 4, "memo reuse keeps repeated globals and strings short")
    }
}
