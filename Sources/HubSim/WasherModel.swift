import Foundation
import HubCore

// Physics of a front-load washing machine with the Sense HAT kit lying on the cabinet top.
// Figures from reference/appliances.md ("Front-load washing machine"); where it gives a
// range the unit or the load draws its own value from the seed.
//
// Household schedule (no source; chosen as a plausible household): 1–3 loads a day, each
// starting at a whole minute inside one of three windows, 07:00–09:30, 11:00–14:30 and
// 17:00–20:00 (the house keeps UTC), never at night. A start that falls while a program
// still runs waits for it.
//
// Program (TRADE, MEAS): 45–60 min in all — the total is drawn in 46–56 min so the
// out-of-balance retries of a lumpy load still end inside 60. Fill 150–180 s, wash (the
// remainder, 14–33 min), drain 60 s, two rinses of 390 s (fill, tumble, drain), final
// spin 8–15 min (drawn). Presets: cottons 40 °C / 1200 rpm (35 %), cottons 40 °C / 1000 rpm
// (30 %), mixed 30 °C / 800 rpm (25 %), delicates cold / 600 rpm (10 %): 10–20 Hz (MEAS).
// Tumbling (TRADE): 12 s one way, 3 s pause, 12 s the other, 3 s pause, at 45–55 rpm
// (drawn per unit; below the 60 rpm at which clothes would stick to a 0.25 m drum).
//
// Spin (MFR, MEAS): distribute at 100 rpm for 25 s, then the out-of-balance check — above
// 0.10 kg·m the drum stops, tumbles 30 s to redistribute and tries again, at most 20
// times (about 20 min, inside the 12–34 min a maker allows), then stops with an error
// (`halted`; the user clears it after 30 min). At 300 rpm a 30 s second check caps the
// spin at 650 rpm above 0.07 kg·m. Then the measured stepped ramp: a plateau 3 Hz below
// the final speed (17 → 20 Hz at 1200 rpm) for 60–90 s, then the final speed until the
// spin's time is up, then braking. Acceleration 0.3 Hz/s (300 → 1200 rpm in under a
// minute), braking 0.5 Hz/s (no source; typical of a motor-braked drum).
// Load imbalance (no source): 70 % of loads 0.035–0.07 kg·m (0.14–0.28 kg at r = 0.25 m),
// 15 % 0.07–0.10 (spin capped), 15 % lumpy 0.10–0.22 (redistributed). A redistribution
// leaves 35–70 % of the imbalance, never less than 0.035 kg·m (wet laundry is never even).
//
// Vibration (no source; derived, see the brief's "m·r·ω²"): the rotating imbalance force
// U·ω² reaches the cabinet through the tub suspension, a spring–damper with natural
// frequency 3.5 Hz and damping ratio 0.25 (friction dampers), with transmissibility
// T = √(1 + (2ζr)²) / √((1 − r²)² + (2ζr)²), r = f / 3.5 Hz, and moves an effective
// 110 kg (cabinet plus the patch of floor it stands on). That gives cabinet amplitudes of
// 0.03–0.10 g across the spin speeds and imbalances above (vertical gain 1, horizontal 1.4
// because the cabinet rocks on its feet, front–back 0.3): 0.04–0.12 g of the RMS vector
// figure the kit reports (1.23 × the amplitude; the magnitude |a| alone saw only the
// vertical part, 0.02–0.07 g) — and under 0.01 g while tumbling. Only mass fixed to the
// drum rotates with it at every speed: the laundry rides the drum wall as a rotating mass
// only where the wall presses it harder than gravity pulls it off, ω²·r ≥ g (60 rpm for
// r = 0.25 m; the distribute step at 100 rpm is there to pin it). While tumbling below that
// the clothes are lifted and fall, their centre of mass stays low on the rising side in
// the cabinet's frame, and their thumps are part of the rumble below — which is also why a
// controller measures the load's imbalance at 100 rpm and never while tumbling. So below
// 60 rpm the cabinet sways with the drum's own imbalance alone (none on a sound drum).
// (Until issue 7 the model let the load sway the cabinet while tumbling too, as if the
// clothes were glued to the wall: a healthy lumpy load then swayed like a failed drum.)
// A little broadband rumble
// (drum bearings, motor, clothes falling): 0.0015 g per axis whenever the drum turns,
// plus 0.003 g·(f / 20 Hz)² in spin. Idle: gravity only.
// The drum angle is accumulated per 1 s step (speed constant within a step), so the
// phase stays continuous across speed steps, and the acceleration at any instant is
// amplitude × sin(angle at the step + 2π f (t − step)): an analytic function of time the
// 238 Hz accelerometer can sample anywhere.
//
// Air near the cabinet top (no source; derived): room air (RoomClimate) plus warm, wet
// air from the machine. Moisture rises toward +4 %RH (cold), +8 (30 °C), +12 (40 °C) with
// τ = 10 min while water is in the drum, gets a further +4 %RH for 10 min after the
// program as the door is opened to unload, and decays with τ = 40 min. Warmth rises toward
// +0.75 K (30 °C) or +1.5 K (40 °C) with τ = 15 min during fill and wash, half that in the
// rinses, +0.3 K from the motor in spin, and decays with τ = 30 min.
// Pressure: the house's (HouseWeather).
//
// Failures (ApplianceFailure; severity s in 0...1, see ApplianceFailure.swift):
//
// - `drum-imbalance`: the drum itself is out of balance — a loose or cracked counterweight
//   (no source for a size; chosen so that s = 1 is beyond anything the controller can
//   balance): an extra rotating imbalance D = 0.25·s kg·m fixed to the drum (a 15 kg
//   counterweight shifted 17 mm). The load's own imbalance L (drawn as above) lies at an
//   angle θ to it, uniform and drawn again for every load and after every redistribution
//   (tumbling moves the laundry, not the drum), and the two add as vectors:
//   U = √(L² + D² + 2·L·D·cos θ). The out-of-balance checks and the cabinet's shaking see
//   U. So the machine redistributes again and again, each attempt a burst of shaking at
//   100 rpm (at s = 1 about 0.023 g RMS of the vertical part against the 0.006 g of a
//   normal load; the kit's vector figure adds the horizontal sway, 1.75 times that part); a load that
//   gets past the first check is usually still above 0.07 kg·m and spins capped at 650
//   rpm (s = 0.5: 3–10 redistributions a program instead of 0–1, most spins capped); at
//   s = 1 (U ≥ 0.18 kg·m) every program ends halted with the out-of-balance error after 20
//   attempts. The response is steep around s ≈ 0.55, where D alone reaches the 0.10 kg·m
//   check. Repaired, U is the load's own again.
// - `bearing-wear`: a worn drum bearing (TRADE, derived): while the drum turns the cabinet
//   gets, on top of the normal vibration, the bearing's defect lines and a broadband
//   rumble, all in proportion to s. Lines: an outer-race line at 3–5× the drum speed and
//   an inner-race line at 5–7× (orders drawn per unit), 0.22 g and 0.13 g at s = 1 and
//   20 Hz, growing in proportion to the speed (no source; defect impacts harden with
//   speed); vertical gain 1, across 0.8 and front–back 0.3, at other phases. At 1200 rpm
//   that is 60–140 Hz: the accelerometer samples at 238 Hz and the model has no
//   anti-alias filter, so an inner-race line above 119 Hz folds down to 238 Hz minus its
//   frequency, as it would on a chip whose filter passes it. Each line's phase is
//   accumulated from the drum speed per second like the drum angle, so it is continuous
//   and an analytic function of the instant. Rumble: s·(0.004 g + 0.081 g·f / 20 Hz) per
//   axis whenever the drum turns. At s = 1 the bearing alone gives about 0.2 g RMS at
//   20 Hz: a spin's median vibration goes from 0.04–0.05 g to 0.14–0.16 g (about 3×; 2×
//   for a unit whose loads already shake 0.06 g), tumbling from 0.002 g to 0.01 g;
//   peaks stay below 1.9 g, inside the chip's ±2 g. A typical ramp is days. Nothing
//   changes while the drum stands still, and nothing in the controller: the programs run
//   exactly as without the failure.
// - Observable (for evaluation's delays; FailureInjectable.observability): both failures
//   from the first second the drum turns after onset — a still drum shows neither.
//
// Fixed 1-second steps from the start of the run; the last 256 seconds are kept, so the
// value at an instant never depends on how often or in what order it is asked for.

