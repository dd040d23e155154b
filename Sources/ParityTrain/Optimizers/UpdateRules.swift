import Foundation
import ParityNN

/// Each algorithm's update, written once per framework as that framework's source writes it (Keras 3:
/// `keras/src/optimizers/<name>.py`, `update_step`, in the variable's dtype; PyTorch 2:
/// `torch/optim/<name>.py`, `_single_tensor_<name>`, the CPU default, scalars in Python's double).
extension Optimizer {
    func update<B: Builder>(_ w: B.Value, gradient g: B.Value, slots: [B.Value], step t: Int, momentumProduct: Double,
                            in b: B) throws -> (B.Value, [B.Value]) {
        func c(_ x: Double) -> B.Value { b.scalar(x, like: w) }
        let lr = learningRate
        let keras = framework == .keras
        let dtype = b.type(of: w).dtype
        /// A Keras scalar computed in the variable's dtype (Float32 arithmetic for Float32 variables).
        func k(_ x: Double) -> Double { keras && dtype == .float32 ? Double(Float(x)) : x }
        switch algorithm {
        case let .sgd(momentum, nesterov, dampening):
            guard momentum != 0 else { return (try b.subtract(w, b.multiply(g, c(lr))), []) }
            if keras {
                // m = m·μ − g·lr; w += m (Nesterov: w += m·μ − g·lr).
                let m = try b.subtract(b.multiply(slots[0], c(momentum)), b.multiply(g, c(lr)))
                let step = nesterov ? try b.subtract(b.multiply(m, c(momentum)), b.multiply(g, c(lr))) : m
                return (try b.add(w, step), [m])
            }
            // buf = g at the first step, else buf·μ + (1 − dampening)·g; w −= lr·(nesterov ? g + μ·buf : buf).
            let buffer = t == 1 ? g : try b.add(b.multiply(slots[0], c(momentum)), b.multiply(g, c(1 - dampening)))
            let direction = nesterov ? try b.add(g, b.multiply(buffer, c(momentum))) : buffer
            return (try b.add(w, b.multiply(direction, c(-lr))), [buffer])

        case let .adam(beta1, beta2, epsilon, amsgrad):
            if keras {
                // alpha = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ); m += (g − m)(1 − β₁); v += (g² − v)(1 − β₂); w −= m·alpha/(√v + ε̂).
                let p1 = k(Optimizer.pow(k(beta1), Double(t), framework: framework, dtype: dtype))
                let p2 = k(Optimizer.pow(k(beta2), Double(t), framework: framework, dtype: dtype))
                let alpha = k(k(k(lr) * k(k(1 - p2).squareRoot())) / k(1 - p1))
                let m = try b.add(slots[0], b.multiply(b.subtract(g, slots[0]), c(1 - beta1)))
                let v = try b.add(slots[1], b.multiply(b.subtract(b.multiply(g, g), slots[1]), c(1 - beta2)))
                var vUsed = v
                var extra: [B.Value] = []
                if amsgrad {
                    vUsed = try b.binary(.maximum, slots[2], v)
                    extra = [vUsed]
                }
                let step = try b.divide(b.multiply(m, c(alpha)), b.add(b.unary(.sqrt, vUsed), c(epsilon)))
                return (try b.subtract(w, step), [m, v] + extra)
            }
            // m.lerp_(g, 1 − β₁); v = v·β₂ + (1 − β₂)g²; denom = √v/√(1 − β₂ᵗ) + ε; w −= lr/(1 − β₁ᵗ) · m/denom.
            let m = try b.add(slots[0], b.multiply(b.subtract(g, slots[0]), c(1 - beta1)))
            let v = try b.add(b.multiply(slots[1], c(beta2)), b.multiply(b.multiply(g, g), c(1 - beta2)))
            var vUsed = v
            var extra: [B.Value] = []
            if amsgrad {
                vUsed = try b.binary(.maximum, slots[2], v)
                extra = [vUsed]
            }
            let stepSize = lr / (1 - Foundation.pow(beta1, Double(t)))
            let correction2 = (1 - Foundation.pow(beta2, Double(t))).squareRoot()
            let denominator = try b.add(b.divide(b.unary(.sqrt, vUsed), c(correction2)), c(epsilon))
            return (try b.add(w, b.multiply(c(-stepSize), b.divide(m, denominator))), [m, v] + extra)

        case let .rmsprop(rho, momentum, epsilon, centered):
            var rest = slots.dropFirst()
            let momentumSlot = momentum > 0 ? rest.removeFirst() : nil
            let averageSlot = centered ? rest.first : nil
            if keras {
                // v = ρv + (1 − ρ)g²; centered: a = ρa + (1 − ρ)g, denom = v − a² + ε; Δ = lr·g/√denom;
                // momentum: m = μm + Δ, w −= m; else w −= Δ.
                let v = try b.add(b.multiply(c(rho), slots[0]), b.multiply(c(1 - rho), b.multiply(g, g)))
                var denominator = try b.add(v, c(epsilon))
                var average: B.Value?
                if let averageSlot {
                    let a = try b.add(b.multiply(c(rho), averageSlot), b.multiply(c(1 - rho), g))
                    denominator = try b.add(b.subtract(v, b.multiply(a, a)), c(epsilon))
                    average = a
                }
                let increment = try b.divide(b.multiply(c(lr), g), b.unary(.sqrt, denominator))
                if let momentumSlot {
                    let m = try b.add(b.multiply(c(momentum), momentumSlot), increment)
                    return (try b.subtract(w, m), [v, m] + [average].compactMap { $0 })
                }
                return (try b.subtract(w, increment), [v] + [average].compactMap { $0 })
            }
            // v = v·α + (1 − α)g²; centered: a.lerp_(g, 1 − α), avg = √(v − a²) + ε, else √v + ε;
            // momentum: buf = buf·μ + g/avg, w −= lr·buf; else w −= lr·g/avg.
            let v = try b.add(b.multiply(slots[0], c(rho)), b.multiply(b.multiply(g, g), c(1 - rho)))
            var average: B.Value?
            var avg: B.Value
            if let averageSlot {
                let a = try b.add(averageSlot, b.multiply(b.subtract(g, averageSlot), c(1 - rho)))
                avg = try b.unary(.sqrt, b.subtract(v, b.multiply(a, a)))
                average = a
            } else {
                avg = try b.unary(.sqrt, v)
            }
            avg = try b.add(avg, c(epsilon))
            if let momentumSlot {
                let buffer = try b.add(b.multiply(momentumSlot, c(momentum)), b.divide(g, avg))
                return (try b.add(w, b.multiply(buffer, c(-lr))), [v, buffer] + [average].compactMap { $0 })
            }
            return (try b.add(w, b.multiply(c(-lr), b.divide(g, avg))), [v] + [average].compactMap { $0 })

        case let .adagrad(_, epsilon, decay):
            let accumulator = try b.add(slots[0], b.multiply(g, g))
            if keras {
                // acc += g²; w −= lr·g/√(acc + ε).
                let step = try b.divide(b.multiply(c(lr), g), b.unary(.sqrt, b.add(accumulator, c(epsilon))))
                return (try b.subtract(w, step), [accumulator])
            }
            // clr = lr/(1 + (t − 1)·lr_decay); sum += g²; w −= clr·g/(√sum + ε).
            let clr = lr / (1 + Double(t - 1) * decay)
            let std = try b.add(b.unary(.sqrt, accumulator), c(epsilon))
            return (try b.add(w, b.multiply(c(-clr), b.divide(g, std))), [accumulator])

        case let .adadelta(rho, epsilon):
            if keras {
                // acc_g = ρ·acc_g + (1 − ρ)g²; Δ = −√(acc_Δ + ε)·g/√(acc_g + ε); acc_Δ = ρ·acc_Δ + (1 − ρ)Δ²; w += lr·Δ.
                let accG = try b.add(b.multiply(c(rho), slots[0]), b.multiply(c(1 - rho), b.multiply(g, g)))
                let delta = try b.negate(b.divide(b.multiply(b.unary(.sqrt, b.add(slots[1], c(epsilon))), g), b.unary(.sqrt, b.add(accG, c(epsilon)))))
                let accD = try b.add(b.multiply(c(rho), slots[1]), b.multiply(c(1 - rho), b.multiply(delta, delta)))
                return (try b.add(w, b.multiply(c(lr), delta)), [accG, accD])
            }
            // sq = sq·ρ + (1 − ρ)g²; Δ = √(acc_Δ + ε)/√(sq + ε)·g; acc_Δ = acc_Δ·ρ + (1 − ρ)Δ²; w −= lr·Δ.
            let square = try b.add(b.multiply(slots[0], c(rho)), b.multiply(b.multiply(g, g), c(1 - rho)))
            let std = try b.unary(.sqrt, b.add(square, c(epsilon)))
            let delta = try b.multiply(b.divide(b.unary(.sqrt, b.add(slots[1], c(epsilon))), std), g)
            let accD = try b.add(b.multiply(slots[1], c(rho)), b.multiply(b.multiply(delta, delta), c(1 - rho)))
            return (try b.add(w, b.multiply(delta, c(-lr))), [square, accD])

        case let .adamax(beta1, beta2, epsilon):
            let m = try b.add(slots[0], b.multiply(b.subtract(g, slots[0]), c(1 - beta1)))
            if keras {
                // u = max(β₂u, |g|); w −= lr·m/((1 − β₁ᵗ)(u + ε)).
                let p1 = k(Optimizer.pow(k(beta1), Double(t), framework: framework, dtype: dtype))
                let u = try b.binary(.maximum, b.multiply(c(beta2), slots[1]), b.unary(.abs, g))
                let step = try b.divide(b.multiply(c(lr), m), b.multiply(c(k(1 - p1)), b.add(u, c(epsilon))))
                return (try b.subtract(w, step), [m, u])
            }
            // u = max(u·β₂, |g| + ε); w −= lr/(1 − β₁ᵗ)·m/u.
            let u = try b.binary(.maximum, b.multiply(slots[1], c(beta2)), b.add(b.unary(.abs, g), c(epsilon)))
            let clr = lr / (1 - Foundation.pow(beta1, Double(t)))
            return (try b.add(w, b.multiply(c(-clr), b.divide(m, u))), [m, u])

        case let .nadam(beta1, beta2, epsilon, decay):
            let m = try b.add(slots[0], b.multiply(b.subtract(g, slots[0]), c(1 - beta1)))
            if keras {
                // u_t = β₁(1 − ½·0.96ᵗ), u_{t+1}; m̂ = u_{t+1}·m/(1 − Πu·u_{t+1}) + (1 − u_t)·g/(1 − Πu); v̂ = v/(1 − β₂ᵗ);
                // w −= m̂·lr/(√v̂ + ε).
                let v = try b.add(slots[1], b.multiply(b.subtract(b.multiply(g, g), slots[1]), c(1 - beta2)))
                let ut = k(k(beta1) * k(1 - 0.5 * Optimizer.pow(0.96, Double(t) * decay, framework: framework, dtype: dtype)))
                let ut1 = k(k(beta1) * k(1 - 0.5 * Optimizer.pow(0.96, Double(t + 1) * decay, framework: framework, dtype: dtype)))
                let product1 = k(momentumProduct * ut1)
                let p2 = k(Optimizer.pow(k(beta2), Double(t), framework: framework, dtype: dtype))
                let mHat = try b.add(b.divide(b.multiply(c(ut1), m), c(k(1 - product1))), b.divide(b.multiply(c(k(1 - ut)), g), c(k(1 - momentumProduct))))
                let vHat = try b.divide(v, c(k(1 - p2)))
                return (try b.subtract(w, b.divide(b.multiply(mHat, c(lr)), b.add(b.unary(.sqrt, vHat), c(epsilon)))), [m, v])
            }
            // v = v·β₂ + (1 − β₂)g²; denom = √(v/(1 − β₂ᵗ)) + ε; w += −lr(1 − μ)/(1 − Πμ)·g/denom
            // + −lr·μ_{t+1}/(1 − Πμ·μ_{t+1})·m/denom.
            let v = try b.add(b.multiply(slots[1], c(beta2)), b.multiply(b.multiply(g, g), c(1 - beta2)))
            let mu = beta1 * (1 - 0.5 * Foundation.pow(0.96, Double(t) * decay))
            let muNext = beta1 * (1 - 0.5 * Foundation.pow(0.96, Double(t + 1) * decay))
            let denominator = try b.add(b.unary(.sqrt, b.divide(v, c(1 - Foundation.pow(beta2, Double(t))))), c(epsilon))
            var next = try b.add(w, b.multiply(c(-lr * (1 - mu) / (1 - momentumProduct)), b.divide(g, denominator)))
            next = try b.add(next, b.multiply(c(-lr * muNext / (1 - momentumProduct * muNext)), b.divide(m, denominator)))
            return (next, [m, v])

        case let .lion(beta1, beta2):
            // w −= lr·sign(m·β₁ + g·(1 − β₁)); m = m·β₂ + g·(1 − β₂).
            let direction = try b.add(b.multiply(slots[0], c(beta1)), b.multiply(g, c(1 - beta1)))
            let sign = try b.subtract(b.binary(.greater, direction, c(0)), b.binary(.less, direction, c(0)))
            let m = try b.add(b.multiply(slots[0], c(beta2)), b.multiply(g, c(1 - beta2)))
            return (try b.subtract(w, b.multiply(c(lr), sign)), [m])
        }
    }
}
