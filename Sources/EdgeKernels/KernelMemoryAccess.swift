import CEdgeKernels
import EdgeCore

/// The ``MemoryAccess`` each weight type's x16 kernel uses, process-wide (`edge_stream_mode_*` in
/// CEdgeKernels/include/edge_packed.h). The engine sets it from the host profile before it runs a
/// kernel; without a profile the kernels keep their default (a prefetch 8192 bytes ahead).
public enum KernelMemoryAccess {
    /// The types whose kernels take a mode: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS.
    public static var tunableTypes: [TensorType] {
        TensorType.allCases.filter { edge_stream_mode_tunable(Int32($0.rawValue)) != 0 }
    }

    /// The mode `type`'s kernel uses now (``MemoryAccess/hardware`` for a type that takes none).
    public static func current(for type: TensorType) -> MemoryAccess {
        MemoryAccess(code: edge_stream_mode_get(Int32(type.rawValue))) ?? .hardware
    }

    /// Sets `type`'s mode; false (nothing changed) for a type that takes none.
    @discardableResult
    public static func set(_ access: MemoryAccess, for type: TensorType) -> Bool {
        edge_stream_mode_set(Int32(type.rawValue), access.code) == 0
    }

    /// Sets the modes the profile's fastest core class measured best (`matvec_dram_access`; every
    /// thread runs the same kernels, so one class decides) and returns what it set. Types the
    /// profile does not name keep their mode.
    @discardableResult
    public static func apply(_ profile: HostProfile) -> [TensorType: MemoryAccess] {
        guard let fastest = profile.cpu.coreClasses.max(by: { $0.relativeSpeed.value < $1.relativeSpeed.value }) else { return [:] }
        var applied: [TensorType: MemoryAccess] = [:]
        for k in fastest.kernels {
            guard let name = k.matvecDRAMAccess, let access = MemoryAccess(name),
                  let type = TensorType.named(k.weightType), set(access, for: type) else { continue }
            applied[type] = access
        }
        return applied
    }
}
