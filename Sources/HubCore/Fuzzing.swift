#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fuzzing convention every parser's harness follows (docs/fuzzing.md).
///
/// A harness runs a fixed number of cases from a fixed seed, so `swift test` stays quick
/// and any failure replays exactly; `HUBRIG_FUZZ_CASES=N` runs N cases instead (the long
/// run, `HUBRIG_FUZZ_CASES=200000 swift test --filter Fuzz`), and `HUBRIG_FUZZ_SEED=S`
/// moves the whole run to another seed. Mutations are shared so every parser meets the
/// same hostile input: truncation, bit flips, random bytes, insertions, deletions, repeated
/// chunks, deep nesting, and whole values swapped for tokens of other types (huge and
/// negative numbers, NaN, lists where scalars belong).
public struct Fuzzing {
    /// The cases a harness runs: `ci` normally, `HUBRIG_FUZZ_CASES` when that is set.
    public static func cases(ci: Int) -> Int {
        guard let text = getenv("HUBRIG_FUZZ_CASES").map({ String(cString: $0) }), let count = Int(text), count > 0 else { return ci }
        return count
    }

    /// The seed a harness starts from: its own `base`, or mixed with `HUBRIG_FUZZ_SEED` when set.
    public static func seed(_ base: UInt64) -> UInt64 {
        guard let text = getenv("HUBRIG_FUZZ_SEED").map({ String(cString: $0) }), let extra = UInt64(text) else { return base }
        return base ^ (extra &* 0x9E37_79B9_7F4A_7C15)
    }

    /// What a harness run saw.
    public struct Tally: Sendable, CustomStringConvertible {
        public var accepted = 0
        public var refused = 0
        /// Cases slower than `hangLimit`, by number, with their input.
        public var slow: [(number: Int, took: Duration, input: [UInt8])] = []
        public var description: String { "\(accepted) accepted, \(refused) refused, \(slow.count) slow" }
    }

    /// A case slower than this counts as a hang.
    public static let hangLimit: Duration = .seconds(2)

    /// Runs `cases(ci:)` cases from `seed(base)`: case n mutates `seeds[n % seeds.count]`
    /// and hands it to `body`, which checks the property and says whether the input was
    /// accepted. The harness's clock is read here, in tests, never in hub logic.
    public static func run(seeds: [[UInt8]], base: UInt64, ci: Int, tokens: [String] = valueTokens,
                           _ body: (_ number: Int, _ bytes: [UInt8]) -> Bool) -> Tally {
        precondition(!seeds.isEmpty, "a harness needs at least one seed input")
        var random = SeededRandom(seed: seed(base))
        var tally = Tally()
        let clock = ContinuousClock()
        for number in 0..<cases(ci: ci) {
            let bytes = mutate(seeds[number % seeds.count], &random, tokens: tokens)
            let started = clock.now
            if body(number, bytes) { tally.accepted += 1 } else { tally.refused += 1 }
            let took = clock.now - started
            if took > hangLimit { tally.slow.append((number, took, bytes)) }
        }
        return tally
    }

    /// Tokens that stress a text format's values: other types, huge, negative and
    /// non-finite numbers, hostile durations and paths, and structure characters.
    public static let valueTokens: [String] = [
        "0", "-1", "1.5", "-0", "1e308", "-1e308", "1e-308", "99999999999999999999", "18446744073709551616",
        "9223372036854775807", "-9223372036854775808", "nan", ".nan", "NaN", "inf", "-.inf", "Infinity", "1e10", "1e-12",
        "999999999", "90000d", "3654d", "0s", "-1h", "1h1h1h", "9223372036854775807ms", "0x", "0xfff", "0x10",
        "true", "null", "~", "\"\"", "''", "[]", "{}", "[1, 2]", "{ a: 1 }", "\"\\u0000\"", "../../x", "/dev/null",
        "\u{202E}x", "é", "\"\\ud800\"", "&a", "*a", "!!binary", "- ", ": ", "#", "\t",
    ]

    /// One mutation of `bytes`: 1–4 of the shared operators, chosen by `random`.
    public static func mutate(_ bytes: [UInt8], _ random: inout SeededRandom, tokens: [String] = valueTokens) -> [UInt8] {
        var result = bytes
        for _ in 0..<random.nextInt(in: 1...4) {
            let position = result.isEmpty ? 0 : random.nextInt(in: 0...(result.count - 1))
            switch random.nextInt(in: 0...9) {
            case 0:  // Truncate.
                result.removeSubrange(position...)
            case 1:  // Flip one bit.
                if !result.isEmpty { result[position] ^= UInt8(1 << random.nextInt(in: 0...7)) }
            case 2:  // A random byte.
                if !result.isEmpty { result[position] = UInt8(truncatingIfNeeded: random.next()) }
            case 3:  // Insert random bytes.
                result.insert(contentsOf: (0..<random.nextInt(in: 1...4)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position)
            case 4:  // Delete a run.
                if !result.isEmpty { result.removeSubrange(position..<min(result.count, position + random.nextInt(in: 1...16))) }
            case 5:  // Repeat a chunk many times (long lines, huge lists).
                let end = min(result.count, position + random.nextInt(in: 1...24))
                let chunk = Array(result[position..<end])
                result.insert(contentsOf: Array(repeating: chunk, count: random.nextInt(in: 2...300)).joined(), at: position)
            case 6:  // Deep nesting.
                let open = [UInt8]([[UInt8(ascii: "[")], [UInt8(ascii: "{")], Array("- ".utf8), Array("{a: ".utf8)][random.nextInt(in: 0...3)])
                let depth = random.chance(0.2) ? random.nextInt(in: 1_000...20_000) : random.nextInt(in: 2...200)
                result.insert(contentsOf: Array(repeating: open, count: depth).joined(), at: position)
            default:  // Swap a value for a token of another type.
                result = swapValue(result, &random, tokens: tokens)
            }
        }
        return result
    }

    /// Replaces the value after a random `:` (up to the next `,`, `}`, `]` or newline) with a token.
    static func swapValue(_ bytes: [UInt8], _ random: inout SeededRandom, tokens: [String]) -> [UInt8] {
        let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
        let token = Array(tokens[random.nextInt(in: 0...(tokens.count - 1))].utf8)
        guard !colons.isEmpty else { return bytes + token }
        var start = colons[random.nextInt(in: 0...(colons.count - 1))] + 1
        while start < bytes.count, bytes[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        let stops: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x0A]
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            end += 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
            end = min(bytes.count, end + 1)
        } else {
            while end < bytes.count, !stops.contains(bytes[end]) { end += 1 }
        }
        var result = bytes
        result.replaceSubrange(start..<end, with: token)
        return result
    }
}
