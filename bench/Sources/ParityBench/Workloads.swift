import Foundation
import ParityFormats
import ParityKeras
import ParityNN
import ParityTorch

/// One benchmark, Float32, inference. Ids are shared with `bench/frameworks_bench.py` (keep the shapes
/// in step with `SUMMARIES`, `torch_modules()` and `keras_models()` there).
struct Workload {
    let id: String
    let summary: String
    /// Floating-point operations per call (matmuls only), for GFLOP/s; 0 when not counted.
    let flops: Double
    /// One call: models traced and optimised once outside it (`GraphOptimizer.standard`, as `parity run`
    /// does by default), only `GraphExecutor.run` inside; loading reads the whole state_dict.
    let body: () throws -> Tensor
}

enum Workloads {
    static let ids = ["matmul", "mlp", "lstm", "mobilenet", "resnet18", "encoder", "load_safetensors", "load_pt", "load_pt2", "compare_reference"]

    /// The performance issue's "done when" bounds on the median paired wall-time ratio at the same thread
    /// count: matmul ≥ 0.9× the faster framework's throughput (time ratio ≤ 1/0.9), the forwards ≤ 1.0×,
    /// loading ≤ 0.5× (`torch.load(mmap=True)`, `load_file`; a `.pt2` against `torch.export.load`, the same bound
    /// though the issue names state_dicts only), `parity compare` ≤ 3× running both models once
    /// in Float32 and Float64 (`compare_reference`).
    static let targets: [String: Double] = [
        "matmul": 1 / 0.9, "mlp": 1, "lstm": 1, "mobilenet": 1, "resnet18": 1, "encoder": 1,
        "load_safetensors": 0.5, "load_pt": 0.5, "load_pt2": 0.5, "cli_compare": 3,
    ]

