import HubCore
import HubKernel
import HubSim

/// `hubrig bench bus`: what one full poll of a kit costs on the I²C bus.
///
/// Counted on the simulated bus under the production drivers, in steady state (after the
/// chips are initialised), with and without read verification, and set against the
/// least the datasheets allow for the same data: one burst read of the output registers
/// per chip (HTS221 4 bytes, LPS25H 3 pressure bytes, LSM9DS1 32 FIFO samples of 6 bytes).
/// Bus time assumes 9 SCL periods per byte (8 bits + ACK) and one more per START,
/// repeated START and STOP.
public enum BusBenchmark {
    public struct Row: Sendable {
        public let kind: ApplianceKind
        public let chips: String
        public let label: String
        public let transfersPerPoll: Double
        public let bytesPerPoll: Double

        /// Microseconds on a bus clocked at `hertz`.
        public func microseconds(at hertz: Double) -> Double {
            let transactions = transfersPerPoll
            return (bytesPerPoll * 9 + transactions * 3) / hertz * 1e6
        }
    }

    /// Bytes of one burst read of `count` output bytes: address+W, register, address+R, data.
    static func burst(_ count: Int) -> Double { Double(3 + count) }

    public static func minimum(for kind: ApplianceKind) -> Row {
        let kit = MonitoringKit.for(kind)
        var bytes = 0.0
        for chip in kit.chips {
            switch chip {
            case .hts221: bytes += burst(4)
            case .lps25h: bytes += burst(3)
            case .lsm9ds1: bytes += burst(32 * 6)
            }
        }
        return Row(kind: kind, chips: chipNames(kit), label: "datasheet minimum", transfersPerPoll: Double(kit.chips.count),
                   bytesPerPoll: bytes)
    }

    static func chipNames(_ kit: MonitoringKit) -> String {
        kit.chips.map { $0.rawValue.uppercased() }.joined(separator: "+")
    }

    /// Measures `kind`'s kit over `polls` one-second polls after a minute of warm-up.
    public static func measure(_ kind: ApplianceKind, verifyReads: Bool, polls: Int = 600) -> Row {
        let hub = HubConfig(thing: "bench", devices: [HubConfig.Device(id: "kit", kind: kind)], pollInterval: .seconds(1))
        var warmUp = SimulationSetup(seed: 1, duration: .seconds(60), hub: hub)
        warmUp.verifyReads = verifyReads
        // Two runs from the same seed: the longer one's extra polls are the steady state.
        let short = Simulation(setup: warmUp)
        short.run()
        var longSetup = warmUp
        longSetup.duration = .seconds(Int64(60 + polls))
        let long = Simulation(setup: longSetup)
        long.run()
        let bus0 = short.world.kits[0].bus
        let bus1 = long.world.kits[0].bus
        let n = Double(long.hub.readingsPublished - short.hub.readingsPublished)
        precondition(n > 0, "the longer run must publish more readings")
        return Row(kind: kind, chips: chipNames(MonitoringKit.for(kind)),
                   label: verifyReads ? "hub, verified reads" : "hub, single reads",
                   transfersPerPoll: Double(bus1.transferCount - bus0.transferCount) / n,
                   bytesPerPoll: Double(bus1.byteCount - bus0.byteCount) / n)
    }

    public static func rows() -> [Row] {
        ApplianceKind.allCases.flatMap { kind in
            [measure(kind, verifyReads: true), measure(kind, verifyReads: false), minimum(for: kind)]
        }
    }

    public static func table(_ rows: [Row]) -> String {
        let pad = TextFormat.padded
        func fixed(_ value: Double, _ decimals: Int) -> String { TextFormat.fixed(value, decimals: decimals) }
        var lines = ["hubrig bench bus: I²C cost of one full poll of a kit (steady state, simulated bus, production drivers)",
                     "",
                     pad("kit", 9) + pad("chips", 22) + pad("reads", 20) + pad("transfers", 11) + pad("bytes", 8)
                        + pad("µs@100kHz", 11) + pad("µs@400kHz", 11) + "× minimum"]
        for row in rows {
            let minimum = minimum(for: row.kind)
            lines.append(pad(row.kind.rawValue, 9) + pad(row.chips, 22) + pad(row.label, 20)
                + pad(fixed(row.transfersPerPoll, 1), 11) + pad(fixed(row.bytesPerPoll, 1), 8)
                + pad(fixed(row.microseconds(at: 100_000), 0), 11) + pad(fixed(row.microseconds(at: 400_000), 0), 11)
                + fixed(row.bytesPerPoll / minimum.bytesPerPoll, 2))
        }
        return lines.joined(separator: "\n")
    }
}
