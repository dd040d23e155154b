import ParityKeras

/// The optimizer and loss a `.keras` file records when it was saved after `model.compile(...)`: the
/// archive's `config.json` holds `compile_config` with the optimizer serialised as
/// `{"class_name": "Adam", "config": {...}}` and the loss as such an object, a function
/// (`{"class_name": "function", "config": "mean_squared_error"}`) or a string alias (`"mse"`).
///
/// What Keras restores is what Parity reads: a loss whose `get_config` leaves an argument out comes back
/// with its default (Keras 3.15's `Huber` and `CosineSimilarity` save no `delta` / `axis`, so a model
/// compiled with `Huber(delta=0.5)` trains with delta 1.0 after `load_model`).
public struct KerasCompileConfig: Sendable {
    /// The optimizer the file records.
    public var optimizer: Optimizer
    /// The loss the file records.
    public var loss: Loss

    /// The compile config of `model`, or `nil` when the file was saved without one.
    public init?(_ model: KerasModel) throws {
        guard let compile = model.config["compile_config"], case .object(let fields) = compile, !fields.isEmpty else { return nil }
        guard let optimizer = compile["optimizer"], !optimizer.isNull, let loss = compile["loss"], !loss.isNull else { return nil }
        if let weights = compile["loss_weights"], !weights.isNull {
            throw TrainError.unsupportedModel("compile_config has loss_weights \(weights): one output, one loss is mapped")
        }
        self.optimizer = try Self.optimizer(optimizer)
        self.loss = try Self.loss(loss)
    }

    static func optimizer(_ json: KerasJSON) throws -> Optimizer {
        if let name = json.string { return try Optimizer.make(SpecCall(qualifiedName: name, positional: [], keywords: []), framework: .keras) }
        guard let className = json["class_name"]?.string else {
            throw TrainError.unsupportedModel("compile_config optimizer \(json) has no class_name")
        }
        // A schedule as learning_rate ({"class_name": "ExponentialDecay", "config": {...}}): the optimizer is built
        // with its initial rate, then takes the schedule.
        var config = json["config"]
        var schedule: LearningRateSchedule?
        if case .object(var fields)? = config, let rate = fields["learning_rate"], let scheduleClass = rate["class_name"]?.string {
            schedule = try Optimizer.kerasSchedule(try call(scheduleClass, config: rate["config"], kind: "learning rate schedule", module: "keras.optimizers.schedules"))
            fields["learning_rate"] = .double(schedule!.rate(step: 1, base: 0, dtype: .float64))
            config = .object(fields)
        }
        var optimizer = try Optimizer.make(try call(className, config: config, kind: "optimizer", module: "keras.optimizers"), framework: .keras)
        optimizer.schedule = schedule
        return optimizer
    }

    static func loss(_ json: KerasJSON) throws -> Loss {
        if let name = json.string { return try Loss.make(SpecCall(qualifiedName: "keras.losses." + name, positional: [], keywords: [])) }
        guard let className = json["class_name"]?.string else {
            throw TrainError.unsupportedModel("compile_config loss \(json) is not one loss (several outputs' losses are not mapped)")
        }
        if className == "function", let function = json["config"]?.string {
            return try Loss.make(SpecCall(qualifiedName: "keras.losses." + function, positional: [], keywords: []))
        }
        return try Loss.make(try call(className, config: json["config"], kind: "loss", module: "keras.losses"))
    }

    /// A Keras object's config as keyword arguments.
    static func call(_ className: String, config: KerasJSON?, kind: String, module: String) throws -> SpecCall {
        guard case .object(let fields)? = config else { return SpecCall(qualifiedName: "\(module).\(className)", positional: [], keywords: []) }
        let keywords = try fields.keys.sorted().map { key -> (name: String, value: SpecCall.Value) in
            (key, try value(fields[key]!, key: "\(className).\(key)"))
        }
        return SpecCall(qualifiedName: "\(module).\(className)", positional: [], keywords: keywords)
    }

    static func value(_ json: KerasJSON, key: String) throws -> SpecCall.Value {
        switch json {
        case .null: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .double(let x): return .number(x)
        case .string(let s): return .string(s)
        case .array(let items): return .sequence(try items.map { try value($0, key: key) })
        case .object:
            throw TrainError.unsupportedModel("compile_config \(key) is \(json["class_name"]?.string ?? "an object") (\(json)): only constant values are mapped")
        }
    }
}
