import Foundation
import HubCore
@testable import HubSim
import Testing

// When each failure first shows in the physics: evaluation measures detection delay from
// there, so these instants must be what the models' headers say they are.

private let dayStart = SimulationSetup.defaultStart

@Suite("Failure observability")
struct FailureObservabilityTests {
    @Test("a washer failure becomes observable at the first second the drum turns after onset, not before",
          arguments: [ApplianceFailure.drumImbalance, .bearingWear])
    func washer(failure: ApplianceFailure) throws {
        for seed in UInt64(1)...5 {
            let model = WasherModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: seed)), start: dayStart,
                                    random: SeededRandom(seed: seed &+ 1000))
            let onset = dayStart + .seconds(3 * 3600)
            var firstTurn: Instant?
            model.startFailure(failure, at: onset, ramp: .zero)
            for second in Int64(1)...(3 * 86_400) {
                let now = dayStart + .seconds(second)
                _ = model.environment(at: now)
                if now > onset, firstTurn == nil, model.drumFrequency > 0 { firstTurn = now }
            }
            let observed = try #require(model.observability(of: failure).first)
            #expect(observed.start == onset)
            let observable = try #require(observed.observable, "seed \(seed): the drum turned within three days")
            let turn = try #require(firstTurn)
            #expect(observable > onset)
            // Within the second the controller set the drum turning.
            #expect(abs((observable - turn).secondsValue) <= 1, "seed \(seed): \(observable) vs first turn \(turn)")
        }
    }

    @Test("a fridge door left ajar is observable at once; a compressor failure at the first start that fails")
    func fridge() throws {
        let model = FridgeModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 3)), start: dayStart,
                                random: SeededRandom(seed: 2003))
        let door = dayStart + .seconds(3600)
        let compressor = dayStart + .seconds(8 * 3600)
        model.startFailure(.doorOpen, at: door)
        _ = model.environment(at: dayStart + .seconds(2 * 3600))
        model.endFailure(.doorOpen, at: dayStart + .seconds(2 * 3600))
        model.startFailure(.compressorFailure, at: compressor)
        let startsBefore = model.failedStarts
        _ = model.environment(at: dayStart + .seconds(14 * 3600))
        let doorSeen = try #require(model.observability(of: .doorOpen).first?.observable)
        #expect((doorSeen - door).secondsValue <= 1)
        let compressorSeen = try #require(model.observability(of: .compressorFailure).first?.observable)
        #expect(compressorSeen > compressor)
        #expect(model.failedStarts > startsBefore)
    }

    @Test("a furnace's igniter failure shows at the first ignition trial after onset; a blocked filter while burner and blower run")
    func furnace() throws {
        let model = FurnaceModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 4)), start: dayStart,
                                 random: SeededRandom(seed: 104))
        let onset = dayStart + .seconds(2 * 3600)
        model.startFailure(.igniterFailure, at: onset)
        var firstIgnition: Instant?
        for second in Int64(1)...(6 * 3600) {
            let now = dayStart + .seconds(second)
            _ = model.environment(at: now)
            if now > onset, firstIgnition == nil, model.phase == .ignition { firstIgnition = now }
        }
        model.endFailure(.igniterFailure, at: dayStart + .seconds(6 * 3600))
        let seen = try #require(model.observability(of: .igniterFailure).first?.observable)
        let ignition = try #require(firstIgnition)
        #expect(abs((seen - ignition).secondsValue) <= 1)

        let filterOnset = dayStart + .seconds(7 * 3600)
        model.startFailure(.blockedFilter, at: filterOnset)
        var firstRun: Instant?
        for second in Int64(6 * 3600 + 1)...(12 * 3600) {
            let now = dayStart + .seconds(second)
            _ = model.environment(at: now)
            if now > filterOnset, firstRun == nil, model.flameOn, model.blowerOn { firstRun = now }
        }
        let filterSeen = try #require(model.observability(of: .blockedFilter).first?.observable)
        let run = try #require(firstRun)
        #expect(abs((filterSeen - run).secondsValue) <= 1)
    }

    @Test("a failure repaired before it ever showed has no observable instant")
    func neverObservable() {
        let model = WasherModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 1)), start: dayStart,
                                random: SeededRandom(seed: 1001))
        // 02:00–02:01: nobody does laundry at night.
        model.startFailure(.drumImbalance, at: dayStart + .seconds(7200))
        _ = model.environment(at: dayStart + .seconds(7260))
        model.endFailure(.drumImbalance, at: dayStart + .seconds(7260))
        _ = model.environment(at: dayStart + .seconds(86_400))
        #expect(model.observability(of: .drumImbalance).map(\.observable) == [nil])
    }
}