/// A front-load washing machine as felt by a kit on its cabinet top.
///
/// Its loads follow a household schedule drawn from the seed; the spin's out-of-balance
/// handling and the vibration an imbalance causes are what the hub's washer monitoring
/// has to learn, and what washer failures (an out-of-balance drum, a worn bearing) distort.
public final class WasherModel: RoomApplianceModel, FailureInjectable, ScheduledFailures {
    /// What the machine is doing.
    public enum Phase: String, Sendable {
        case idle
        case fill
        case wash
        case drain
        case rinse
        case spin
        /// Stopped with an out-of-balance error after the redistribution retries ran out.
        case halted
    }

    private enum SpinStage {
        case distribute
        case redistribute
        case balanceCheck
        case plateau
        case final
        case coast
    }

    private struct Segment {
        let phase: Phase
        let seconds: Int
    }

    private struct Preset {
        let waterTemperature: Double
        let spinHz: Double
        let share: Double
    }

    /// What the environment at an instant inside a second is computed from.
    struct Snapshot: RoomSnapshot {
        var temperature: Double
        var humidity: Double
        var angle: Double
        var velocity: Double
        var amplitude: Double
        var rumble: Double
        /// Bearing-wear severity in this second (0: a sound bearing).
        var bearing: Double
        var outerRacePhase: Double
        var innerRacePhase: Double
    }

