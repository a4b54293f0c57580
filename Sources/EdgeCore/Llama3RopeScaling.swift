#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Llama 3.1's RoPE frequency scaling (`rope_scaling.rope_type = "llama3"` in a Hugging Face
/// `config.json`): rotary frequencies whose wavelength is long next to the original context are
/// divided by `factor`, short ones are kept, and those between are blended smoothly.
/// Source: Meta's reference code (`apply_scaling` in llama-models `reference_impl/model.py`), as
/// llama.cpp's converter turns it into the `rope_freqs` tensor of per-frequency divisors.
public struct Llama3RopeScaling: Sendable, Hashable, Codable {
    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    /// The context the model was first trained at (`original_max_position_embeddings`).
    public var originalContextLength: Int

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Int) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }

    /// The divisor of each rotary frequency `base^(-2i / dims)`, i in 0..<dims/2: 1 for short
    /// wavelengths, `factor` for long ones, `1 / ((1 - s) / factor + s)` between, where `s` is how
    /// far the wavelength lies between the two thresholds.
    public func frequencyDivisors(ropeDimensions dims: Int, base: Double) -> [Float] {
        let old = Double(originalContextLength)
        let longWavelength = old / lowFrequencyFactor     // longer than this: fully scaled
        let shortWavelength = old / highFrequencyFactor   // shorter than this: unchanged
        return (0..<dims / 2).map { i in
            let frequency = 1 / pow(base, Double(2 * i) / Double(dims))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < shortWavelength { return 1 }
            if wavelength > longWavelength { return Float(factor) }
            let s = (old / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
            return Float(1 / ((1 - s) / factor + s))
        }
    }
}
