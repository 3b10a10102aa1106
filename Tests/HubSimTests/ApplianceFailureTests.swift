import Foundation
import HubCore
import HubKernel
@testable import HubSim
import Testing

// Each failure against the same seeds without it: the signature in the model's state and
// in what its kit feels, at full severity, half-way through a ramp, and after repair.

private let dayStart = SimulationSetup.defaultStart  // 2026-01-15 00:00 UTC

private func furnace(seed: UInt64) -> FurnaceModel {
    FurnaceModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: seed)), start: dayStart,
                 random: SeededRandom(seed: seed &+ 100))
}

private func washer(seed: UInt64) -> WasherModel {
    WasherModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: seed)), start: dayStart,
                random: SeededRandom(seed: seed &+ 1000))
}

private func fridge(seed: UInt64) -> FridgeModel {
    FridgeModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: seed)), start: dayStart,
                random: SeededRandom(seed: seed &+ 2000))
}

private func hours(_ h: Double) -> Instant { dayStart + .seconds(Int64(h * 3600)) }

/// Holds `failure` at `severity` for the whole run: started part-way through a very long
/// ramp (10⁹ s, about 32 years) long before the run, so severity rises by under 0.0001 a day.
private func hold(_ model: some FailureInjectable, _ failure: ApplianceFailure, at severity: Double) {
    model.startFailure(failure, at: dayStart - .seconds(Int64(severity * 1e9)), ramp: .seconds(1_000_000_000))
}

/// RMS of the acceleration magnitude about its mean over one second at 238 Hz, as the
/// hub's vibration channel computes it over its FIFO window.
private func vibrationRMS(_ source: some SensorEnvironmentSource, from start: Instant) -> Double {
    let magnitudes = (0..<238).map { i in
        source.acceleration(at: Instant(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + Int64(i) * 1_000_000_000 / 238)).magnitude
    }
    let mean = magnitudes.reduce(0, +) / 238
    return (magnitudes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 238).squareRoot()
}

private func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    return values.sorted()[values.count / 2]
}

private func mean(_ values: [Double]) -> Double {
    values.reduce(0, +) / Double(max(values.count, 1))
}

// MARK: - Furnace

/// A furnace watched second by second: heating calls, temperatures, trips.
private struct FurnaceRun {
    struct Call {
        var start: Int
        var seconds = 0
        var trips = 0
        var endedInLockout = false
    }

    var calls: [Call] = []
    var maxSupply = -100.0
    var supplyOverRoom: [Double] = []
    var room: [Double] = []
    var lockoutStarts: [Int] = []
    var lockoutLengths: [Int] = []
    var flameSeconds = 0

    static let calling: [FurnaceModel.Phase] = [.prePurge, .ignition, .heating, .limitOpen, .retryPurge]

    init(_ model: FurnaceModel, from: Int, to: Int) {
        var call: Call?
        var lockoutStart: Int?
        for second in from..<to {
            _ = model.environment(at: dayStart + .seconds(second))
            maxSupply = max(maxSupply, model.supplyTemperature)
            supplyOverRoom.append(model.supplyTemperature - model.roomTemperature)
            room.append(model.roomTemperature)
            if model.flameOn { flameSeconds += 1 }
            let trips = model.limitTrips
            if Self.calling.contains(model.phase) {
                if call == nil { call = Call(start: second, trips: -trips) }
                call!.seconds += 1
            } else if var finished = call {
                finished.trips += trips
                finished.endedInLockout = model.lockedOut
                calls.append(finished)
                call = nil
            }
            if model.lockedOut {
                if lockoutStart == nil { lockoutStart = second; lockoutStarts.append(second) }
            } else if let begun = lockoutStart {
                lockoutLengths.append(second - begun)
                lockoutStart = nil
            }
        }
    }
}

@Suite("Furnace failures")
struct FurnaceFailureTests {
    @Test("a blocked filter drives the supply air to the 71 °C limit: short-cycling, 8–10 trips a call, lockouts, longer calls",
          arguments: [1, 2, 3] as [UInt64])
    func blockedFilter(seed: UInt64) {
        let normal = furnace(seed: seed)
        let failing = furnace(seed: seed)
        failing.startFailure(.blockedFilter, at: hours(2))
        _ = FurnaceRun(normal, from: 0, to: 2 * 3600)
        _ = FurnaceRun(failing, from: 0, to: 2 * 3600)
        // Let the call under way at the onset finish before judging calls.
        let a = FurnaceRun(normal, from: 2 * 3600, to: 14 * 3600)
        let b = FurnaceRun(failing, from: 2 * 3600, to: 14 * 3600)

        #expect(normal.limitTrips == 0 && normal.lockouts == 0)
        #expect(a.maxSupply < 68, "normal supply peaks at \(a.maxSupply) °C")
        #expect(b.maxSupply >= FurnaceModel.limitOpenTemperature, "blocked: \(b.maxSupply) °C")
        #expect(b.maxSupply < FurnaceModel.limitOpenTemperature + 1.5, "the limit caps it: \(b.maxSupply) °C")
        #expect(failing.limitTrips >= 30, "trips: \(failing.limitTrips)")
        #expect(failing.lockouts >= 2, "lockouts: \(failing.lockouts)")
        // Every call that trips at all trips 8–10 times; the tenth locks the burner out.
        let tripping = b.calls.dropFirst().filter { $0.trips > 0 }
        #expect(!tripping.isEmpty)
        #expect(tripping.allSatisfy { (8...10).contains($0.trips) }, "trips per call: \(tripping.map(\.trips))")
        #expect(tripping.allSatisfy { !$0.endedInLockout || $0.trips == 10 })
        // Limit lockouts last 3 h; the room cools through them.
        #expect(b.lockoutLengths.allSatisfy { $0 == 3 * 3600 }, "\(b.lockoutLengths)")
        let callMinutes = (mean(a.calls.map { Double($0.seconds) }) / 60, mean(b.calls.map { Double($0.seconds) }) / 60)
        #expect(callMinutes.1 > 1.5 * callMinutes.0, "mean call \(callMinutes.1) min vs \(callMinutes.0) min")
        #expect(mean(b.room) < mean(a.room) - 2, "room \(mean(b.room)) vs \(mean(a.room)) °C")
    }

