// The torch.export `.pt2` archive as torch 2.15 writes it (`torch.export.save`,
// `torch/export/pt2_archive/_package.py`), checked on files from scripts/make_torch_fixtures.py:
//
//   <stem>/archive_format                              "pt2"
//   <stem>/archive_version, <stem>/.data/version       "0", "6"
//   <stem>/byteorder                                   "little"
//   <stem>/.data/serialization_id
//   <stem>/models/model.json                           the serialized ExportedProgram (below)
//   <stem>/data/weights/model_weights_config.json      {"config": {fqn: PayloadMeta}}
//   <stem>/data/weights/weight_<n>                     raw little-endian storage bytes (or a torch.save
//                                                       pickle when PayloadMeta.use_pickle, only for
//                                                       tensor subclasses)
//   <stem>/data/constants/model_constants_config.json  {"config": {fqn: PayloadMeta}} (lifted tensor
//                                                       constants, non-persistent buffers)
//   <stem>/data/constants/tensor_<n>                   raw bytes, as for weights
//   <stem>/data/sample_inputs/model.pt                 torch.save of the example inputs (not read)
// All members stored (no compression). PayloadMeta = {path_name, is_param, use_pickle, tensor_meta:
// {dtype: ScalarType code, sizes: [{as_int}], strides: [{as_int}], storage_offset: {as_int},
// requires_grad, device, layout}}. Several fqns may share one storage file (tied or viewed weights,
// deduplicated by `group_weights`), so each is read through its own sizes, strides and offset.
//
// models/model.json = {"graph_module": {"graph": {"inputs", "outputs", "nodes", "tensor_values",
// "sym_*_values", "is_single_tensor_return", ...}, "signature": {"input_specs", "output_specs"},
// "module_call_graph", "metadata"}, "opset_version": {"aten": 10}, "schema_version": {"major": 8,
// "minor": 20}, "verifiers": ["TRAINING"], "torch_version": "2.15.0+cu132", "range_constraints"}.
// Nodes: {"target": "torch.ops.aten.conv2d.default", "name", "inputs": [{"name", "arg": Argument,
// "kind": 1 positional | 2 keyword}] (arguments left at their default are omitted), "outputs":
// [Argument] (one `as_tensor` per output, or one `as_tensors` for list results such as split),
// "metadata": {"stack_trace", "nn_module_stack": "L__self__,,pkg.M;L__self__fc,fc,torch.nn...Linear",
// "torch_fn"}}. `getitem` nodes are folded into the producer's outputs. torch.export's default
// (training) IR keeps composite ops whole: aten.linear, aten.conv2d, aten.batch_norm, aten.lstm.input,
// aten.scaled_dot_product_attention, aten.pad, aten.upsample_*.vec; `torch.cond` becomes
// `torch.ops.higher_order.cond` with `as_graph` branch arguments whose graphs take the operands
// (weights included) as inputs. Non-finite floats are the strings "Infinity", "-Infinity", "NaN".
import Foundation
import ParityFormats
import ParityNN

/// The records of a `.pt2` file: the zip's directory over the mapped file (``ZipContainer``), each
/// record read when asked for. Weight and constant payloads are slices of the mapping, read in place by
/// the tensors made from them; like `torch.export.load` (PyTorch 2.15 loads a payload with a flipped
/// bit), their CRC-32 is not checked, which would cost a pass over every byte at load. The other records
/// (JSON, version strings) are checked.
struct PT2Archive {
    let file: String
    let prefix: String
    private let container: ZipContainer

