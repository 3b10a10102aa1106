// The byte-level half of every Sense HAT sensor's conversions: the ST chips store their
// outputs as little-endian two's-complement counts, and their ADCs saturate rather than
// wrap. The per-chip conversion files build on these, in both directions.

@inline(__always)
func int16LE(_ low: UInt8, _ high: UInt8) -> Int16 {
    Int16(bitPattern: UInt16(low) | UInt16(high) << 8)
}

/// Writes `value` as two little-endian bytes at `offset`.
@inlinable @inline(__always)
func putInt16LE(_ value: Int16, into bytes: inout [UInt8], at offset: Int) {
    let bits = UInt16(bitPattern: value)
    bytes[offset] = UInt8(truncatingIfNeeded: bits)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
}

/// Appends `value` as two little-endian bytes.
@inlinable @inline(__always)
func appendInt16LE(_ value: Int16, to bytes: inout [UInt8]) {
    let bits = UInt16(bitPattern: value)
    bytes.append(UInt8(truncatingIfNeeded: bits))
    bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
}

/// The count an ADC with an int16 output gives for `value` counts: rounded, and pinned at
/// the ends of the range instead of wrapping.
@inlinable @inline(__always)
func saturate(_ value: Double) -> Int16 {
    Int16(max(-32768, min(32767, value.rounded())))
}
