// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Parity",
    platforms: [.macOS(.v14)],
    products: [
        // MARK: Public API
        .library(name: "Parity", targets: ["ParityTensor", "ParityEngine", "ParityNN"]),
        .executable(name: "parity", targets: ["ParityCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // MARK: Targets, in dependency order (each depends only on those above it)

        /// Tensors, dtypes and the numeric kernels (matmul, elementwise, reductions), with explicit
        /// accumulation order and FMA contraction.
        .target(
            name: "ParityTensor",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")]
        ),
        /// Ops defined once (forward + vector-Jacobian product), run eagerly with a tape or as an
        /// optimised static graph with `cond`.
        .target(name: "ParityEngine", dependencies: ["ParityTensor"]),
        /// Layers written once against the engine's builder protocol, and the seed examples.
        .target(name: "ParityNN", dependencies: ["ParityEngine"]),
        /// The `parity` command-line tool.
        .executableTarget(
            name: "ParityCLI",
            dependencies: ["ParityNN", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        /// In-process benchmarks (release build); never part of `swift test`.
        .executableTarget(name: "ParityBench", dependencies: ["ParityNN"], path: "bench/Sources/ParityBench"),

        // MARK: Tests
        /// Fixture loading and tolerance checks shared by the test targets.
        .target(name: "ParityTestSupport", dependencies: ["ParityTensor"], path: "Tests/ParityTestSupport"),
        .testTarget(name: "ParityTensorTests", dependencies: ["ParityTensor", "ParityTestSupport"]),
        .testTarget(name: "ParityEngineTests", dependencies: ["ParityEngine", "ParityTestSupport"]),
        .testTarget(name: "ParityNNTests", dependencies: ["ParityNN", "ParityTestSupport"]),
        .testTarget(name: "ParityCLITests", dependencies: ["ParityCLI", "ParityTestSupport"]),
    ]
)
