import CEdgeKernels
import EdgeCore

/// `rows` random file-layout rows of n elements: random quant bytes (every Q8_0 value, -128
/// included, and every nibble occur), realistic f16 scales and mins (so no NaN or infinity).
func randomQuantRows(_ t: Int32, rows: Int, n: Int, rng: inout SplitMix64) -> [UInt8] {
    let bb = Int(edge_type_block_bytes(t)), be = Int(edge_type_block_elems(t))
    var w = (0..<(rows * n / be * bb)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    func put(_ at: Int, _ v: Float) {
        let h = edge_f32_to_f16(v)
        w[at] = UInt8(h & 0xff)
        w[at + 1] = UInt8(h >> 8)
    }
    for b in 0..<(rows * n / be) {
        let o = b * bb
        switch t {
        case Int32(EDGE_TYPE_Q4_1.rawValue), Int32(EDGE_TYPE_Q5_1.rawValue):
            put(o, 0.01 * (0.5 + abs(unitFloat(&rng)))); put(o + 2, 0.1 * unitFloat(&rng))
        case Int32(EDGE_TYPE_Q4_K.rawValue), Int32(EDGE_TYPE_Q5_K.rawValue):
            put(o, 0.001 * (0.5 + abs(unitFloat(&rng)))); put(o + 2, 0.002 * (0.5 + abs(unitFloat(&rng))))
        case Int32(EDGE_TYPE_Q6_K.rawValue): put(o + 208, 0.001 * (0.5 + abs(unitFloat(&rng))))  // d is last
        case Int32(EDGE_TYPE_Q3_K.rawValue): put(o + 108, 0.001 * (0.5 + abs(unitFloat(&rng))))
        case Int32(EDGE_TYPE_Q2_K.rawValue): put(o + 80, 0.001 * (0.5 + abs(unitFloat(&rng)))); put(o + 82, 0.002 * (0.5 + abs(unitFloat(&rng))))
        default: put(o, 0.01 * (0.5 + abs(unitFloat(&rng))))
        }
    }
    return w
}


/// Uniform in [-1, 1).
func unitFloat(_ rng: inout SplitMix64) -> Float { Float(rng.next() >> 40) / Float(1 << 23) - 1 }
