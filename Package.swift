// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Parity",
    platforms: [.macOS(.v14)],
    products: [
        // MARK: Public API
        /// Everything below in one import (`import Parity`).
        .library(name: "Parity", targets: ["Parity"]),
        .library(name: "ParityTensor", targets: ["ParityTensor"]),
        .library(name: "ParityEngine", targets: ["ParityEngine"]),
        .library(name: "ParityNN", targets: ["ParityNN"]),
        .library(name: "ParityFormats", targets: ["ParityFormats"]),
        .library(name: "ParityKeras", targets: ["ParityKeras"]),
        .library(name: "ParityTorch", targets: ["ParityTorch"]),
        .library(name: "ParityConvert", targets: ["ParityConvert"]),
        .library(name: "ParityCompare", targets: ["ParityCompare"]),
        .library(name: "ParityTrain", targets: ["ParityTrain"]),
        .executable(name: "parity", targets: ["ParityCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // MARK: Targets, in dependency order (each depends only on those above it)

        /// The numeric micro-kernels in C (GEMM, convolution, thread pool): AVX-512, AVX2+FMA and
        /// portable code in one build, chosen at run time; the same bits from each.
        .target(name: "CParityKernels"),
        /// Tensors, dtypes and the numeric kernels (matmul, elementwise, reductions), with explicit
        /// accumulation order and FMA contraction.
        .target(
            name: "ParityTensor",
            dependencies: [
                "CParityKernels", .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "ComplexModule", package: "swift-numerics"),
            ]
        ),
        /// Ops defined once (forward + vector-Jacobian product), run eagerly with a tape or as an
        /// optimised static graph with `cond`.
        .target(name: "ParityEngine", dependencies: ["ParityTensor"]),
        /// Layers written once against the engine's builder protocol, and the seed examples.
        .target(name: "ParityNN", dependencies: ["ParityEngine"]),
        /// The system libhdf5 (Debian `libhdf5-dev`), for Keras `.h5` / `.weights.h5` files.
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        /// HDF5 files (groups, datasets, attributes) read and written over libhdf5; the only target
        /// that links it.
        .target(name: "ParityHDF5", dependencies: ["ParityTensor", "CHDF5"]),
        /// File formats without Python: npy/npz, safetensors, restricted pickle and PyTorch zip archives.
        .target(
            name: "ParityFormats",
            dependencies: ["ParityTensor", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        /// Keras models without Python: `.keras` archives, legacy `.h5` and `.weights.h5` files, read into
        /// Parity layers with the file's own conventions.
        .target(
            name: "ParityKeras",
            dependencies: ["ParityNN", "ParityHDF5", "ParityFormats", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        /// PyTorch models without Python: torch.export `.pt2` archives (ATen graphs) run with PyTorch
        /// semantics, weights from state_dicts and safetensors.
        .target(
            name: "ParityTorch",
            dependencies: ["ParityNN", "ParityFormats"]
        ),
        /// Model conversion between the frameworks, with each convention carried over explicitly: Keras →
        /// PyTorch as model.py + state_dict, proven by running the converted ATen program in Parity;
        /// PyTorch → Keras as a `.keras` archive, proven by reading it back with ParityKeras.
        .target(name: "ParityConvert", dependencies: ["ParityKeras", "ParityTorch", "ParityFormats"]),
        /// Training with each framework's conventions: losses and optimizers as values (Keras and PyTorch
        /// presets side by side), training-mode layers, a training step run eagerly with a tape or as a graph.
        .target(name: "ParityTrain", dependencies: ["ParityKeras", "ParityTorch"]),
        /// Comparison of two models layer by layer: alignment, metrics, the Float64 referee, diagnosis.
        .target(name: "ParityCompare", dependencies: ["ParityKeras", "ParityTorch", "ParityConvert", "ParityTrain"]),
        /// The umbrella module of the `Parity` product: re-exports every library module.
        .target(name: "Parity", dependencies: ["ParityTensor", "ParityEngine", "ParityNN", "ParityFormats", "ParityKeras", "ParityTorch", "ParityConvert", "ParityCompare", "ParityTrain"]),
        /// The `parity` command-line tool.
        .executableTarget(
            name: "ParityCLI",
            dependencies: ["ParityNN", "ParityKeras", "ParityTorch", "ParityCompare", "ParityConvert", "ParityFormats", "ParityTrain", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        /// In-process benchmarks (release build); never part of `swift test`.
        .executableTarget(name: "ParityBench", dependencies: ["ParityNN", "ParityFormats", "ParityKeras", "ParityTorch"], path: "bench/Sources/ParityBench"),

        // MARK: Tests
        /// Fixture loading and tolerance checks shared by the test targets.
        .target(name: "ParityTestSupport", dependencies: ["ParityTensor", "ParityFormats"], path: "Tests/ParityTestSupport"),
        .testTarget(name: "ParityTensorTests", dependencies: ["ParityTensor", "ParityTestSupport"]),
        .testTarget(name: "ParityEngineTests", dependencies: ["ParityEngine", "ParityTestSupport"]),
        .testTarget(name: "ParityNNTests", dependencies: ["ParityNN", "ParityTestSupport"]),
        .testTarget(name: "ParityHDF5Tests", dependencies: ["ParityHDF5", "ParityTestSupport"]),
        .testTarget(name: "ParityFormatsTests", dependencies: ["ParityFormats", "ParityTestSupport"]),
        .testTarget(
            name: "ParityKerasTests",
            dependencies: ["ParityKeras", "ParityHDF5", "ParityTestSupport", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .testTarget(name: "ParityTorchTests", dependencies: ["ParityTorch", "ParityTestSupport"]),
        .testTarget(name: "ParityConvertTests", dependencies: ["ParityConvert", "ParityTestSupport"]),
        .testTarget(name: "ParityCompareTests", dependencies: ["ParityCompare", "ParityConvert", "ParityTrain", "ParityTestSupport"]),
        .testTarget(name: "ParityTrainTests", dependencies: ["ParityTrain", "ParityTestSupport"]),
        .testTarget(name: "ParityCLITests", dependencies: ["ParityCLI", "ParityFormats", "ParityTestSupport"]),
    ]
)
