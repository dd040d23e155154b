import ParityNN

/// `torch.cond` (`torch.ops.higher_order.cond`): arguments `(pred, true_graph, false_graph,
/// operands)`, each branch a graph over the operands (weights included). Mapped to
/// ``ParityEngine/Builder/cond(_:operands:then:else:)``: eagerly only the taken branch runs (Python's
/// `if`), in a graph both are traced into a `cond` node. A branch with several outputs becomes one
/// `cond` per output.
///
/// `torch.autocast` regions (`torch.ops.higher_order.wrap_with_autocast`: `(device_type, dtype, enabled,
/// cache_enabled, subgraph, operands…)`) that are *disabled* (`autocast(enabled=False)`, which models use
/// to keep a block in float32) run their subgraph as it is; an enabled region (mixed precision) is refused.
enum ControlFlowOps: ATenFamily {
    static let targets: Set<String> = ["higher_order.cond", "higher_order.wrap_with_autocast"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let args = c.node.arguments.map(\.value)
        if c.target == "higher_order.wrap_with_autocast" {
            guard args.count >= 5, case .bool(let enabled) = args[2], case .graph(_, let body) = args[4] else {
                throw c.fail("", "expected (device_type, dtype, enabled, cache_enabled, subgraph, operands…)")
            }
            guard !enabled else { throw c.unsupported("an enabled autocast region (mixed precision) is not mapped") }
            let operandNames = try args.dropFirst(5).map { arg -> String in
                guard case .tensor(let name) = arg else { throw c.fail("", "operand \(arg) is not a tensor") }
                return name
            }
            guard body.inputs.count == operandNames.count else {
                throw c.fail("", "the region takes \(body.inputs.count) inputs for \(operandNames.count) operands")
            }
            var known: [String: Tensor] = [:]
            for (inner, outer) in zip(body.inputs, operandNames) { known[inner] = c.known[outer] }
            return try Interpreter(b: c.b, floatType: c.floatType).run(body, inputs: operandNames.map(c.value(named:)), known: known)
        }
        guard args.count == 4, case .tensor(let predicateName) = args[0], case .graph(_, let thenGraph) = args[1],
              case .graph(_, let elseGraph) = args[2], case .tensors(let operandNames) = args[3] else {
            throw c.fail("", "expected (pred, true_graph, false_graph, operands)")
        }
        guard thenGraph.inputs.count == operandNames.count, elseGraph.inputs.count == operandNames.count,
              thenGraph.outputs.count == elseGraph.outputs.count else {
            throw c.fail("", "branches take \(thenGraph.inputs.count) and \(elseGraph.inputs.count) inputs for \(operandNames.count) operands")
        }
        let predicate = try c.value(named: predicateName)
        let operands = try operandNames.map(c.value(named:))
        func known(_ graph: ExportedGraph) -> [String: Tensor] {
            var map: [String: Tensor] = [:]
            for (inner, outer) in zip(graph.inputs, operandNames) { map[inner] = c.known[outer] }
            return map
        }
        let floatType = c.floatType
        return try (0..<thenGraph.outputs.count).map { index in
            try c.b.cond(predicate, operands: operands,
                         then: { branch, values in try Interpreter(b: branch, floatType: floatType).run(thenGraph, inputs: values, known: known(thenGraph))[index] },
                         else: { branch, values in try Interpreter(b: branch, floatType: floatType).run(elseGraph, inputs: values, known: known(elseGraph))[index] })
        }
    }
}