    // Figures (see the header).
    private static let presets = [
        Preset(waterTemperature: 40, spinHz: 20, share: 0.35),
        Preset(waterTemperature: 40, spinHz: 1000.0 / 60, share: 0.30),
        Preset(waterTemperature: 30, spinHz: 800.0 / 60, share: 0.25),
        Preset(waterTemperature: 20, spinHz: 10, share: 0.10),
    ]
    static let scheduleWindows: [ClosedRange<Int64>] = [
        (7 * 3600)...(9 * 3600 + 1800),
        (11 * 3600)...(14 * 3600 + 1800),
        (17 * 3600)...(20 * 3600),
    ]
    static let tumbleCycle = [12, 3, 12, 3]
    static let distributeHz = 100.0 / 60
    static let distributeSeconds = 25
    static let redistributeSeconds = 33
    static let balanceCheckHz = 300.0 / 60
    static let balanceCheckSeconds = 30
    static let distributeLimit = 0.10
    static let spinCapLimit = 0.07
    static let spinCapHz = 650.0 / 60
    static let maxRedistributions = 20
    static let haltSeconds = 1800
    static let plateauStepHz = 3.0
    static let minimumFinalSeconds = 60
    static let accelerationHzPerSecond = 0.3
    static let brakingHzPerSecond = 0.5
    static let drainSeconds = 60
    static let rinseSeconds = 390
    static let suspensionHz = 3.5
    static let dampingRatio = 0.25
    static let effectiveMass = 110.0
    static let drumRadiusMetres = 0.25
    /// Where the wall presses the laundry as hard as gravity pulls it off: ω²·r = g.
    static let laundryPinnedHz = (standardGravity / drumRadiusMetres).squareRoot() / (2 * Double.pi)
    static let standardGravity = 9.80665
    static let gain = Vector3(x: 1.4, y: 0.3, z: 1.0)
    static let tumbleRumble = 0.0015
    static let spinRumble = 0.003
    static let unloadSeconds = 600
    // Failure figures (see the header).
    static let drumDefectKilogramMetres = 0.25
    static let outerRaceOrders = 3.0...5.0
    static let innerRaceOrders = 5.0...7.0
    static let outerRaceLine = 0.22
    static let innerRaceLine = 0.13
    static let bearingGain = Vector3(x: 0.8, y: 0.3, z: 1.0)
    static let bearingRumbleFloor = 0.004
    static let bearingRumbleSpin = 0.081

    let weather: HouseWeather
    private let start: Instant
    private let startEpoch: Int64
    private var schedule: SeededRandom
    private var loads: SeededRandom
    private let room: RoomClimate
    private let noiseKey: UInt64
    private let tumbleHz: Double

    private var stepIndex: Int64 = 0
    private var history: SecondHistory<Snapshot>
    private var nextDayToSchedule: Int64
    private var pendingStarts: [Int64] = []
    private var forcedImbalance: Double?
    var failures = FailureSchedule(kind: .washer)
    private var failureRandom: SeededRandom
    private let outerRaceOrder: Double
    private let innerRaceOrder: Double
    private let bearingNoiseKey: UInt64
    /// The drum's own imbalance from the drum-imbalance failure, kg·m (0: none).
    private var drumDefect = 0.0
    /// Angle between the drum's and the load's imbalance.
    private var defectAngle: Double
    private var bearingWear = 0.0
    private var outerRacePhase = 0.0
    private var innerRacePhase = 0.0
    /// The load's own imbalance, kg·m (what redistributing changes).
    private var loadImbalance = 0.0