    @Test("a filter clogging over a day trips nothing at first and short-cycles on the limit before it is fully clogged")
    func blockedFilterRamp() throws {
        let model = furnace(seed: 4)
        model.startFailure(.blockedFilter, at: hours(1), ramp: .seconds(24 * 3600))
        var firstTripSeverity: Double?
        var peaks: [Double] = []
        var peak = -100.0
        for second in 0..<(25 * 3600) {
            let now = dayStart + .seconds(second)
            _ = model.environment(at: now)
            peak = max(peak, model.supplyTemperature)
            if second % (3 * 3600) == 3 * 3600 - 1 { peaks.append(peak); peak = -100 }
            if firstTripSeverity == nil && model.limitTrips > 0 { firstTripSeverity = model.severity(of: .blockedFilter, at: now) }
        }
        #expect(model.severity(of: .blockedFilter, at: hours(13)) == 0.5)
        let first = try #require(firstTripSeverity)
        // room + rise/a passes 71 °C at s = 1.5·(1 − rise/(71 − room)): 0.36 for a 38 K unit,
        // 0.9 for a 20 K one (a little later, since the supply needs time to get there).
        let expected = 1.5 * (1 - model.rise / (FurnaceModel.limitOpenTemperature - model.setpoint))
        #expect(first > 0.3 && first < 1 && abs(first - expected) < 0.1, "first trip at severity \(first), expected about \(expected)")
        // Peaks every 3 h: the first few as a clean filter's, then at the limit.
        #expect(peaks[0] < 68 && peaks[1] < 68, "\(peaks)")
        #expect(peaks.suffix(3).allSatisfy { $0 >= FurnaceModel.limitOpenTemperature }, "\(peaks)")
    }

    @Test("a new filter ends the short-cycling: the control resets and the room comes back to its setpoint")
    func blockedFilterRepair() {
        let model = furnace(seed: 5)
        model.startFailure(.blockedFilter, at: hours(1))
        model.endFailure(.blockedFilter, at: hours(7))
        let broken = FurnaceRun(model, from: 0, to: 7 * 3600 + 1)
        #expect(model.limitTrips > 0)
        let trips = model.limitTrips
        let burns = model.burnerCycles
        _ = FurnaceRun(model, from: 7 * 3600 + 1, to: 7 * 3600 + 10)
        #expect(!model.lockedOut, "a lockout is cleared by the repair")
        let after = FurnaceRun(model, from: 7 * 3600 + 10, to: 15 * 3600)
        #expect(model.limitTrips == trips, "no trip after the repair")
        #expect(after.lockoutStarts.isEmpty)
        #expect(after.maxSupply < 68)
        // Recovered: back inside the thermostat's band, cycling 2–5 times an hour.
        let lastHours = Array(after.room.suffix(4 * 3600))
        #expect(lastHours.allSatisfy { abs($0 - model.setpoint) < 0.6 }, "room \(lastHours.min()!)…\(lastHours.max()!) vs \(model.setpoint)")
        let cyclesBefore = model.burnerCycles
        _ = FurnaceRun(model, from: 15 * 3600, to: 19 * 3600)
        let perHour = Double(model.burnerCycles - cyclesBefore) / 4
        #expect((2...5).contains(perHour), "cycles per hour after recovery: \(perHour)")
        #expect(cyclesBefore > burns)
        #expect(broken.room.min()! < model.setpoint - 1)
    }

    @Test("a dead igniter: 4–5 trials with purges, lockout 1–3 h, no heat; supply at room temperature, room cooling 1–2 °C/h",
          arguments: [1, 2, 3] as [UInt64])
    func igniterFailure(seed: UInt64) {
        let model = furnace(seed: seed)
        model.startFailure(.igniterFailure, at: hours(2))
        var second = 0
        while model.failedIgnitions == 0 {
            _ = model.environment(at: dayStart + .seconds(second))
            second += 1
        }
        let onset = second
        let roomAtOnset = model.roomTemperature
        let run = FurnaceRun(model, from: onset, to: onset + 12 * 3600)
        #expect(run.flameSeconds == 0, "no flame after the first failed trial")
        // The plenum only loses the last burn's warmth (still air, τ = 10 min) and then
        // follows the cooling room a little behind it.
        let excess = run.supplyOverRoom
        #expect(excess.max()! == excess[0], "never warmer than when the first trial failed: \(excess[0]) K")
        #expect(excess.dropFirst(1200).allSatisfy { $0 < 2 }, "20 min on: up to \(excess.dropFirst(1200).max()!) K")
        #expect(excess.suffix(6 * 3600).allSatisfy { abs($0) < 0.5 }, "\(excess.suffix(6 * 3600).max()!) K")
        // Room cooling over the first three hours without heat.
        let cooled = roomAtOnset - run.room[3 * 3600]
        #expect((3...6).contains(cooled), "cooled \(cooled / 3) °C/h")
        #expect(run.lockoutLengths.allSatisfy { (3600...(3 * 3600)).contains($0) }, "\(run.lockoutLengths)")
        #expect(run.lockoutStarts.count >= 3)
        // Each lockout follows the unit's 4 or 5 trials, about 53 s apart.
        let trials = model.failedIgnitions / model.lockouts
        #expect((4...5).contains(trials) && model.failedIgnitions % model.lockouts <= trials, "\(model.failedIgnitions) trials, \(model.lockouts) lockouts")
        #expect(run.calls.allSatisfy { (trials * 53 - 60...trials * 53 + 30).contains($0.seconds) }, "\(run.calls.map(\.seconds))")
    }