    struct MissingFile: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run `bench/frameworks_bench.py export keras` then `export torch` (bench/run.sh does)" }
    }

    /// Builds the workloads in `selected`; model files come from `directory` (`.zoo/bench`).
    static func make(_ selected: Set<String>, directory: String) throws -> [Workload] {
        var rng = SeededGenerator(seed: 1)
        func glorot(_ fanIn: Int, _ fanOut: Int) -> Tensor {
            let limit = Float((6 / Double(fanIn + fanOut)).squareRoot())
            return Tensor.uniform([fanIn, fanOut], in: -limit...limit, generator: &rng)
        }
        func dense(_ inputs: Int, _ units: Int, _ activation: UnaryFunction? = nil) -> Dense {
            Dense(kernel: glorot(inputs, units), bias: Tensor.uniform([units], in: -0.1...0.1, generator: &rng),
                  activation: activation.map(Activation.unary))
        }
        func file(_ name: String) throws -> URL {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else { throw MissingFile(path: path) }
            return URL(fileURLWithPath: path)
        }
        func input(_ name: String) throws -> Tensor { try NumpyArray.read(contentsOf: file(name)).toTensor().cast(to: .float32) }
        func traced(_ input: Tensor, _ outputs: (GraphBuilder, [Symbol]) throws -> [Symbol]) throws -> () throws -> Tensor {
            let graph = try GraphOptimizer.standard.optimize(Graph.trace(inputs: [TensorType(of: input)], outputs))
            let executor = GraphExecutor()
            return { try executor.run(graph, inputs: [input])[0] }
        }
        func keras(_ name: String, _ inputName: String) throws -> () throws -> Tensor {
            var network = try KerasModel.load(file(name)).network
            network.computeDType = .float32
            return try traced(input(inputName)) { b, xs in try network.outputs(xs, in: b) }
        }
        func torch(_ name: String, _ inputName: String) throws -> () throws -> Tensor {
            let program = try TorchProgram.load(file(name))
            return try traced(input(inputName)) { b, xs in try program.outputs(xs, in: b, floatType: .float32) }
        }

        var workloads: [Workload] = []
        if selected.contains("matmul") {
            let n = 1024
            let a = Tensor.uniform([n, n], generator: &rng), b = Tensor.uniform([n, n], generator: &rng)
            workloads.append(Workload(id: "matmul", summary: "matmul 1024x1024 @ 1024x1024", flops: 2 * Double(n * n * n),
                                      body: { try a.matmul(b) }))
        }
        if selected.contains("mlp") {
            let model = Sequential([dense(1024, 1024, .relu), dense(1024, 1024, .relu), dense(1024, 10)])
            let x = Tensor.uniform([64, 1024], generator: &rng)
            workloads.append(Workload(id: "mlp", summary: "MLP 1024-1024-1024-10 (relu), batch 64",
                                      flops: 2 * 64 * Double(1024 * 1024 * 2 + 1024 * 10),
                                      body: try traced(x) { b, xs in [try model(xs, in: b)] }))
        }
        if selected.contains("lstm") {
            let (features, units, steps, batch) = (32, 256, 100, 8)
            let model = LSTM(kernel: glorot(features, 4 * units), recurrentKernel: glorot(units, 4 * units),
                             bias: Tensor.uniform([4 * units], in: -0.1...0.1, generator: &rng))
            let x = Tensor.uniform([batch, steps, features], generator: &rng)
            workloads.append(Workload(id: "lstm", summary: "LSTM(256), 32 features, 100 steps, batch 8, last h",
                                      flops: Double(steps) * 2 * Double(batch) * Double((features + units) * 4 * units),
                                      body: try traced(x) { b, xs in [try model(xs, in: b)] }))
        }
        if selected.contains("mobilenet") {
            workloads.append(Workload(id: "mobilenet", summary: "MobileNetV2 alpha 0.35, 96x96, batch 8 (Parity: the .keras file)", flops: 0,
                                      body: try keras("mobilenet_v2.keras", "mobilenet_v2_input.npy")))
        }
        if selected.contains("resnet18") {
            workloads.append(Workload(id: "resnet18", summary: "ResNet-18, 64x64, batch 8 (Parity: torchvision's, torch.export .pt2)", flops: 0,
                                      body: try torch("resnet18.pt2", "resnet18_input.npy")))
        }
        if selected.contains("encoder") {
            workloads.append(Workload(id: "encoder", summary: "transformer encoder layer d256, 4 heads, ffn 1024, seq 128, batch 8 (Parity: nn.TransformerEncoderLayer's .pt2)",
                                      flops: 0, body: try torch("encoder.pt2", "encoder_input.npy")))
        }
        if selected.contains("load_safetensors") {
            let url = try file("state_dict.safetensors")
            workloads.append(Workload(id: "load_safetensors", summary: "load a 1 GiB state_dict .safetensors (warm page cache)", flops: 0,
                                      body: { Tensor(scalar: Float(try SafeTensors.read(contentsOf: url).tensors.map { try $0.record.toTensor() }.count)) }))
        }
        if selected.contains("load_pt") {
            let url = try file("state_dict.pt")
            workloads.append(Workload(id: "load_pt", summary: "load a 1 GiB state_dict .pt (warm page cache)", flops: 0,
                                      body: { Tensor(scalar: Float(try TorchStateDict.read(contentsOf: url).map { try $0.record.toTensor() }.count)) }))
        }
        if selected.contains("load_pt2") {
            let url = try file("state_dict.pt2")
            workloads.append(Workload(id: "load_pt2", summary: "load a torch.export .pt2 with 1 GiB of weights (warm page cache)", flops: 0,
                                      body: { Tensor(scalar: Float(try TorchProgram.load(url).weights.count)) }))
        }
        if selected.contains("compare_reference") {
            // What `parity compare` costs at least: both models loaded and run once in Float32 and Float64.
            let (keras, port, x) = (try file("compare.keras"), try file("compare_port.pt2"), try input("compare_input.npy"))
            let nchw = try x.permuted(DataFormat.channelsFirst.permutation(rank: 4))
            workloads.append(Workload(id: "compare_reference", summary: "compare.keras and its PyTorch port (9.0 M parameters), each loaded and run once in Float32 and Float64",
                                      flops: 0, body: {
                let a = try KerasModel.load(keras), b = try TorchProgram.load(port)
                var sum: Float = 0
                for dtype in [DType.float32, .float64] {
                    sum += try a.run([x.cast(to: dtype)], mode: .graph(.standard))[0].doubles.map(Float.init).reduce(0, +)
                    sum += try b.run([nchw.cast(to: dtype)], mode: .graph(.standard))[0].doubles.map(Float.init).reduce(0, +)
                }
                return Tensor(scalar: sum)
            }))
        }
        return workloads
    }
}
