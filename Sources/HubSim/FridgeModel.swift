import Foundation
import HubCore

// Physics of a refrigerator's fresh-food cabinet with the Sense HAT kit on a shelf inside.
// Figures from reference/appliances.md ("Refrigerator"); where it gives a range the unit
// draws its own value from the seed.
//
// - Setpoint 1.7–4 °C (TRADE), drawn per unit. Control hysteresis ±2.5 °C (MFR firmware):
//   the compressor cuts in at setpoint + 2.5 °C and out at setpoint − 2.5 °C of cabinet air,
//   with a 3 min minimum off-time (no source; the usual restart delay that lets a
//   compressor's pressures equalise).
// - Thermal model (no source for the constants; derived so the cabinet matches the MEAS
//   and study figures): two nodes. Cabinet air with shelves and liner surface, 1 kJ/K,
//   gains heat through the walls at 0.5 W/K from the kitchen and exchanges 1.2 W/K with
//   the contents (80 kJ/K, about 19 kg of water-like food); the evaporator takes 30 W
//   from the air while the compressor runs. At a 21 °C kitchen that gives ≈ 4 min on and
//   10 min off: 26–30 % duty and 4–4.5 cycles an hour with the door shut across the
//   drawn setpoints and kitchens (MEAS: ~30 %, 5 on / 10 off). With the compressor dead
//   the whole cabinet warms 0.4 °C/h (study: 0.3–0.5 °C/h).
// - Kitchen air: RoomClimate (20–22 °C with a ±0.5 °C daily swing, 35–45 %RH).
// - Door openings (no source for rates; a household pattern): a Poisson process at 0 per
//   hour from 23:00 to 06:00, 2–3 per hour around breakfast, lunch and dinner, 0.5–1.5 in
//   between (≈ 25 a day); each 5–30 s. While open, room air mixes in at 12 W/K, so the
//   air warms by 2–5 °C (MEAS: temperature rises less than humidity). Each opening also
//   brings 13 kJ of warm items and surfaces that reach the air with τ = 20 min (MEAS:
//   recovery ≥ 30 min after loading); 13 kJ makes one opening every 30 min raise the duty
//   to 57–61 % (MEAS: ~60 %). So one opening an hour costs ≈ 15 % duty, and about 3 an
//   hour is the most the cabinet holds within its band; a cluster of openings at dinner
//   leaves the air several degrees warm for half an hour. The items are at most at the
//   kitchen's temperature, so they warm the air only while it is cooler than the kitchen:
//   otherwise a dinner's openings during a defrost stacked enough load to take the air to
//   27 °C in a 21 °C kitchen (seed 65 of fridge-steady-state); what is left waits.
// - Humidity: cabinet vapour pressure relaxes with τ = 20 min toward 55–70 % (drawn) of
//   saturation at the contents' temperature (moist food and the drain keep it there) and
//   never exceeds saturation at the air temperature (fog condenses). While the door is
//   open it mixes toward the kitchen's vapour pressure with τ = 8 s: RH jumps 15–50 %RH
//   within seconds, often to 100 %, and the extra moisture takes over 30 min to clear
//   (MEAS).
// - Defrost (MFR, TRADE): every 8–15 h (drawn per interval, the first within the first
//   interval of the run) for 15–45 min (drawn), compressor off; the melt raises the
//   humidity target by 15 %RH. The cabinet air drifts a few degrees above the cut-in point.
// - Compressor vibration (no source; chosen within the brief's 0.01–0.02 g): a 50 Hz-mains
//   unit; the motor's pull is mains-locked, so the shelf feels a 50 Hz sinusoid of
//   0.016–0.024 g vertically (drawn per unit; 0.5× across, 0.3× front–back) plus 0.0015 g
//   of broadband noise per axis while the compressor runs, nothing when it is off. A real
//   induction motor turns a few per cent slower than 50 Hz; its shaft-order line would sit
//   near 48 Hz. The phase is taken from the exact nanoseconds since the start, so the
//   acceleration is an analytic function of the instant.
// - Pressure: the house's (HouseWeather).
//
// Failures (ApplianceFailure; severity s in 0...1, see ApplianceFailure.swift):
//
// - `door-open`: the door is left ajar from the failure's start, besides the household's
//   own openings (which still open it wide). s is how far: the gap exchanges air at
//   s × 15 % of a wide-open door's rate (no source; a hand's-width gap at s = 1), so
//   kitchen air mixes in at s·1.8 W/K and the cabinet's vapour tends to the kitchen's with
//   τ = 8 s/(0.15·s) ≈ 53 s at s = 1, on top of its usual relaxation. At s = 1 the 30 W
//   evaporator can hold the air only near 6 °C, rising as the food warms (about 8 °C over
//   the first day against the setpoint's ~3): it never reaches the cut-out point, so the
//   compressor runs continuously but for the defrosts (duty 94–98 % of the day), and the
//   kitchen's moisture meets air colder than its dew point: 85–100 %RH, capped at
//   saturation as fog and frost. At s = 0.5 (0.9 W/K) the compressor, running 93–96 % of
//   the time, still holds the air near its band, at 95–100 %RH. (MEAS: humidity jumps at
//   an opening, temperature rises less; TRADE: a door left ajar makes the compressor run
//   continuously.)
// - `compressor-failure`: s is the chance that a start attempt fails — a failing start
//   relay or a motor on its way out (a capacity loss would be a refrigerant leak, which is
//   another failure). A failed start trips the overload protector, which holds the
//   compressor off for 4 min while it cools (no source; klixon resets take a few
//   minutes), then the thermostat's call tries again. At s = 1 nothing starts, and a
//   compressor running when s reaches 1 trips at once (a seized or burnt motor). While the
//   thermostat calls and the compressor does not run, the evaporator fan still does and
//   puts its 3 W into the cabinet air (no source; a typical fan motor of a few watts). With
//   no cooling the light air node settles within the hour 6–7 K above the food, and the
//   food warms 0.35–0.45 °C/h toward the kitchen (study: fresh food 0.3–0.5 °C/h) with
//   the air rising behind it. The shelf feels nothing: the accelerometer's own noise
//   floor. At s = 0.5 starts are delayed by 4 min at a time, so the air overshoots the
//   cut-in point by several degrees.
// - Observable (for evaluation's delays; FailureInjectable.observability): a door left
//   ajar at once (its first second); a compressor failure from the first second the
//   compressor should have run and did not (a failed start, or a running motor tripped).
//
// Fixed 1-second steps from the start of the run; the last 256 seconds are kept, so the
// value at an instant never depends on how often or in what order it is asked for.