    @Test("an igniter failing half its trials delays heat and locks out now and then, but mostly keeps the room warm")
    func igniterHalf() {
        let half = furnace(seed: 6)
        hold(half, .igniterFailure, at: 0.5)
        let full = furnace(seed: 6)
        full.startFailure(.igniterFailure, at: dayStart)
        var lit = 0
        var last = half.phase
        var rooms: [Double] = []
        for second in 0..<(24 * 3600) {
            _ = half.environment(at: dayStart + .seconds(second))
            _ = full.environment(at: dayStart + .seconds(second))
            if half.phase == .heating && last == .ignition { lit += 1 }
            last = half.phase
            rooms.append(half.roomTemperature)
        }
        let failedShare = Double(half.failedIgnitions) / Double(half.failedIgnitions + lit)
        #expect((0.4...0.6).contains(failedShare), "failed trials \(failedShare)")
        #expect(half.lockouts < full.lockouts, "\(half.lockouts) vs \(full.lockouts) lockouts")
        #expect(mean(rooms) > full.roomTemperature + 3)
        #expect(mean(rooms) > half.setpoint - 2.5, "mean room \(mean(rooms)) vs \(half.setpoint)")
    }

    @Test("a new igniter clears the lockout at once and the furnace heats again")
    func igniterRepair() {
        let model = furnace(seed: 7)
        model.startFailure(.igniterFailure, at: hours(1))
        var second = 0
        while !model.lockedOut {
            _ = model.environment(at: dayStart + .seconds(second))
            second += 1
        }
        let repair = second + 600
        model.endFailure(.igniterFailure, at: dayStart + .seconds(repair))
        let run = FurnaceRun(model, from: second, to: repair + 3 * 3600)
        // Cleared in the first step after the repair instant.
        #expect(run.lockoutLengths.count == 1 && (600...602).contains(run.lockoutLengths[0]), "\(run.lockoutLengths)")
        #expect(run.flameSeconds > 1800)
        #expect(run.maxSupply > model.setpoint + 15, "a rise of at least 20 K: \(run.maxSupply) °C")
        #expect(abs(model.roomTemperature - model.setpoint) < 0.6)
    }
}

// MARK: - Washer

/// What a washer did over a stretch: programs, spin outcomes and vibration by stage.
private struct WasherRun {
    var programs = 0
    var capped = 0
    var halted = 0
    var checkRMS: [Double] = []    // at the 100 rpm distribute/out-of-balance check
    var spinRMS: [Double] = []     // spinning at 10 Hz or more
    var tumbleRMS: [Double] = []
    var idleRMS: [Double] = []
    var spinSeconds: [Int] = []

    init(_ model: WasherModel, from: Int, to: Int, every: Int = 3) {
        var running = false
        var top = 0.0
        for second in from..<to {
            let now = dayStart + .seconds(second)
            _ = model.environment(at: now)
            let f = model.drumFrequency
            if model.phase == .idle || model.phase == .halted {
                if running {
                    programs += 1
                    if model.phase == .halted { halted += 1 } else if abs(top - WasherModel.spinCapHz) < 1e-9 { capped += 1 }
                }
                running = false
                top = 0
                if second % 3600 == 0 { idleRMS.append(vibrationRMS(model, from: now)) }
                continue
            }
            running = true
            guard second % every == 0 else { continue }
            if model.phase == .spin {
                top = max(top, f)
                if abs(f - WasherModel.distributeHz) < 1e-9 { checkRMS.append(vibrationRMS(model, from: now)) }
                if f >= 10 { spinRMS.append(vibrationRMS(model, from: now)); spinSeconds.append(second) }
            } else if f > 0 && second % (every * 10) == 0 {
                tumbleRMS.append(vibrationRMS(model, from: now))
            }
        }
    }
}

@Suite("Washer failures")
struct WasherFailureTests {
    @Test("an out-of-balance drum: redistributed 20 times then halted, each attempt a burst of strong shaking at 100 rpm")
    func drumImbalance() {
        let normal = washer(seed: 1)
        let failing = washer(seed: 1)
        failing.startFailure(.drumImbalance, at: dayStart)
        let a = WasherRun(normal, from: 0, to: 2 * 86_400)
        let b = WasherRun(failing, from: 0, to: 2 * 86_400)
        #expect(a.halted == 0 && normal.redistributions <= a.programs)
        #expect(b.programs == a.programs)
        #expect(b.halted == b.programs, "\(b.halted) of \(b.programs) halted")
        #expect(failing.redistributions == 20 * b.programs)
        #expect(b.spinRMS.isEmpty, "never spins past the 100 rpm check")
        #expect(median(b.checkRMS) > 3 * median(a.checkRMS), "at 100 rpm: \(median(b.checkRMS)) vs \(median(a.checkRMS)) g")
        #expect(median(b.checkRMS) > 0.02)
        #expect(failing.imbalance >= 0.25 - 0.22, "the drum's own imbalance is there between loads: \(failing.imbalance)")
    }

