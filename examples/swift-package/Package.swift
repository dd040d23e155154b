// swift-tools-version:6.0
// An outside Swift package using Parity as a library: it depends on the repository by path and
// uses the umbrella product `Parity` (each module is also a product: ParityKeras, ParityTorch,
// ParityCompare, ...). Build and run from this directory: `swift run CompareModels`.
import PackageDescription

let package = Package(
    name: "ParityExample",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Parity", path: "../..")],
    targets: [
        .executableTarget(name: "CompareModels", dependencies: [.product(name: "Parity", package: "Parity")]),
    ]
)
