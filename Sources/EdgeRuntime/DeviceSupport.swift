import EdgeCore
import EdgeDevices

/// Asks a device whether it runs everything a model's forward pass needs, before any weight is
/// placed on it: the device answers per (operation, weight type), the model's layer programs say
/// which pairs they use.
public enum DeviceSupport {
    /// Every (operation, weight type) a forward pass of `model` runs, with the first place it does.
    public static func operations(of model: Model) -> [(op: DeviceOperation, type: TensorType?, at: String)] {
        var seen = Set<String>()
        var out: [(DeviceOperation, TensorType?, String)] = []
        func add(_ op: DeviceOperation, _ type: TensorType?, _ at: String) {
            if seen.insert("\(op) \(type.map { "\($0)" } ?? "")").inserted { out.append((op, type, at)) }
        }
        let w = model.weights, c = model.config
        add(.embeddingRows, w.tokenEmbedding.type, w.tokenEmbedding.name)
        if c.embeddingScale != nil { add(.scale, nil, "embedding scale") }
        for (i, l) in w.layers.enumerated() {
            var k = 0
            for op in l.program.ops {
                switch op {
                case .rmsNorm, .headNorm: add(.rmsNorm, nil, "layer \(i)")
                case .matmul:
                    add(.matmul, l.matrices[k].type, l.matrices[k].name)
                    k += 1
                case .bias, .add: add(.add, nil, "layer \(i)")
                case .rope: add(.rope, nil, "layer \(i)")
                case .attention: add(.attention, nil, "layer \(i)")
                case .glu(.swiglu): add(.swiglu, nil, "layer \(i)")
                case .glu(.geglu): add(.geglu, nil, "layer \(i)")
                }
            }
        }
        add(.rmsNorm, nil, "output norm")
        add(.matmul, w.output.type, w.output.name)
        if c.finalLogitSoftcap != nil { add(.softcap, nil, "final logits") }
        return out
    }

    /// Throws ``RuntimeError/unsupportedOperation(device:operation:type:at:)`` for the first pair
    /// `device` does not run.
    public static func check(_ model: Model, on device: any ComputeDevice) throws(RuntimeError) {
        for (op, type, at) in operations(of: model) where !device.supports(op, weightType: type) {
            throw .unsupportedOperation(device: device.name, operation: op.description, type: type, at: at)
        }
    }
}