    @Test("half-way, the drum imbalance gets past the checks after many redistributions and spins capped at 650 rpm")
    func drumImbalanceHalf() {
        let normal = washer(seed: 2)
        let half = washer(seed: 2)
        hold(half, .drumImbalance, at: 0.5)
        let a = WasherRun(normal, from: 0, to: 3 * 86_400)
        let b = WasherRun(half, from: 0, to: 3 * 86_400)
        #expect(b.programs >= 5)
        #expect(b.halted < b.programs)
        #expect(half.redistributions >= 4 * max(normal.redistributions, 1), "\(half.redistributions) vs \(normal.redistributions)")
        #expect(Double(b.capped) >= 0.7 * Double(b.programs - b.halted), "\(b.capped) of \(b.programs) capped")
        #expect(Double(a.capped) < 0.5 * Double(a.programs))
        #expect(median(b.checkRMS) > 1.5 * median(a.checkRMS))
    }

    @Test("a rebalanced drum spins normal loads again")
    func drumImbalanceRepair() {
        let model = washer(seed: 3)
        model.startFailure(.drumImbalance, at: dayStart)
        model.endFailure(.drumImbalance, at: dayStart + .seconds(86_400))
        let broken = WasherRun(model, from: 0, to: 86_400)
        #expect(broken.halted == broken.programs && broken.programs > 0)
        let before = model.redistributions
        let after = WasherRun(model, from: 86_400 + 2 * 3600, to: 4 * 86_400)
        #expect(after.programs >= 3)
        #expect(after.halted == 0)
        #expect(model.redistributions - before <= after.programs + 2)
        #expect(after.spinRMS.allSatisfy { (0.02...0.08).contains($0) }, "\(after.spinRMS.min() ?? 0)…\(after.spinRMS.max() ?? 0)")
    }

    @Test("a worn bearing raises the vibration floor whenever the drum turns: ×3 in spin, ×4 tumbling at full wear; idle unchanged")
    func bearingWear() {
        let normal = washer(seed: 4)
        let worn = washer(seed: 4)
        worn.startFailure(.bearingWear, at: dayStart)
        let a = WasherRun(normal, from: 0, to: 2 * 86_400)
        let b = WasherRun(worn, from: 0, to: 2 * 86_400)
        // The bearing does not touch the controller: the same programs at the same seconds.
        #expect(a.programs == b.programs && a.spinSeconds == b.spinSeconds && a.programs >= 2)
        #expect(normal.redistributions == worn.redistributions)
        let spin = median(zip(b.spinRMS, a.spinRMS).map { $0 / $1 })
        let tumble = median(zip(b.tumbleRMS, a.tumbleRMS).map { $0 / $1 })
        #expect(spin >= 2.8, "spin ×\(spin)")
        #expect(median(b.spinRMS) > 0.12, "spin \(median(b.spinRMS)) g vs \(median(a.spinRMS)) g")
        #expect(tumble >= 3, "tumble ×\(tumble): \(median(b.tumbleRMS)) vs \(median(a.tumbleRMS)) g")
        #expect(b.idleRMS == a.idleRMS && b.idleRMS.allSatisfy { $0 < 0.0005 })
        // Inside the chip's ±2 g with room for its ±90 mg offset, also at full speed.
        let fast = washer(seed: 4)
        fast.startFailure(.bearingWear, at: dayStart)
        var peak = 0.0
        var sampled = 0
        for second in 0..<86_400 {
            let now = dayStart + .seconds(second)
            _ = fast.environment(at: now)
            guard fast.phase == .spin && fast.drumFrequency >= 16 && second % 2 == 0 else { continue }
            sampled += 1
            for i in 0..<238 {
                let acc = fast.acceleration(at: Instant(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + Int64(i) * 4_201_680))
                peak = max(peak, abs(acc.x), abs(acc.y), abs(acc.z))
            }
        }
        #expect(sampled > 100)
        #expect(peak > 1.3 && peak < 1.9, "peak \(peak) g")
    }

    @Test("bearing wear ramping over days: half-way the spin vibration sits between sound and fully worn")
    func bearingRamp() {
        let normal = washer(seed: 5)
        let half = washer(seed: 5)
        let full = washer(seed: 5)
        hold(half, .bearingWear, at: 0.5)
        full.startFailure(.bearingWear, at: dayStart)
        let a = WasherRun(normal, from: 0, to: 86_400 + 43_200, every: 6)
        let h = WasherRun(half, from: 0, to: 86_400 + 43_200, every: 6)
        let f = WasherRun(full, from: 0, to: 86_400 + 43_200, every: 6)
        let (rA, rH, rF) = (median(a.spinRMS), median(h.spinRMS), median(f.spinRMS))
        #expect(rA < rH && rH < rF, "sound \(rA), half \(rH), worn \(rF) g")
        // The bearing's lines and rumble add to the imbalance's shaking in quadrature
        // (other frequencies); what they add half-way is half of what they add worn out.
        let added = ((rH * rH - rA * rA).squareRoot(), (rF * rF - rA * rA).squareRoot())
        #expect((0.4...0.6).contains(added.0 / added.1), "half adds \(added.0) g, worn \(added.1) g")
        // A three-day ramp: the severity the physics uses grows linearly.
        let ramping = washer(seed: 5)
        ramping.startFailure(.bearingWear, at: dayStart, ramp: .seconds(3 * 86_400))
        #expect(ramping.severity(of: .bearingWear, at: dayStart + .seconds(36 * 3600)) == 0.5)
        #expect(ramping.severity(of: .bearingWear, at: dayStart + .seconds(4 * 86_400)) == 1)
    }