    // Program state.
    private var plan: [Segment] = []
    private var segmentIndex = 0
    private var segmentSeconds = 0
    private var preset = WasherModel.presets[0]
    private var spinStage = SpinStage.distribute
    private var stageSeconds = 0
    private var spinSeconds = 0
    private var spinDeadline = 0
    private var plateauHold = 0
    private var plateauSeconds = 0
    private var finalSeconds = 0
    private var attempts = 0
    private var haltedSeconds = 0
    private var secondsSinceProgramEnd = Int.max / 2
    private var drumAngle = 0.0
    private var drumVelocity = 0.0
    private var warmth = 0.0
    private var moisture = 0.0

    /// What the machine is doing now.
    public private(set) var phase: Phase = .idle
    /// Drum rotation rate in the current second, Hz (either direction).
    public var drumFrequency: Double { abs(drumVelocity) }
    /// Rotating imbalance of the load in the drum, kg·m (mass × radius), with the drum's own
    /// when it is out of balance (drum-imbalance failure); 0 with no program otherwise.
    public var imbalance: Double {
        guard drumDefect > 0 else { return loadImbalance }
        let l = loadImbalance
        let d = drumDefect
        return max(0, l * l + d * d + 2 * l * d * cos(defectAngle)).squareRoot()
    }
    /// The imbalance that turns with the drum at `hertz`, kg·m: the load's and the drum's
    /// where the laundry rides the wall, the drum's own below that (see the header).
    private func rotatingImbalance(hertz: Double) -> Double {
        hertz >= Self.laundryPinnedHz ? imbalance : drumDefect
    }

    /// Programs started since the start of the run.
    public private(set) var programCount = 0
    /// Redistributions after a failed out-of-balance check, since the start of the run.
    public private(set) var redistributions = 0
    /// Programs stopped with an out-of-balance error.
    public private(set) var outOfBalanceStops = 0
    /// The final spin speed the current program will reach, Hz, after the 300 rpm check
    /// (the preset until then); 0 with no program.
    public private(set) var spinSpeedLimit = 0.0

    public init(weather: HouseWeather, start: Instant, random: SeededRandom) {
        self.weather = weather
        self.start = start
        startEpoch = RoomClimate.epochSecond(start)
        var random = random
        room = RoomClimate(random: &random)
        tumbleHz = random.nextDouble(in: 45...55) / 60
        noiseKey = random.next()
        schedule = random.split("schedule")
        loads = random.split("loads")
        // Taken after every draw above, so a machine without failures is the one it always was.
        failureRandom = random.split("failures")
        outerRaceOrder = failureRandom.nextDouble(in: Self.outerRaceOrders)
        innerRaceOrder = failureRandom.nextDouble(in: Self.innerRaceOrders)
        bearingNoiseKey = failureRandom.next()
        defectAngle = failureRandom.nextDouble(in: 0...(2 * Double.pi))
        history = SecondHistory(first: Snapshot(temperature: 0, humidity: 0, angle: 0, velocity: 0, amplitude: 0, rumble: 0,
                                                bearing: 0, outerRacePhase: 0, innerRacePhase: 0))
        let firstDay = Self.floorDivide(startEpoch, 86_400)
        nextDayToSchedule = firstDay + 1
        scheduleDay(firstDay)
        history.record(snapshot(), second: 0)
    }

    func stateAndAcceleration(at instant: Instant) -> (Snapshot, Vector3) {
        let offset = instant.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch
        advance(to: Self.floorDivide(offset, 1_000_000_000))
        let (second, state) = history.entry(second: Self.floorDivide(offset, 1_000_000_000))
        let within = Double(offset - second * 1_000_000_000) / 1e9
        let angle = state.angle + 2 * Double.pi * state.velocity * within
        let swing = Vector3(x: Self.gain.x * cos(angle), y: Self.gain.y * sin(angle + 0.7), z: Self.gain.z * sin(angle))
        var acceleration = Vector3.gravity + swing * state.amplitude
            + InstantNoise.vector(key: noiseKey, at: instant, sigma: state.rumble)
        if state.bearing > 0 && state.velocity != 0 {
            acceleration = acceleration + bearingVibration(state, within: within, at: instant)
        }
        return (state, acceleration)
    }