    init(url: URL) throws {
        file = url.path
        do {
            container = try ZipContainer(contentsOf: url)
        } catch FormatError.io(_, let reason) {
            throw TorchError.unreadableArchive(file: file, reason: reason)
        } catch {
            throw TorchError.unreadableArchive(file: file, reason: "not a zip archive (\(error))")
        }
        guard let formatPath = container.members.map(\.name).filter({ $0.hasSuffix("/archive_format") || $0 == "archive_format" }).min(by: { $0.count < $1.count }) else {
            throw TorchError.missingRecord(file: file, record: "<stem>/archive_format")
        }
        prefix = String(formatPath.dropLast("archive_format".count))
        let format = String(decoding: try require("archive_format"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard format == "pt2" else {
            throw TorchError.unreadableArchive(file: file, reason: "archive_format is '\(format)', not 'pt2'")
        }
        if let order = try record("byteorder").map({ String(decoding: $0, as: UTF8.self) }), order != "little" {
            throw TorchError.unreadableArchive(file: file, reason: "byteorder '\(order)' (only little-endian archives are supported)")
        }
    }

    /// The record `name` (under the archive's stem), or `nil` when there is none.
    func record(_ name: String) throws -> Data? {
        guard let member = container.member(named: prefix + name), !member.isDirectory else { return nil }
        let payload = name.hasPrefix("data/weights/") || name.hasPrefix("data/constants/")
        do {
            return try container.contents(of: member, verifyChecksum: !payload || name.hasSuffix(".json"))
        } catch {
            throw TorchError.unreadableArchive(file: file, reason: "record '\(member.name)' cannot be read (\(error))")
        }
    }

    func require(_ name: String) throws -> Data {
        guard let data = try record(name) else { throw TorchError.missingRecord(file: file, record: prefix + name) }
        return data
    }

    /// The names of the models stored (`models/<name>.json`).
    var modelNames: [String] {
        container.members.map(\.name).compactMap { key -> String? in
            guard key.hasPrefix(prefix + "models/"), key.hasSuffix(".json") else { return nil }
            return String(key.dropFirst((prefix + "models/").count).dropLast(".json".count))
        }.sorted()
    }

    /// Tensors described by a payload config (`data/weights/model_weights_config.json` or the
    /// constants one), keyed by fqn.
    func payload(config name: String, directory: String) throws -> [String: Tensor] {
        guard let data = try record(name) else { return [:] }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw TorchError.malformedProgram(file: file, path: prefix + name, reason: "invalid JSON (\(error))")
        }
        guard let config = json["config"]?.object else {
            throw TorchError.malformedProgram(file: file, path: prefix + name, reason: "missing 'config' object")
        }
        var out: [String: Tensor] = [:]
        for (fqn, meta) in config {
            guard let pathName = meta["path_name"]?.string else {
                throw TorchError.malformedProgram(file: file, path: "\(prefix + name).\(fqn)", reason: "missing path_name")
            }
            let bytes = try require(directory + pathName)
            if meta["use_pickle"]?.bool == true {
                out[fqn] = try pickled(bytes, key: fqn)
                continue
            }
            guard let tm = meta["tensor_meta"], let code = tm["dtype"]?.int,
                  let sizes = tm["sizes"]?.array?.compactMap({ $0["as_int"]?.int }),
                  let strides = tm["strides"]?.array?.compactMap({ $0["as_int"]?.int }), strides.count == sizes.count else {
                throw TorchError.malformedProgram(file: file, path: "\(prefix + name).\(fqn).tensor_meta", reason: "needs dtype, sizes and strides (static)")
            }
            let offset = tm["storage_offset"]?["as_int"]?.int ?? 0
            out[fqn] = try strided(bytes, scalarType: code, sizes: sizes, strides: strides, offset: offset, key: fqn)
        }
        return out
    }

    /// The parameters a payload config records with `requires_grad: false` (`p.requires_grad_(False)` before
    /// the export): `loss.backward()` gives them no gradient and the optimizer skips them.
    func frozenParameters(config name: String) -> Set<String> {
        guard let data = try? record(name), let json = try? JSONValue.parse(data), let config = json["config"]?.object else { return [] }
        return Set(config.compactMap { fqn, meta in
            meta["is_param"]?.bool == true && meta["tensor_meta"]?["requires_grad"]?.bool == false ? fqn : nil
        })
    }

    /// A `torch.save`d single tensor (PayloadMeta.use_pickle).
    private func pickled(_ bytes: Data, key: String) throws -> Tensor {
        do {
            var archive = try TorchArchive(bytes, source: "\(file):\(key)")
            guard case .tensor(let reference) = archive.root else {
                throw TorchError.invalidWeight(file: file, key: key, reason: "the pickled payload is a \(archive.root.kind), not a tensor")
            }
            return try archive.materialize(reference, key: key).toTensor()
        } catch let error as FormatError {
            throw TorchError.invalidWeight(file: file, key: key, reason: error.description)
        }
    }

    /// The most elements a stored broadcast view (a zero stride) may expand to.
    static let maxViewElements = 1 << 24

    /// Reads a view of a raw storage through its sizes, strides and storage offset.
    private func strided(_ bytes: Data, scalarType: Int, sizes: [Int], strides: [Int], offset: Int, key: String) throws -> Tensor {
        guard let elementType = ScalarTypes.elementType(scalarType) else {
            throw TorchError.invalidWeight(file: file, key: key, reason: "unsupported dtype \(ScalarTypes.name(scalarType))")
        }
        let size = elementType.byteCount
        guard bytes.count % size == 0 else {
            throw TorchError.invalidWeight(file: file, key: key, reason: "\(bytes.count) bytes is not a whole number of \(elementType) elements")
        }
        let storageCount = bytes.count / size
        guard sizes.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw TorchError.invalidWeight(file: file, key: key, reason: "negative size, stride or offset (sizes \(sizes), strides \(strides), offset \(offset))")
        }
        // Sizes come from the file: overflow-checked, and a view with no zero stride cannot have more
        // elements than its storage (a broadcast view, stride 0, is bounded by the creation limit).
        var count = 1
        for n in sizes {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            let limit = strides.contains(0) ? Swift.max(storageCount, Self.maxViewElements) : storageCount
            guard !overflow, product <= Swift.max(limit, 0) || product == 0 else {
                throw TorchError.invalidWeight(file: file, key: key, reason: "sizes \(sizes) describe more elements than a storage of \(storageCount) can hold")
            }
            count = product
        }
        if count == 0 { return Tensor.zeros(sizes, dtype: elementType.widenedDType) }
        var last = offset
        for (n, stride) in zip(sizes, strides) {
            let (reach, overflow) = (n - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(reach)
            guard !overflow, !overflow2 else {
                throw TorchError.invalidWeight(file: file, key: key, reason: "view (sizes \(sizes), strides \(strides), offset \(offset)) overflows")
            }
            last = sum
        }
        guard last < storageCount else {
            throw TorchError.invalidWeight(file: file, key: key,
                                           reason: "view (sizes \(sizes), strides \(strides), offset \(offset)) reaches element \(last) of a storage of \(storageCount)")
        }
        do {
            return try ArrayRecord.view(of: bytes, elementType: elementType, shape: sizes, strides: strides, offset: offset).toTensor()
        } catch {
            throw TorchError.invalidWeight(file: file, key: key, reason: "\(error)")
        }
    }
}

/// torch's `ScalarType` codes (`torch/_export/serde/schema.py`); public for the converter to Keras,
/// which reads the names and kinds from here.
public enum ScalarTypes {
    static func elementType(_ code: Int) -> ElementType? {
        switch code {
        case 1: return .uint8
        case 2: return .int8
        case 3: return .int16
        case 4: return .int32
        case 5: return .int64
        case 6: return .float16
        case 7: return .float32
        case 8: return .float64
        case 10: return .complex64
        case 11: return .complex128
        case 12: return .bool
        case 13: return .bfloat16
        case 28: return .uint16
        case 34: return .uint32
        case 35: return .uint64
        default: return nil
        }
    }