    @Test("after a bearing replacement the washer shakes exactly as one that never wore")
    func bearingRepair() {
        let normal = washer(seed: 6)
        let repaired = washer(seed: 6)
        repaired.startFailure(.bearingWear, at: dayStart)
        repaired.endFailure(.bearingWear, at: dayStart + .seconds(86_400))
        var differ = 0
        var same = 0
        for second in stride(from: 0, to: 2 * 86_400, by: 5) {
            for offset in [0, 400_000_000, 777_777_777] as [Int64] {
                let at = Instant(nanosecondsSinceEpoch: (dayStart + .seconds(second)).nanosecondsSinceEpoch + offset)
                let equal = normal.environment(at: at) == repaired.environment(at: at)
                if second > 86_400 { #expect(equal) } else if equal { same += 1 } else { differ += 1 }
            }
        }
        #expect(differ > 1000, "worn while the drum turned on day one")
        #expect(same > differ, "idle seconds were untouched")
    }
}

// MARK: - Fridge

/// A fridge watched second by second from `from` to `to`.
private struct FridgeRun {
    var temperature: [Double] = []
    var humidity: [Double] = []
    var compressorOn: [Bool] = []
    var defrosting: [Bool] = []
    var contents: [Double] = []

    init(_ model: FridgeModel, from: Int, to: Int) {
        for second in from..<to {
            let env = model.environment(at: dayStart + .seconds(second))
            temperature.append(env.temperature)
            humidity.append(env.humidity)
            compressorOn.append(model.compressorOn)
            defrosting.append(model.defrosting)
            contents.append(model.contentsTemperature)
        }
    }

    var duty: Double { Double(compressorOn.filter { $0 }.count) / Double(compressorOn.count) }
    /// Duty over the seconds outside defrosts (the compressor is held off in them).
    var dutyOutsideDefrost: Double {
        let judged = zip(compressorOn, defrosting).filter { !$0.1 }
        return Double(judged.filter { $0.0 }.count) / Double(judged.count)
    }
}

@Suite("Fridge failures")
struct FridgeFailureTests {
    @Test("a door left ajar: the compressor runs continuously, the cabinet warms several degrees and stays humid",
          arguments: [1, 2, 3] as [UInt64])
    func doorOpen(seed: UInt64) {
        let normal = fridge(seed: seed)
        let ajar = fridge(seed: seed)
        ajar.startFailure(.doorOpen, at: hours(2))
        _ = FridgeRun(normal, from: 0, to: 2 * 3600)
        _ = FridgeRun(ajar, from: 0, to: 2 * 3600)
        let a = FridgeRun(normal, from: 2 * 3600, to: 26 * 3600)
        let b = FridgeRun(ajar, from: 2 * 3600, to: 26 * 3600)
        #expect(b.dutyOutsideDefrost > 0.99, "duty \(b.dutyOutsideDefrost) vs \(a.dutyOutsideDefrost)")
        #expect(b.duty > 0.9 && a.duty < 0.5)
        #expect(median(b.temperature) > median(a.temperature) + 3, "\(median(b.temperature)) vs \(median(a.temperature)) °C")
        #expect(median(b.humidity) > median(a.humidity) + 10, "\(median(b.humidity)) vs \(median(a.humidity)) %RH")
        #expect(median(b.humidity) > 80)
        #expect(b.contents.last! > a.contents.last! + 2, "the food warms: \(b.contents.last!) vs \(a.contents.last!) °C")
    }

    @Test("half-way ajar the compressor runs almost continuously to hold the air near its band; the humidity is high")
    func doorHalf() {
        let normal = fridge(seed: 4)
        let half = fridge(seed: 4)
        let full = fridge(seed: 4)
        hold(half, .doorOpen, at: 0.5)
        full.startFailure(.doorOpen, at: dayStart)
        let a = FridgeRun(normal, from: 0, to: 24 * 3600)
        let h = FridgeRun(half, from: 0, to: 24 * 3600)
        let f = FridgeRun(full, from: 0, to: 24 * 3600)
        #expect(h.duty > 0.85 && a.duty < 0.5, "duty \(h.duty) vs \(a.duty)")
        #expect(median(h.temperature) + 2 < median(f.temperature), "\(median(h.temperature)) vs \(median(f.temperature)) °C wide ajar")
        #expect(abs(median(h.temperature) - median(a.temperature)) < 1.5, "the compressor still holds the air near its band")
        #expect(median(h.humidity) > median(a.humidity) + 15, "\(median(h.humidity)) vs \(median(a.humidity)) %RH")
    }

    @Test("a shut door brings the normal cycling back")
    func doorRepair() {
        let model = fridge(seed: 5)
        model.startFailure(.doorOpen, at: hours(1))
        model.endFailure(.doorOpen, at: hours(7))
        let broken = FridgeRun(model, from: 0, to: 7 * 3600)
        let cyclesAtRepair = model.compressorCycles
        let after = FridgeRun(model, from: 10 * 3600, to: 24 * 3600)
        #expect(broken.dutyOutsideDefrost > 0.8)
        #expect(after.dutyOutsideDefrost < 0.7, "duty after \(after.dutyOutsideDefrost)")
        #expect(model.compressorCycles - cyclesAtRepair > 20)
        #expect(median(after.temperature) < model.setpoint + 1.5)
    }