    /// The worn bearing's defect lines and rumble at `within` seconds into `state`'s second.
    private func bearingVibration(_ state: Snapshot, within: Double, at instant: Instant) -> Vector3 {
        let load = abs(state.velocity) / 20
        let turn = 2 * Double.pi * state.velocity * within
        let outer = state.outerRacePhase + outerRaceOrder * turn
        let inner = state.innerRacePhase + innerRaceOrder * turn
        let a = Self.outerRaceLine * state.bearing * load
        let b = Self.innerRaceLine * state.bearing * load
        let g = Self.bearingGain
        let lines = Vector3(x: g.x * (a * cos(outer + 0.4) + b * cos(inner + 1.9)),
                            y: g.y * (a * sin(outer + 2.6) + b * sin(inner + 0.3)),
                            z: g.z * (a * sin(outer) + b * sin(inner)))
        let rumble = state.bearing * (Self.bearingRumbleFloor + Self.bearingRumbleSpin * load)
        return lines + InstantNoise.vector(key: bearingNoiseKey, at: instant, sigma: rumble)
    }

    /// Sets the imbalance of the current load and of every later one (nil: back to drawn
    /// loads). Such a load does not get better by redistributing: one heavy item, like a
    /// bath mat. The hook for the coming `appliance.washer.unbalanced-load` fault.
    func forceImbalance(_ kilogramMetres: Double?) {
        forcedImbalance = kilogramMetres
        if let kilogramMetres, phase != .idle, phase != .halted { loadImbalance = kilogramMetres }
    }

