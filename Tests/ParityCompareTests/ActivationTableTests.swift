@testable import ParityCompare
import ParityKeras
import ParityTorch
import Testing

/// ``ActivationTable`` (ParityNN/Conventions): one row per Keras activation, read by the Keras loader,
/// the PyTorch → Keras converter and compare's diagnosis.
@Suite struct ActivationTableTests {
    /// The ATen node a row names, with the row's arguments.
    static func node(_ entry: ActivationEntry) throws -> TorchNode {
        let target = try #require(entry.aten)
        let arguments = entry.atenArguments.map { (name: $0.name, value: $0.name == "dim" ? TorchArgument.int(Int($0.value)) : .float($0.value)) }
        return TorchNode(target: target, name: "act", arguments: [(name: "self", value: .tensor("x"))] + arguments, outputs: ["y"], moduleStack: [])
    }

    @Test("every row's ATen operator, run by ParityTorch with the row's arguments, is Keras's function, or the row says how it differs")
    func atenAgreesWithKeras() throws {
        var checked = 0
        // aten.exp is ParityTorch's math operator, not an activation node.
        for entry in ActivationTable.entries where entry.aten != nil && entry.keras != "exponential" {
            guard case .unary(let keras) = entry.exact else { continue }
            let torch = try #require(try Self.node(entry).activationFunction(), "\(entry.keras)")
            if entry.difference == nil {
                #expect(torch == keras, "\(entry.keras): ATen \(torch), Keras \(keras)")
            } else {
                #expect(torch != keras, "\(entry.keras) says PyTorch differs, yet both are \(torch)")
            }
            checked += 1
        }
        #expect(checked == 18)
    }

    @Test("the loader knows every name in the table and refuses others naming the layer")
    func loader() throws {
        for name in ActivationTable.kerasNames {
            let activation = try KerasLayerConfig.activation(named: name, layer: "l", constants: .exact)
            #expect((activation == nil) == (name == "linear"), "\(name)")
        }
        #expect(try KerasLayerConfig.activation(named: "leaky_relu", layer: "l") == .unary(.leakyRelu(slope: Double(Float(0.2)))),
                "TensorFlow passes the slope as a Float32 attribute")
        #expect(throws: KerasError.unsupportedSetting(layer: "l", key: "activation", value: "nope")) {
            try KerasLayerConfig.activation(named: "nope", layer: "l")
        }
    }

    @Test("diagnosis spells a fix for every activation with a PyTorch module, in both frameworks")
    func diagnosisCoversEveryActivation() throws {
        for entry in ActivationTable.entries {
            guard case .unary(let f) = entry.exact else { continue }
            #expect(Diagnosis.kerasActivationFix(f).hasPrefix("keras."), "\(entry.keras)")
            if entry.module != nil { #expect(Diagnosis.torchActivation(f).hasPrefix("nn."), "\(entry.keras)") }
        }
        #expect(Diagnosis.torchActivation(.leakyRelu(slope: 0.3)) == "nn.LeakyReLU(negative_slope=0.3)")
        #expect(Diagnosis.kerasActivationFix(.leakyRelu(slope: 0.01)) == "keras.layers.LeakyReLU(negative_slope=0.01)")
    }

    @Test("an ATen target converts to the Keras name whose row names it")
    func atenToKeras() {
        #expect(ActivationTable.kerasName(forATen: "aten.hardswish.default") == "hard_silu")
        #expect(ActivationTable.kerasName(forATen: "aten.gelu.default") == "gelu")
        #expect(ActivationTable.kerasName(forATen: "aten.add.Tensor") == nil)
        for entry in ActivationTable.entries {
            guard let aten = entry.aten, let name = ActivationTable.kerasName(forATen: aten) else { continue }
            #expect(ActivationTable.keras(name)?.aten == aten)
        }
    }
}