    @Test("a dead compressor: no cooling, the food warms 0.3–0.5 °C/h, the shelf is still", arguments: [1, 2, 3] as [UInt64])
    func compressorFailure(seed: UInt64) {
        let normal = fridge(seed: seed)
        let dead = fridge(seed: seed)
        dead.startFailure(.compressorFailure, at: hours(2))
        _ = FridgeRun(normal, from: 0, to: 2 * 3600)
        _ = FridgeRun(dead, from: 0, to: 2 * 3600)
        let a = FridgeRun(normal, from: 2 * 3600, to: 10 * 3600)
        let b = FridgeRun(dead, from: 2 * 3600, to: 10 * 3600)
        #expect(b.compressorOn.dropFirst().allSatisfy { !$0 })
        #expect(dead.failedStarts >= 10)
        let perHour = (b.contents[8 * 3600 - 1] - b.contents[2 * 3600]) / 6
        #expect((0.3...0.5).contains(perHour), "food warms \(perHour) °C/h")
        let normalDrift = abs(a.contents[8 * 3600 - 1] - a.contents[2 * 3600]) / 6
        #expect(normalDrift < 0.1)
        #expect(mean(Array(b.temperature.suffix(3600))) > mean(Array(b.temperature[3600..<7200])), "the air keeps warming")
        #expect(median(b.temperature) > median(a.temperature) + 5)
        // Vibration: the compressor's 0.01–0.02 g is gone; only gravity remains (the chip adds its own noise).
        let quiet = fridge(seed: seed)
        let still = fridge(seed: seed)
        still.startFailure(.compressorFailure, at: hours(2))
        var normalRunning: [Double] = []
        var deadRMS: [Double] = []
        for second in stride(from: 0, to: 6 * 3600, by: 20) {
            let now = dayStart + .seconds(second)
            _ = quiet.environment(at: now)
            _ = still.environment(at: now)
            guard second > 2 * 3600 + 1 else { continue }
            if quiet.compressorOn { normalRunning.append(vibrationRMS(quiet, from: now)) }
            deadRMS.append(vibrationRMS(still, from: now))
        }
        #expect(normalRunning.count > 100 && normalRunning.allSatisfy { $0 > 0.01 })
        #expect(deadRMS.allSatisfy { $0 < 0.0005 }, "\(deadRMS.max()!) g")
    }

    @Test("a compressor failing half its starts cycles late and lets the cabinet overshoot")
    func compressorHalf() {
        let normal = fridge(seed: 6)
        let half = fridge(seed: 6)
        hold(half, .compressorFailure, at: 0.5)
        let a = FridgeRun(normal, from: 0, to: 24 * 3600)
        let h = FridgeRun(half, from: 0, to: 24 * 3600)
        let share = Double(half.failedStarts) / Double(half.failedStarts + half.compressorCycles)
        #expect((0.35...0.65).contains(share), "failed starts \(share)")
        #expect(h.duty > 0.15, "it still cools: duty \(h.duty)")
        #expect(mean(h.temperature) > mean(a.temperature) + 0.5, "\(mean(h.temperature)) vs \(mean(a.temperature)) °C")
        #expect(h.temperature.max()! > a.temperature.max()! + 2)
    }

    @Test("a repaired compressor pulls the cabinet back into its band")
    func compressorRepair() {
        let model = fridge(seed: 7)
        model.startFailure(.compressorFailure, at: hours(1))
        model.endFailure(.compressorFailure, at: hours(7))
        let broken = FridgeRun(model, from: 0, to: 7 * 3600)
        #expect(broken.temperature.last! > model.setpoint + 5)
        let after = FridgeRun(model, from: 7 * 3600, to: 20 * 3600)
        #expect(after.duty > 0.3)
        #expect(model.failedStarts > 0)
        let lastHours = Array(zip(after.temperature, after.defrosting).suffix(3 * 3600).filter { !$0.1 }.map(\.0))
        #expect(median(lastHours) < model.setpoint + 2, "median \(median(lastHours)) vs setpoint \(model.setpoint)")
    }
}

// MARK: - Schedule, determinism and the untouched normal path

@Suite("Failure schedule and determinism")
struct FailureScheduleTests {
    @Test("severity ramps linearly over (start, end], and a failure knows its appliance")
    func severityRamp() {
        let model = washer(seed: 1)
        let t0 = hours(10)
        model.startFailure(.bearingWear, at: t0, ramp: .seconds(4 * 3600))
        model.endFailure(.bearingWear, at: hours(20))
        #expect(model.severity(of: .bearingWear, at: t0) == 0, "not yet at its own start instant")
        #expect(model.severity(of: .bearingWear, at: hours(11)) == 0.25)
        #expect(model.severity(of: .bearingWear, at: hours(12)) == 0.5)
        #expect(model.severity(of: .bearingWear, at: hours(15)) == 1)
        #expect(model.severity(of: .bearingWear, at: hours(20)) == 1, "repaired after its end instant")
        #expect(model.severity(of: .bearingWear, at: hours(20) + .nanoseconds(1)) == 0)
        #expect(model.severity(of: .drumImbalance, at: hours(12)) == 0)
        // Started again: a new episode ramps from zero.
        model.startFailure(.bearingWear, at: hours(30))
        #expect(model.severity(of: .bearingWear, at: hours(25)) == 0)
        #expect(model.severity(of: .bearingWear, at: hours(31)) == 1)
        #expect(ApplianceFailure.allCases.map(\.kind) == [.furnace, .furnace, .washer, .washer, .fridge, .fridge])
        #expect(ApplianceFailure.allCases.map(\.ordinal) == Array(0..<6))
        #expect(ApplianceFailure(rawValue: "compressor-failure") == .compressorFailure)
    }

