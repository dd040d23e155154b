import Foundation
import Parity

// Loads a Keras model and a PyTorch port of it from examples/conv_bn_dense (a port whose BatchNorm keeps
// PyTorch's epsilon, unless another port is named), runs both on the example's input and compares them
// layer by layer. Exit status: 0 when they match, 1 when they differ.
let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let arguments = CommandLine.arguments.dropFirst()
let example = examples.appendingPathComponent(arguments.first ?? "conv_bn_dense")
let port = arguments.dropFirst().first ?? "batchnorm-epsilon"
let kerasPath = example.appendingPathComponent("keras.keras").path
let torchPath = example.appendingPathComponent("\(port)/torch.pt2").path

do {
    let input = try NumpyArray.read(contentsOf: example.appendingPathComponent("input.npy")).toTensor()

    // Open and run each model on its own (ModelFile opens .keras, .h5 and .pt2).
    guard case .keras(let keras) = try ModelFile.open(kerasPath), case .torch(let torch) = try ModelFile.open(torchPath) else {
        fatalError("expected a Keras model and a PyTorch program")
    }
    let y = try keras.run([input], mode: .eager)[0]
    let nchw = try input.permuted([0, 3, 1, 2])  // the port takes NCHW
    let yTorch = try torch.run([nchw], mode: .eager)[0]
    print("Keras output \(y.shape), PyTorch output \(yTorch.shape)")

    // Compare them layer by layer: the first layer that introduces a difference, and its cause.
    let comparison = try Comparison.run(ComparedModel(keras: keras, label: "keras.keras"),
                                        ComparedModel(torch: torch, label: "\(port)/torch.pt2"), input: input)
    print("verdict: \(comparison.verdict)")
    if let layer = comparison.firstDivergence { print("first divergence: \(layer)") }
    for finding in comparison.findings { print("cause: \(finding.cause.rawValue) at \(finding.layer) (\(finding.cause.summary))") }
    exit(comparison.verdict == .match ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