/// A refrigerator's fresh-food cabinet as felt by a kit on one of its shelves.
///
/// The compressor cycles on the cabinet air's temperature, the household opens the door
/// at meal times and the defrost runs every several hours: the normal day the hub's fridge
/// monitoring learns, and what fridge failures (a door left ajar, a compressor that will not
/// start) bend.
public final class FridgeModel: RoomApplianceModel, FailureInjectable, ScheduledFailures {
    struct Snapshot: RoomSnapshot {
        var temperature: Double
        var humidity: Double
        var compressorOn: Bool
    }

    // Figures (see the header).
    /// Control hysteresis of the fresh-food thermostat, °C either side of the setpoint.
    public static let hysteresis = 2.5
    static let minimumOffSeconds = 180
    static let airCapacity = 1_000.0
    static let contentsCapacity = 80_000.0
    static let wallConductance = 0.5
    static let contentsConductance = 1.2
    static let coolingPower = 30.0
    static let doorConductance = 12.0
    static let doorLoadJoules = 13_000.0
    static let doorLoadTau = 1_200.0
    static let humidityTau = 1_200.0
    static let doorMixingTau = 8.0
    static let defrostHumidityRise = 0.15
    static let doorSeconds = 5...30
    static let defrostIntervalSeconds = (8 * 3600)...(15 * 3600)
    static let defrostSeconds = (15 * 60)...(45 * 60)
    /// Door openings per hour, by hour of the day.
    static let doorRates: [Double] = [
        0, 0, 0, 0, 0, 0, 1, 3, 2, 1, 0.5, 1,
        2.5, 1.5, 0.5, 0.5, 1, 2.5, 3, 2.5, 1.5, 1, 0.5, 0,
    ]
    static let mainsPeriodNanoseconds: Int64 = 20_000_000
    static let vibrationGain = Vector3(x: 0.5, y: 0.3, z: 1.0)
    static let vibrationNoise = 0.0015
    // Failure figures (see the header).
    static let ajarExchangeShare = 0.15
    static let overloadResetSeconds = 240
    static let fanHeat = 3.0

    let weather: HouseWeather
    private let start: Instant
    private let room: RoomClimate
    private var doors: SeededRandom
    private var defrosts: SeededRandom
    private let noiseKey: UInt64
    private let vibrationAmplitude: Double
    private let vibrationPhase: Double
    private let surfaceHumidity: Double

    private var stepIndex: Int64 = 0
    private var history: SecondHistory<Snapshot>
    private var vapourPressure: Double
    private var doorLoad = 0.0
    private var doorSecondsLeft = 0
    private var requestedDoorSeconds: Int?
    private var offSeconds = FridgeModel.minimumOffSeconds
    private var nextDefrost: Int64
    private var defrostSecondsLeft = 0
    var failures = FailureSchedule(kind: .fridge)
    private var failureRandom: SeededRandom
    private var overloadSeconds = 0
    /// The thermostat calls for cooling that a failed compressor does not deliver (the fan runs).
    private var unansweredCall = false

