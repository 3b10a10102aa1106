import Foundation

/// A seeded, platform-independent pseudo-random generator: xoshiro256** seeded by SplitMix64.
///
/// Simulation runs must be reproducible from one seed on any machine and Swift version, so
/// the hub never uses the system generator or `Double.random(in:)` (whose algorithm the
/// standard library may change). Every simulated part takes its own stream with
/// `split(_:)`: adding a consumer to one part does not shift the numbers another sees.
///
/// Algorithms: SplitMix64 and xoshiro256** by Blackman and Vigna (prng.di.unimi.it);
/// doubles use the top 53 bits; gaussians use the Box–Muller transform on two doubles.
///
/// `@inlinable` (with its state `@usableFromInline`): the chip models draw noise for every
/// conversion, and across the module boundary each draw was a call through the protocol's
/// witness table; inlined, the same arithmetic runs specialised in the caller.
public struct SeededRandom: RandomSource, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        precondition(s0 | s1 | s2 | s3 != 0, "xoshiro state must not be all zero")
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A new, independent stream named by `label`; the parent advances by one step.
    ///
    /// The child's seed mixes the parent's next output with an FNV-1a hash of the label,
    /// so `split("hts221")` and `split("lps25h")` differ even when taken in either order.
    public mutating func split(_ label: String) -> SeededRandom {
        SeededRandom(seed: next() ^ Self.fnv1a(label))
    }

    /// FNV-1a 64-bit over the label's UTF-8 bytes (stable across platforms, unlike `Hasher`).
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// Masking shifts: `k` is 7 or 45 here, where they equal the checked ones, and the
    /// optimiser left the checked form as a call per draw.
    @inlinable @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x &<< k) | (x &>> (64 &- k)) }
}

/// SplitMix64, used only to expand a 64-bit seed into xoshiro's 256-bit state.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// The randomness port: everything random in the hub and the simulator draws from one.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// Uniform in [0, 1), from the top 53 bits.
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in `range`.
    @inlinable
    public mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextDouble()
    }

    /// Uniform integer in `range`, by rejection (no modulo bias).
    @inlinable
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        if span == 0 { return Int(truncatingIfNeeded: next()) }
        let limit = UInt64.max - UInt64.max % span
        var value = next()
        while value >= limit { value = next() }
        return range.lowerBound + Int(value % span)
    }

    /// Standard normal deviate (Box–Muller; one of the pair is discarded for simplicity).
    @inlinable
    public mutating func nextGaussian() -> Double {
        var u1 = nextDouble()
        while u1 <= 0 { u1 = nextDouble() }
        let u2 = nextDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// An approximately standard normal deviate from one 64-bit draw: the Irwin–Hall sum
    /// of its four 16-bit quarters, centred and scaled to unit variance. No logarithm, no
    /// trigonometry; tails end at ±√12 ≈ ±3.46 σ. For high-rate sensor noise only.
    @inlinable
    public mutating func nextApproximateGaussian() -> Double {
        let bits = next()
        let sum = Double(bits & 0xFFFF) + Double((bits >> 16) & 0xFFFF) + Double((bits >> 32) & 0xFFFF) + Double(bits >> 48)
        return (sum / 65_536 - 2) * 3.0.squareRoot()
    }

    /// True with probability `p`.
    @inlinable
    public mutating func chance(_ p: Double) -> Bool { nextDouble() < p }
}