    @Test("every model keeps every one of its failures alike: ramp, repair, restart and episodes read back the same",
          arguments: ApplianceFailure.allCases)
    func everyModelKeepsFailuresAlike(failure: ApplianceFailure) {
        let model: any FailureInjectable = switch failure.kind {
        case .furnace: furnace(seed: 1)
        case .washer: washer(seed: 1)
        case .fridge: fridge(seed: 1)
        }
        let other = ApplianceFailure.allCases.first { $0.kind == failure.kind && $0 != failure }!
        model.startFailure(failure, at: hours(10), ramp: .seconds(4 * 3600))
        model.endFailure(failure, at: hours(20))
        model.startFailure(failure, at: hours(30))
        #expect(model.severity(of: failure, at: hours(10)) == 0)
        #expect(model.severity(of: failure, at: hours(12)) == 0.5)
        #expect(model.severity(of: failure, at: hours(20)) == 1)
        #expect(model.severity(of: failure, at: hours(25)) == 0, "repaired")
        #expect(model.severity(of: failure, at: hours(31)) == 1, "started again at once")
        #expect(model.severity(of: other, at: hours(12)) == 0, "\(other.rawValue) untouched")
        // No physics has run, so neither episode has shown yet.
        #expect(model.observability(of: failure) == [FailureObservability(start: hours(10), observable: nil),
                                                     FailureObservability(start: hours(30), observable: nil)])
        #expect(model.observability(of: other).isEmpty)
    }

    @Test("a failure of another appliance's kind is a precondition failure")
    func wrongKind() async {
        await #expect(processExitsWith: .failure) {
            let model = FurnaceModel(weather: HouseWeather(start: SimulationSetup.defaultStart, random: SeededRandom(seed: 1)),
                                     start: SimulationSetup.defaultStart, random: SeededRandom(seed: 2))
            model.startFailure(.doorOpen, at: SimulationSetup.defaultStart)
        }
    }

    /// FNV-1a over the bit patterns of every channel at three instants in each second.
    static func fingerprint(_ source: some SensorEnvironmentSource, seconds: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for second in 0..<seconds {
            for offset in [0, 250_000_000, 731_000_000] as [Int64] {
                let at = Instant(nanosecondsSinceEpoch: (dayStart + .seconds(second)).nanosecondsSinceEpoch + offset)
                let env = source.environment(at: at)
                for value in [env.temperature, env.humidity, env.pressure, env.acceleration.x, env.acceleration.y, env.acceleration.z] {
                    var bits = value.bitPattern
                    for _ in 0..<8 {
                        hash ^= bits & 0xFF
                        hash = hash &* 0x100_0000_01b3
                        bits >>= 8
                    }
                }
            }
        }
        return hash
    }

    // Fingerprints of two days of each model, recorded from the models as they were before
    // failures existed (commit 167b1fe). Bit-exact, so tied to one libm: recorded on Linux
    // x86_64 with glibc, where CI runs. The furnace's was recorded again when its supply-air
    // rise moved into the nameplate bands (issue 11: drawn in 20–38 K, not 30–45 K); its
    // burner cycles, which do not depend on the rise, stayed 130. The washer's was recorded
    // again when tumbling laundry stopped swaying the cabinet (issue 7: below 60 rpm only
    // the drum's own imbalance turns with it); its programs and redistributions, which the
    // controller decides, stayed 4 and 3.
    #if os(Linux) && arch(x86_64)
    @Test("without failures every model produces, bit for bit, what it did before failures existed")
    func normalPathUntouched() {
        let furnace = FurnaceModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 31)), start: dayStart,
                                   random: SeededRandom(seed: 32))
        let washer = WasherModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 33)), start: dayStart,
                                 random: SeededRandom(seed: 34))
        let fridge = FridgeModel(weather: HouseWeather(start: dayStart, random: SeededRandom(seed: 35)), start: dayStart,
                                 random: SeededRandom(seed: 36))
        #expect(Self.fingerprint(furnace, seconds: 2 * 86_400) == 0x0fe8_8917_678c_a5b4)
        #expect(furnace.burnerCycles == 130)
        #expect(Self.fingerprint(washer, seconds: 2 * 86_400) == 0xc5da_ce3e_ae2e_8988)
        #expect(washer.programCount == 4 && washer.redistributions == 3)
        #expect(Self.fingerprint(fridge, seconds: 2 * 86_400) == 0xd6ce_4678_78d6_3815)
        #expect(fridge.compressorCycles == 194 && fridge.compressorOnSeconds == 82_491 && fridge.doorOpenings == 56)
    }
    #endif

    @Test("a failure scheduled for later changes nothing before it starts, and everything after", arguments: ApplianceFailure.allCases)
    func futureFailure(failure: ApplianceFailure) {
        let onset = 30 * 3600
        func pair() -> (any SensorEnvironmentSource & FailureInjectable, any SensorEnvironmentSource & FailureInjectable) {
            switch failure.kind {
            case .furnace: (furnace(seed: 9), furnace(seed: 9))
            case .washer: (washer(seed: 9), washer(seed: 9))
            case .fridge: (fridge(seed: 9), fridge(seed: 9))
            }
        }
        let (plain, scheduled) = pair()
        scheduled.startFailure(failure, at: dayStart + .seconds(onset))
        var before = 0
        var after = 0
        for second in stride(from: 0, to: onset + 24 * 3600, by: 3) {
            let at = Instant(nanosecondsSinceEpoch: (dayStart + .seconds(second)).nanosecondsSinceEpoch + 123_456_789)
            let same = plain.environment(at: at) == scheduled.environment(at: at)
            if second < onset {
                before += 1
                if !same { Issue.record("differs at \(second) s, before the onset"); return }
            } else if !same {
                after += 1
            }
        }
        #expect(before == onset / 3)
        #expect(after > 100, "\(failure.rawValue) shows after its onset: \(after) differing samples")
    }

    @Test("with failures active the physics is still independent of how often it is asked", arguments: ApplianceFailure.allCases)
    func queryIndependence(failure: ApplianceFailure) {
        func model() -> any SensorEnvironmentSource & FailureInjectable {
            let model: any SensorEnvironmentSource & FailureInjectable = switch failure.kind {
            case .furnace: furnace(seed: 12)
            case .washer: washer(seed: 12)
            case .fridge: fridge(seed: 12)
            }
            model.startFailure(failure, at: hours(1), ramp: .seconds(6 * 3600))
            return model
        }
        let often = model()
        let seldom = model()
        var compared = 0
        for second in 0..<(20 * 3600) {
            let now = dayStart + .seconds(second)
            _ = often.environment(at: now)
            guard second % 7 == 0 else { continue }
            for offset in [0, 123_456_789, 987_654_321] as [Int64] {
                let at = Instant(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + offset)
                if often.environment(at: at) != seldom.environment(at: at) {
                    Issue.record("\(failure.rawValue): differs at \(second) s + \(offset) ns")
                    return
                }
                compared += 1
            }
        }
        #expect(compared > 30_000)
    }
}