    /// Fresh-food setpoint of this unit, °C.
    public let setpoint: Double
    /// Whether the compressor runs in the current second.
    public private(set) var compressorOn: Bool
    /// Whether the fresh-food door stands open in the current second.
    public private(set) var doorOpen = false
    /// Cabinet air temperature (what the kit reads), °C.
    public private(set) var cabinetTemperature: Double
    /// Temperature of the food and the cabinet's inner walls, °C.
    public private(set) var contentsTemperature: Double
    /// Seconds the compressor has run since the start of the run.
    public private(set) var compressorOnSeconds = 0
    /// Compressor starts since the start of the run.
    public private(set) var compressorCycles = 0
    /// Door openings since the start of the run.
    public private(set) var doorOpenings = 0
    /// Whether a defrost (compressor held off) is under way.
    public private(set) var defrosting = false
    /// Compressor start attempts that failed since the start of the run (compressor-failure).
    public private(set) var failedStarts = 0

    public init(weather: HouseWeather, start: Instant, random: SeededRandom) {
        self.weather = weather
        self.start = start
        var random = random
        room = RoomClimate(random: &random)
        setpoint = random.nextDouble(in: 1.7...4)
        surfaceHumidity = random.nextDouble(in: 0.55...0.70)
        vibrationAmplitude = random.nextDouble(in: 0.016...0.024)
        vibrationPhase = random.nextDouble(in: 0...(2 * Double.pi))
        cabinetTemperature = setpoint + random.nextDouble(in: -Self.hysteresis...Self.hysteresis)
        contentsTemperature = setpoint
        compressorOn = random.chance(0.3)
        noiseKey = random.next()
        doors = random.split("doors")
        defrosts = random.split("defrost")
        let firstInterval = defrosts.nextInt(in: Self.defrostIntervalSeconds)
        nextDefrost = Int64(defrosts.nextInt(in: 3600...firstInterval))
        // Taken after every draw above, so a fridge without failures is the one it always was.
        failureRandom = random.split("failures")
        vapourPressure = surfaceHumidity * RoomClimate.saturationVapourPressure(setpoint)
        history = SecondHistory(first: Snapshot(temperature: 0, humidity: 0, compressorOn: false))
        history.record(snapshot(), second: 0)
    }

    func stateAndAcceleration(at instant: Instant) -> (Snapshot, Vector3) {
        let offset = instant.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch
        let second = offset >= 0 ? offset / 1_000_000_000 : (offset - 999_999_999) / 1_000_000_000
        advance(to: second)
        let state = history.entry(second: second).entry
        var acceleration = Vector3.gravity
        if state.compressorOn {
            let period = Self.mainsPeriodNanoseconds
            let cycle = Double(((offset % period) + period) % period) / Double(period)
            let angle = 2 * Double.pi * cycle + vibrationPhase
            let gain = Self.vibrationGain
            acceleration = acceleration
                + Vector3(x: gain.x * sin(angle + 1.1), y: gain.y * sin(angle + 2.3), z: gain.z * sin(angle)) * vibrationAmplitude
                + InstantNoise.vector(key: noiseKey, at: instant, sigma: Self.vibrationNoise)
        }
        return (state, acceleration)
    }

    /// Opens the door for `seconds` from the next physics second on, besides the
    /// household's own openings. The hook for door faults (left ajar, not shut) and for
    /// tests that need openings at known times; callers make it at fixed instants so runs
    /// stay reproducible.
    func openDoor(forSeconds seconds: Int) {
        requestedDoorSeconds = seconds
    }

    private func advance(to second: Int64) {
        while stepIndex < second {
            step()
        }
    }

    private func snapshot() -> Snapshot {
        let saturation = RoomClimate.saturationVapourPressure(cabinetTemperature)
        return Snapshot(temperature: cabinetTemperature, humidity: min(100, 100 * vapourPressure / saturation),
                        compressorOn: compressorOn)
    }

