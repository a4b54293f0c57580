import CEdgeKernels
import EdgeCore

/// Converts a row of stored weights to `Float`, with the scalar reference kernels
/// (`edge_dequantize_row_ref` in CEdgeKernels/edge_ref.c, ggml's arithmetic).
public enum Dequantizer {
    /// Dequantizes the first `count` elements held in `bytes`.
    ///
    /// - Parameters:
    ///   - type: the element type; one of ``TensorType/supported``.
    ///   - bytes: `type`-encoded blocks, at least `type.rowBytes(count)` bytes; may be unaligned.
    ///   - count: elements to produce; a multiple of `type.blockSize`.
    /// - Returns: `count` floats, in element order.
    public static func dequantize(
        _ type: TensorType, _ bytes: UnsafeRawBufferPointer, count: Int
    ) throws(KernelError) -> [Float] {
        guard type.isSupported else { throw .unsupportedType(type) }
        guard let need = type.rowBytes(count) else {
            throw .shape(op: "dequantize", type: type, count: count, byteCount: bytes.count, expectedBytes: nil)
        }
        guard bytes.count >= need else {
            throw .shape(op: "dequantize", type: type, count: count, byteCount: bytes.count, expectedBytes: need)
        }
        if count == 0 { return [] }
        // The C kernel reads the block structs through pointers to 2-byte-aligned fields; copy an
        // unaligned source (a GGUF tensor is 32-byte aligned, so this is rare).
        let aligned = Int(bitPattern: bytes.baseAddress) % 4 == 0
        var status: Int32 = 0
        let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if aligned {
                status = edge_dequantize_row_ref(Int32(type.rawValue), bytes.baseAddress, buffer.baseAddress, Int64(count))
            } else {
                let copy = Array(bytes.prefix(need))
                status = copy.withUnsafeBytes {
                    edge_dequantize_row_ref(Int32(type.rawValue), $0.baseAddress, buffer.baseAddress, Int64(count))
                }
            }
            if status != 0 { buffer.initialize(repeating: 0) }
            initialized = count
        }
        guard status == 0 else { throw .unsupportedType(type) }
        return out
    }
}