// MARK: - Through the hub

@Suite("Appliance failures through the kit and the hub")
struct FailureThroughHubTests {
    static func readings(kind: ApplianceKind, seed: UInt64, hours: Int64,
                         failure: ((any FailureInjectable) -> Void)? = nil) -> [Reading] {
        let hub = HubConfig(thing: "hbshub001", devices: [.init(id: "dev", kind: kind)], pollInterval: .seconds(10))
        let simulation = Simulation(setup: SimulationSetup(seed: seed, duration: .seconds(hours * 3600), hub: hub))
        if let failure { failure(simulation.world.kits[0].appliance as! any FailureInjectable) }
        simulation.run()
        return simulation.history.entries.compactMap { entry in
            if case .busPublish(_, _, .reading(let reading)) = entry.event { return reading }
            return nil
        }
    }

    @Test("the hub's vibration readings carry a worn bearing: 2.5× or more in spin, 2× tumbling, idle readings unchanged")
    func bearingThroughHub() {
        let normal = Self.readings(kind: .washer, seed: 3, hours: 24)
        let worn = Self.readings(kind: .washer, seed: 3, hours: 24) { $0.startFailure(.bearingWear, at: SimulationSetup.defaultStart) }
        #expect(normal.count == worn.count && normal.count == 24 * 360 + 1)
        var spin: [Double] = []
        var slow: [Double] = []
        var identical = 0
        var compared = 0
        for (a, b) in zip(normal, worn) {
            // A FIFO window the driver refuses as a possible bit flip (broadband rumble can
            // look like one a few times a day) is read again 65 ms later; from there the
            // two runs' chips draw their noise at other instants, so the pairing ends.
            guard a.timestamp == b.timestamp else { break }
            compared += 1
            guard let va = a.values[.vibration], let vb = b.values[.vibration] else { continue }
            if va == vb {
                identical += 1
            } else if va > 0.02 {
                spin.append(vb / va)
            } else if va < 0.005 {
                slow.append(vb / va)
            }
        }
        #expect(spin.count > 50, "spin readings: \(spin.count)")
        #expect(median(spin) > 2.5, "worn/sound vibration in spin: ×\(median(spin))")
        #expect(slow.count > 100 && median(slow) > 2, "tumbling: ×\(median(slow)) over \(slow.count) readings")
        #expect(compared > 12 * 360, "readings paired before a refused window: \(compared)")
        // The drum at rest: the very same readings, chip noise and all.
        #expect(Double(identical) > 0.8 * Double(compared), "identical readings: \(identical) of \(compared)")
    }

    @Test("the hub's supply-air readings carry a blocked filter: the 71 °C limit, short-cycling, a cold house")
    func blockedFilterThroughHub() {
        let normal = Self.readings(kind: .furnace, seed: 4, hours: 12)
        let blocked = Self.readings(kind: .furnace, seed: 4, hours: 12) {
            $0.startFailure(.blockedFilter, at: SimulationSetup.defaultStart + .seconds(2 * 3600))
        }
        func temperatures(_ readings: [Reading]) -> [Double] { readings.dropFirst(720).compactMap { $0.values[.temperature] } }
        let (a, b) = (temperatures(normal), temperatures(blocked))
        #expect(a.max()! < 68 && b.max()! > 68, "supply peaks \(a.max()!) vs \(b.max()!) °C")
        // Between calls the plenum sits at room temperature: the house is colder.
        #expect(b.min()! < a.min()! - 3, "coolest supply \(b.min()!) vs \(a.min()!) °C")
    }
}
