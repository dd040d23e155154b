// The umbrella module: `import Parity` gives a Swift program every library module, from tensors to
// model files, comparison, conversion and training. Each module is also a product of its own.
@_exported import ParityTensor
@_exported import ParityEngine
@_exported import ParityNN
@_exported import ParityFormats
@_exported import ParityKeras
@_exported import ParityTorch
@_exported import ParityConvert
@_exported import ParityCompare
@_exported import ParityTrain