    /// One second: heat and vapour move over the second that ends, then the door, the
    /// defrost timer and the thermostat decide what the next second does.
    private func step() {
        let now = start + .seconds(stepIndex)
        let ambient = room.temperature(at: now)
        let air = cabinetTemperature
        // Share of a wide-open door's air exchange through a door left ajar (0: shut).
        let ajar = failures.everStarted ? Self.ajarExchangeShare * failures.severity(.doorOpen, at: now) : 0
        if ajar > 0 { failures.markObservable(.doorOpen, at: now) }
        var heat = Self.wallConductance * (ambient - air) + Self.contentsConductance * (contentsTemperature - air)
        if compressorOn { heat -= Self.coolingPower }
        if doorOpen {
            heat += Self.doorConductance * (ambient - air)
        } else if ajar > 0 {
            heat += ajar * Self.doorConductance * (ambient - air)
        }
        if unansweredCall { heat += Self.fanHeat }
        let release = air < ambient ? doorLoad / Self.doorLoadTau : 0
        doorLoad -= release
        heat += release
        cabinetTemperature += heat / Self.airCapacity
        contentsTemperature += Self.contentsConductance * (air - contentsTemperature) / Self.contentsCapacity

        if doorOpen {
            let kitchen = room.humidity(at: now) / 100 * RoomClimate.saturationVapourPressure(ambient)
            vapourPressure += (kitchen - vapourPressure) * (1 - exp(-1 / Self.doorMixingTau))
        } else {
            let wetness = surfaceHumidity + (defrosting ? Self.defrostHumidityRise : 0)
            let target = wetness * RoomClimate.saturationVapourPressure(contentsTemperature)
            vapourPressure += (target - vapourPressure) / Self.humidityTau
            if ajar > 0 {
                let kitchen = room.humidity(at: now) / 100 * RoomClimate.saturationVapourPressure(ambient)
                vapourPressure += (kitchen - vapourPressure) * (1 - exp(-ajar / Self.doorMixingTau))
            }
        }
        vapourPressure = min(vapourPressure, RoomClimate.saturationVapourPressure(cabinetTemperature))
        if compressorOn { compressorOnSeconds += 1 }

        stepIndex += 1
        let next = start + .seconds(stepIndex)
        operateDoor(at: next)
        operateDefrost()
        operateThermostat(compressorFault: failures.everStarted ? failures.severity(.compressorFailure, at: next) : 0)
        history.record(snapshot(), second: stepIndex)
    }

    private func operateDoor(at instant: Instant) {
        if let requested = requestedDoorSeconds {
            requestedDoorSeconds = nil
            if !doorOpen {
                doorOpen = true
                doorOpenings += 1
                doorLoad += Self.doorLoadJoules
            }
            doorSecondsLeft = max(doorSecondsLeft, requested)
            return
        }
        if doorOpen {
            doorSecondsLeft -= 1
            if doorSecondsLeft <= 0 { doorOpen = false }
            return
        }
        let hour = Int(RoomClimate.epochSecond(instant) % 86_400 / 3600)
        if doors.chance(Self.doorRates[hour] / 3600) {
            doorOpen = true
            doorOpenings += 1
            doorSecondsLeft = doors.nextInt(in: Self.doorSeconds)
            doorLoad += Self.doorLoadJoules
        }
    }

    private func operateDefrost() {
        if defrosting {
            defrostSecondsLeft -= 1
            if defrostSecondsLeft <= 0 {
                defrosting = false
                nextDefrost = stepIndex + Int64(defrosts.nextInt(in: Self.defrostIntervalSeconds))
            }
        } else if stepIndex >= nextDefrost {
            defrosting = true
            defrostSecondsLeft = defrosts.nextInt(in: Self.defrostSeconds)
        }
    }

    /// The thermostat for the next second; `fault` is the compressor-failure severity then.
    private func operateThermostat(compressorFault fault: Double) {
        if compressorOn {
            if defrosting || cabinetTemperature <= setpoint - Self.hysteresis {
                compressorOn = false
                offSeconds = 0
            } else if fault >= 1 {
                // The motor cannot run any more: the overload protector trips it.
                failures.markObservable(.compressorFailure, at: start + .seconds(stepIndex))
                compressorOn = false
                offSeconds = 0
                overloadSeconds = Self.overloadResetSeconds
                unansweredCall = true
            }
        } else {
            offSeconds += 1
            if overloadSeconds > 0 { overloadSeconds -= 1 }
            if !defrosting && cabinetTemperature >= setpoint + Self.hysteresis && offSeconds >= Self.minimumOffSeconds
                && overloadSeconds == 0 {
                if fault > 0 && (fault >= 1 || failureRandom.chance(fault)) {
                    failures.markObservable(.compressorFailure, at: start + .seconds(stepIndex))
                    failedStarts += 1
                    overloadSeconds = Self.overloadResetSeconds
                    unansweredCall = true
                } else {
                    compressorOn = true
                    compressorCycles += 1
                }
            }
        }
        if compressorOn || defrosting || cabinetTemperature <= setpoint - Self.hysteresis || fault == 0 {
            unansweredCall = false
            if fault == 0 { overloadSeconds = 0 }
        }
    }
}