    /// Cabinet vibration amplitude, g, for the drum turning at `hertz` with `imbalance` kg·m.
    static func cabinetAmplitude(hertz: Double, imbalance: Double) -> Double {
        guard hertz > 0 else { return 0 }
        let omega = 2 * Double.pi * hertz
        let r = hertz / suspensionHz
        let damping = 2 * dampingRatio * r
        let transmissibility = (1 + damping * damping).squareRoot()
            / ((1 - r * r) * (1 - r * r) + damping * damping).squareRoot()
        return imbalance * omega * omega * transmissibility / effectiveMass / standardGravity
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    private func advance(to second: Int64) {
        while stepIndex < second {
            step()
        }
    }

    private func snapshot() -> Snapshot {
        let now = start + .seconds(stepIndex)
        let hertz = abs(drumVelocity)
        var rumble = 0.0
        if hertz > 0 {
            rumble = Self.tumbleRumble
            if phase == .spin && hertz > Self.distributeHz {
                rumble += Self.spinRumble * (hertz / 20) * (hertz / 20)
            }
        }
        return Snapshot(temperature: room.temperature(at: now) + warmth,
                        humidity: min(100, max(0, room.humidity(at: now) + moisture)),
                        angle: drumAngle, velocity: drumVelocity,
                        amplitude: Self.cabinetAmplitude(hertz: hertz, imbalance: rotatingImbalance(hertz: hertz)), rumble: rumble,
                        bearing: bearingWear, outerRacePhase: outerRacePhase, innerRacePhase: innerRacePhase)
    }

    /// One second: the second that ends moves the drum and the air, then the controller
    /// decides what the next second does.
    private func step() {
        drumAngle = (drumAngle + 2 * Double.pi * drumVelocity).truncatingRemainder(dividingBy: 2 * Double.pi)
        outerRacePhase = (outerRacePhase + 2 * Double.pi * outerRaceOrder * drumVelocity).truncatingRemainder(dividingBy: 2 * Double.pi)
        innerRacePhase = (innerRacePhase + 2 * Double.pi * innerRaceOrder * drumVelocity).truncatingRemainder(dividingBy: 2 * Double.pi)
        relaxAir()
        stepIndex += 1
        let epoch = startEpoch + stepIndex
        while Self.floorDivide(epoch, 86_400) >= nextDayToSchedule {
            scheduleDay(nextDayToSchedule)
            nextDayToSchedule += 1
        }
        if failures.everStarted {
            let now = start + .seconds(stepIndex)
            drumDefect = Self.drumDefectKilogramMetres * failures.severity(.drumImbalance, at: now)
            bearingWear = failures.severity(.bearingWear, at: now)
            if drumVelocity != 0 {
                if drumDefect > 0 { failures.markObservable(.drumImbalance, at: now) }
                if bearingWear > 0 { failures.markObservable(.bearingWear, at: now) }
            }
        }
        control(epoch: epoch)
        history.record(snapshot(), second: stepIndex)
    }

    private func relaxAir() {
        var warmthTarget = 0.0
        var moistureTarget = 0.0
        let hot = max(0, (preset.waterTemperature - 20) / 20)
        let wet = 4 + 0.4 * (preset.waterTemperature - 20)
        switch phase {
        case .fill, .wash:
            warmthTarget = 1.5 * hot; moistureTarget = wet
        case .drain, .rinse:
            warmthTarget = 0.75 * hot; moistureTarget = wet
        case .spin:
            warmthTarget = 0.3; moistureTarget = wet
        case .idle, .halted:
            if secondsSinceProgramEnd < Self.unloadSeconds { moistureTarget = wet + 4 }
        }
        warmth += (warmthTarget - warmth) / (warmthTarget > warmth ? 900 : 1800)
        moisture += (moistureTarget - moisture) / (moistureTarget > moisture ? 600 : 2400)
        secondsSinceProgramEnd += 1
    }

    private func scheduleDay(_ day: Int64) {
        let count = schedule.nextInt(in: 1...3)
        var windows = Self.scheduleWindows
        while windows.count > count {
            windows.remove(at: schedule.nextInt(in: 0...(windows.count - 1)))
        }
        for window in windows {
            let minutes = Int((window.upperBound - window.lowerBound) / 60)
            let at = day * 86_400 + window.lowerBound + Int64(schedule.nextInt(in: 0...minutes)) * 60
            if at > startEpoch { pendingStarts.append(at) }
        }
    }

    private func control(epoch: Int64) {
        switch phase {
        case .idle:
            drumVelocity = 0
            if let next = pendingStarts.first, next <= epoch {
                pendingStarts.removeFirst()
                beginProgram()
            }
        case .halted:
            haltedSeconds += 1
            drumVelocity = Self.approach(drumVelocity, 0, Self.brakingHzPerSecond)
            if haltedSeconds >= Self.haltSeconds { phase = .idle }
        case .fill, .wash, .drain, .rinse:
            segmentSeconds += 1
            if segmentSeconds >= plan[segmentIndex].seconds {
                segmentIndex += 1
                segmentSeconds = 0
                guard segmentIndex < plan.count else {
                    beginSpin()
                    return
                }
                phase = plan[segmentIndex].phase
            }
            drumVelocity = tumble(segmentSeconds)
        case .spin:
            spinControl()
        }
    }

    private func beginProgram() {
        programCount += 1
        var pick = loads.nextDouble()
        preset = Self.presets[Self.presets.count - 1]
        for candidate in Self.presets {
            if pick < candidate.share { preset = candidate; break }
            pick -= candidate.share
        }
        let roll = loads.nextDouble()
        let drawn: Double
        if roll < 0.70 {
            drawn = loads.nextDouble(in: 0.035...0.07)
        } else if roll < 0.85 {
            drawn = loads.nextDouble(in: 0.07...0.10)
        } else {
            drawn = loads.nextDouble(in: 0.10...0.22)
        }
        loadImbalance = forcedImbalance ?? drawn
        if drumDefect > 0 { defectAngle = failureRandom.nextDouble(in: 0...(2 * Double.pi)) }
        spinSeconds = loads.nextInt(in: 480...900)
        let total = loads.nextInt(in: (46 * 60)...(56 * 60))
        let fill = loads.nextInt(in: 150...180)
        plateauHold = loads.nextInt(in: 60...90)
        let wash = total - fill - Self.drainSeconds - 2 * Self.rinseSeconds - spinSeconds
        plan = [Segment(phase: .fill, seconds: fill), Segment(phase: .wash, seconds: wash),
                Segment(phase: .drain, seconds: Self.drainSeconds), Segment(phase: .rinse, seconds: Self.rinseSeconds),
                Segment(phase: .rinse, seconds: Self.rinseSeconds)]
        segmentIndex = 0
        segmentSeconds = 0
        phase = .fill
        spinSpeedLimit = preset.spinHz
        drumVelocity = tumble(0)
    }

    /// Tumbling: one way, pause, the other way, pause.
    private func tumble(_ seconds: Int) -> Double {
        let position = seconds % Self.tumbleCycle.reduce(0, +)
        if position < Self.tumbleCycle[0] { return tumbleHz }
        if position < Self.tumbleCycle[0] + Self.tumbleCycle[1] { return 0 }
        if position < Self.tumbleCycle[0] + Self.tumbleCycle[1] + Self.tumbleCycle[2] { return -tumbleHz }
        return 0
    }

    private func beginSpin() {
        phase = .spin
        spinStage = .distribute
        stageSeconds = 0
        spinDeadline = spinSeconds
        attempts = 0
        plateauSeconds = 0
        finalSeconds = 0
        spinControl(elapsed: 0)
    }

    private func spinControl(elapsed: Int = 1) {
        stageSeconds += elapsed
        spinDeadline -= elapsed
        switch spinStage {
        case .distribute:
            drumVelocity = Self.approach(drumVelocity, Self.distributeHz, Self.accelerationHzPerSecond)
            guard stageSeconds >= Self.distributeSeconds else { return }
            stageSeconds = 0
            if imbalance <= Self.distributeLimit {
                spinStage = .balanceCheck
            } else if attempts >= Self.maxRedistributions {
                halt()
            } else {
                attempts += 1
                redistributions += 1
                spinDeadline += Self.redistributeSeconds + Self.distributeSeconds
                spinStage = .redistribute
                drumVelocity = Self.approach(drumVelocity, 0, Self.brakingHzPerSecond)
            }
        case .redistribute:
            drumVelocity = stageSeconds <= 3 ? Self.approach(drumVelocity, 0, Self.brakingHzPerSecond) : tumble(stageSeconds - 4)
            guard stageSeconds >= Self.redistributeSeconds else { return }
            if forcedImbalance == nil {
                loadImbalance = max(0.035, loadImbalance * loads.nextDouble(in: 0.35...0.7))
            }
            if drumDefect > 0 { defectAngle = failureRandom.nextDouble(in: 0...(2 * Double.pi)) }
            spinStage = .distribute
            stageSeconds = 0
        case .balanceCheck:
            drumVelocity = Self.approach(drumVelocity, Self.balanceCheckHz, Self.accelerationHzPerSecond)
            guard stageSeconds >= Self.balanceCheckSeconds else { return }
            if imbalance > Self.spinCapLimit { spinSpeedLimit = min(preset.spinHz, Self.spinCapHz) }
            spinStage = .plateau
            stageSeconds = 0
        case .plateau:
            let target = spinSpeedLimit - Self.plateauStepHz
            drumVelocity = Self.approach(drumVelocity, target, Self.accelerationHzPerSecond)
            if drumVelocity == target { plateauSeconds += 1 }
            if plateauSeconds >= plateauHold {
                spinStage = .final
                stageSeconds = 0
            }
        case .final:
            drumVelocity = Self.approach(drumVelocity, spinSpeedLimit, Self.accelerationHzPerSecond)
            if drumVelocity == spinSpeedLimit { finalSeconds += 1 }
            let braking = Int((spinSpeedLimit / Self.brakingHzPerSecond).rounded(.up))
            if spinDeadline <= braking && finalSeconds >= Self.minimumFinalSeconds {
                spinStage = .coast
                stageSeconds = 0
            }
        case .coast:
            drumVelocity = Self.approach(drumVelocity, 0, Self.brakingHzPerSecond)
            if drumVelocity == 0 { endProgram() }
        }
    }

    private func halt() {
        outOfBalanceStops += 1
        phase = .halted
        haltedSeconds = 0
        loadImbalance = 0
        spinSpeedLimit = 0
        secondsSinceProgramEnd = 0
        drumVelocity = Self.approach(drumVelocity, 0, Self.brakingHzPerSecond)
    }

    private func endProgram() {
        phase = .idle
        loadImbalance = 0
        spinSpeedLimit = 0
        secondsSinceProgramEnd = 0
    }

    /// Moves `value` toward `target` by at most `rate` (per one-second step).
    private static func approach(_ value: Double, _ target: Double, _ rate: Double) -> Double {
        if abs(target - value) <= rate { return target }
        return value + (target > value ? rate : -rate)
    }
}
