import Foundation
import ParityHDF5
import ParityTestSupport
import Testing

@Suite("Attributes: every string flavour, numbers, arrays, errors")
struct AttributeTests {
    /// Every attribute `expected.json` lists reads back as h5py wrote it.
    @Test func matchFixtureRecords() throws {
        let records = try #require(HDF5Fixture.expected?["attributes"]?.array)
        #expect(records.count > 20)
        var files: [String: HDF5File] = [:]
        for record in records {
            let fileName = try #require(record["file"]?.string)
            let objectPath = try #require(record["object"]?.string)
            let name = try #require(record["name"]?.string)
            let kind = try #require(record["kind"]?.string)
            let file = try files[fileName] ?? HDF5Fixture.open(fileName)
            files[fileName] = file
            let value = try file.object(at: objectPath).node.attribute(name)
            let expected: HDF5Value
            switch kind {
            case "string": expected = .string(try #require(record["value"]?.string))
            case "strings": expected = .strings(try #require(record["value"]?.array).compactMap(\.string))
            case "integer": expected = .integer(Int64(try #require(record["value"]?.double)))
            case "integers": expected = .integers(try #require(record["value"]?.doubles).map { Int64($0) })
            case "float": expected = .float(try #require(record["value"]?.double))
            case "floats": expected = .floats(try #require(record["value"]?.doubles))
            default: Issue.record("unknown kind \(kind)"); continue
            }
            #expect(value == expected, "\(fileName) \(objectPath) @\(name)")
            let type = try file.object(at: objectPath).node.attributeType(name)
            #expect(type.description == record["type"]?.string, "\(fileName) \(objectPath) @\(name)")
        }
    }

    @Test func stringFlavours() throws {
        let attrs = try HDF5Fixture.open("types.h5").group(at: "attrs")
        #expect(try attrs.attribute("vlen_utf8") == .string("h\u{e9}llo \u{2713}"))
        #expect(try attrs.attribute("fixed_utf8") == .string("h\u{e9}llo \u{2713}"))
        #expect(try attrs.attribute("fixed_ascii").string == "fixed")
        #expect(try attrs.attribute("fixed_nullterm").string == "term")
        #expect(try attrs.attribute("fixed_spacepad").string == "space")
        #expect(try attrs.attribute("fixed_array") == .strings(["dense", "dropout", "dense_1"]))
        #expect(try attrs.attribute("vlen_array").strings == ["one", "tw\u{f6}", ""])
        #expect(try attrs.attribute("empty_string") == .string(""))
    }

    @Test func numbers() throws {
        let attrs = try HDF5Fixture.open("types.h5").group(at: "attrs")
        #expect(try attrs.attribute("int_scalar") == .integer(-7))
        #expect(try attrs.attributeType("int_scalar") == .integer(bits: 64, signed: true))
        #expect(try attrs.attribute("uint8_scalar").integer == 250)
        #expect(try attrs.attribute("int_matrix") == .integers([1, 2, 3, 4]))  // 2×2, row-major
        #expect(try attrs.attribute("float_scalar").double == 0.5)
        #expect(try attrs.attribute("float16_scalar") == .float(0.0999755859375))  // float16(0.1), exactly
        #expect(try attrs.attribute("float32_array").doubles == [0.25, -1.5])
        #expect(try attrs.attribute("bool_scalar") == .integer(1))
        #expect(try attrs.attribute("empty_float_array") == .floats([]))
    }

    @Test func namesAreInNameOrder() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        #expect(try file.attributeNames == ["backend", "keras_version", "model_config", "training_config"])
        #expect(try file.group(at: "model_weights").attributeNames == ["backend", "keras_version", "layer_names"])
        #expect(try file.dataset(at: "model_weights/dense/dense/kernel:0").attributeNames == [])
        #expect(try HDF5Fixture.open("types.h5").dataset(at: "dtypes/float32").attributes() == ["units": .string("m")])
    }

    @Test func creationOrderWhenTracked() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.group(at: "order/tracked").attributeNames == ["zz", "aa"])
        #expect(try file.group(at: "attrs").attributeNames.first == "bool_scalar")  // untracked: by name
    }

    @Test func hasAttribute() throws {
        let group = try HDF5Fixture.open("legacy_model.h5").group(at: "model_weights")
        #expect(try group.hasAttribute("layer_names"))
        #expect(try !group.hasAttribute("layer_names0"))
    }

    @Test func missingAttributeListsTheOthers() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        let error = expectHDF5Error("no attribute 'layer_names0'", "object '/model_weights'", "legacy_model.h5",
                                    "attributes: 'backend', 'keras_version', 'layer_names'") {
            _ = try file.group(at: "model_weights").attribute("layer_names0")
        }
        #expect(error == .attributeNotFound(name: "layer_names0", available: ["backend", "keras_version", "layer_names"],
                                            at: HDF5Location(file: file.url.path, object: "/model_weights")))
    }

    @Test func compoundAndEmptyAttributesAreRefused() throws {
        let attrs = try HDF5Fixture.open("types.h5").group(at: "attrs")
        let error = expectHDF5Error("cannot read compound type (2 fields", "attribute 'compound'", "object '/attrs'") {
            _ = try attrs.attribute("compound")
        }
        guard case .unsupportedType? = error else { Issue.record("got \(String(describing: error))"); return }
        expectHDF5Error("attribute 'compound'") { _ = try attrs.attributes() }
        expectHDF5Error("cannot read a null dataspace (no value, h5py.Empty)", "attribute 'null_dataspace'") {
            _ = try attrs.attribute("null_dataspace")
        }
    }
}