    /// float16, float32, float64, bfloat16.
    public static func isFloatingPoint(_ code: Int) -> Bool { [6, 7, 8, 13].contains(code) }

    /// complex32, complex64, complex128.
    public static func isComplex(_ code: Int) -> Bool { [9, 10, 11].contains(code) }

    /// The Parity dtype of a ScalarType: uint8, int8 and int16 are held in int64 (their arithmetic is
    /// not wrapped at 8 or 16 bits); complex32 and the 8-bit float types have none.
    static func dtype(_ code: Int) -> DType? {
        switch code {
        case 1, 2, 3, 5: return .int64
        case 4: return .int32
        case 6: return .float16
        case 7: return .float32
        case 8: return .float64
        case 12: return .bool
        case 13: return .bfloat16
        default: return nil
        }
    }

    /// The dtype's name (`float32`, `int64`, …), or `scalar type <code>` for a code torch does not define.
    public static func name(_ code: Int) -> String {
        let names = [0: "unknown", 1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16", 7: "float32", 8: "float64",
                     9: "complex32", 10: "complex64", 11: "complex128", 12: "bool", 13: "bfloat16", 28: "uint16", 29: "float8_e4m3fn",
                     30: "float8_e5m2", 31: "float8_e4m3fnuz", 32: "float8_e5m2fnuz", 33: "float8_e8m0fnu", 34: "uint32", 35: "uint64"]
        return names[code] ?? "scalar type \(code)"
    }
}
