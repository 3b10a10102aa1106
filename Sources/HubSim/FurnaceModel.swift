import Foundation
import HubCore

// Physics of a gas forced-air furnace with the Sense HAT kit in the supply-air plenum.
// Figures from reference/appliances.md ("Gas forced-air furnace"); where it gives a range
// the unit draws its own value from the seed.
//
// - House air node: dT/dt = gain·flame − loss·(T − T_outdoor). loss = 0.15 /h gives
//   ≈3 °C/h cooling at a 20 K difference (the air near the thermostat, faster than the
//   1–2 °C/h of the whole building); gain = 6 °C/h. With a 0.5 °C differential that is
//   ~10 min on / ~10 min off at 50 % load: the 3 CPH a thermostat maker rates.
// - Thermostat: setpoint 20.5–21.5 °C, differential 0.5 °C, minimum on-time 4 min.
// - Ignition: 15 s pre-purge, 17 s igniter warm-up, flame; blower on 30 s after gas,
//   off 60–180 s (drawn) after the flame goes out.
// - Supply air: approaches return + rise with τ = 45 s while flame and blower run. The
//   rise is drawn in 20–38 K: inside the nameplate bands of 35–65 °F and 40–70 °F
//   (19.4–36.1 K, 22.2–38.9 K), where an installer sets the blower speed (MFR, TRADE); falls back to the room with
//   τ = 60 s on blower only, τ = 600 s in still air. The high limit (71 °C) is not reached
//   on a normal day; it matters once failures arrive.
// - Humidity: the room's vapour pressure (35 ± 3 %RH at room temperature, a slow daily
//   swing) seen at supply temperature, so RH falls as the air heats (Magnus formula).
// - Pressure: the house's (HouseWeather).
//
// Failures (ApplianceFailure; severity s in 0...1, see ApplianceFailure.swift):
//
// - High-limit switch (MFR, TRADE): in the supply plenum beside the kit; opens at 71 °C,
//   closes at 54 °C. Open, it shuts the gas and runs the blower; once closed, a call still
//   standing relights through the full ignition sequence. Lockout (MFR): the limit open
//   longer than 3 min, or 10 successive trips in one heating call, locks the burner out
//   for 3 h, then the control resets itself. A normal furnace never gets there: its supply
//   air tends to at most room + 38 K (< 61 °C), and the 30 s soak before the blower starts
//   stays below 60 °C, so the switch is modelled always and only failures reach it.
// - `blocked-filter`: airflow a = 1 − (2/3)·s of normal (a third at s = 1; TRADE: "airflow
//   falls"). With the heat input fixed, the supply rise goes as 1/a (MFR, TRADE: "rise ∝ 1 /
//   airflow") and so does the plenum's time constant (the exchanger's heat capacity over
//   the air's mass flow): flame and blower tend to room + rise/a with τ = 45 s/a, blower
//   only back to the room with τ = 60 s/a. At s = 1 the rise is 60–114 K, so the supply
//   passes 71 °C 1.3–4 min after the blower starts (TRADE: a blocked return trips the
//   limit in ~4 min; a third of the airflow is a badly clogged filter) and the burner
//   short-cycles on the limit: 0.5–2.3 min of flame, 65–75 s for the limit to close, 32 s
//   to relight. A starved exchanger runs hot and loses more up the flue and through the
//   casing: the room gets 6 °C/h·(1 − 0.2·s) while the flame burns (no source; chosen),
//   so calls stretch. The limit starts tripping once room + rise/a passes 71 °C, at
//   s = 1.5·(1 − rise/(71 − room)): from s ≈ 0.36 for a 38 K unit to s ≈ 0.9 for a 20 K
//   one. Just past that point a call trips
//   7–9 times and can still satisfy the thermostat (TRADE: 8–10 trips per call); at s = 1,
//   with the flame on about a quarter of the time, the heat cannot keep up with a winter
//   day, so every call reaches its tenth trip and locks out, and the room cools through
//   each 3 h lockout.
// - `igniter-failure`: s is the chance that an ignition trial fails. A failed trial: the
//   17 s igniter warm-up, a 6 s trial for ignition with no flame proved (MFR: flame proved
//   in 5–7 s), a 30 s purge (MFR), the next trial. The unit's control allows 4 or 5 trials
//   per call (drawn per unit; MFR 4–5), then locks out for 1–3 h (drawn per lockout; MFR)
//   and retries while the call stands. No flame means the blower never starts: the supply
//   air sinks to the room's temperature and the room cools toward outdoors. At s = 1
//   there is no heat at all.
// - Building fabric (MEAS, TRADE: an unheated room cools about 1–2 °C/h in winter): the
//   single air node above cools ≈3 °C/h, right for the ten-minute off-periods of normal
//   cycling while walls and furniture sit at the air's mean, but too fast for hours
//   without heat. So the model carries a fabric node, 1.5 times the air node's capacity,
//   exchanging 2 /h with the air (no source; derived so the pair cools 1.3–1.9 °C/h at
//   the drawn winter days' 20–30 K difference, after the air first drops about 1 K
//   below the fabric in ~20 min). The fabric always follows the air; its heat flows back
//   into the air only while the burner is locked out, which no normal day reaches, so a
//   furnace without failures is exactly the single-node model.
// - Observable (for evaluation's delays; FailureInjectable.observability): a blocked filter
//   from the first second the burner and blower run together after onset (the airflow only
//   shows in the supply air while air moves over a lit exchanger); an igniter failure from
//   the first ignition trial after onset (the first call for heat: a flame already lit
//   keeps burning until the call ends).
// - Repair: when no failure is active any more, a lockout is cleared at once (the
//   service call resets the control).
//
// Fixed 1-second steps from the start of the run: the state at an instant never depends
// on how often chips look.

/// A furnace and the room it heats, as seen by a kit in the supply plenum.
///
/// The thermostat, ignition sequence, blower and high-limit switch run as the control
/// board would; failures (a blocked filter, a dead igniter) distort that sequence the way
/// they do on a real furnace, which is what the hub's furnace monitoring has to notice.
public final class FurnaceModel: SensorEnvironmentSource, FailureInjectable, ScheduledFailures {
    /// What the burner control is doing.
    public enum Phase: String, Sendable {
        case idle
        case prePurge
        case ignition
        case heating
        case blowerOff
        /// The high limit is open: gas off, blower running (failures only).
        case limitOpen
        /// Purging between ignition trials after one failed to prove flame (failures only).
        case retryPurge
        /// Locked out after repeated limit trips or failed ignitions (failures only).
        case lockout
    }

    private let weather: HouseWeather
    private let start: Instant
    private var stepIndex: Int64 = 0
    private var random: SeededRandom
    private var failureRandom: SeededRandom
    var failures = FailureSchedule(kind: .furnace)

    // Unit constants.
    let setpoint: Double
    let differential = 0.5
    let rise: Double
    let blowerOffDelay: Double
    /// Ignition trials this unit's control allows per call (4 or 5).
    let ignitionTrials: Int
    static let gainPerHour = 6.0
    static let lossPerHour = 0.15
    static let minimumOnSeconds = 240.0
    static let prePurgeSeconds = 15.0
    static let ignitionSeconds = 17.0
    static let blowerDelaySeconds = 30.0
    // Failure figures (see the header).
    /// The high-limit switch opens at this supply temperature, °C.
    public static let limitOpenTemperature = 71.0
    /// The high-limit switch closes again at this supply temperature, °C.
    public static let limitCloseTemperature = 54.0
    static let limitOpenLockoutSeconds = 180.0
    static let limitTripsLockout = 10
    static let limitLockoutSeconds = 3.0 * 3600
    static let trialForIgnitionSeconds = 6.0
    static let retryPurgeSeconds = 30.0
    static let igniterLockoutSeconds = (1.0 * 3600)...(3.0 * 3600)
    static let blockedAirflowLoss = 2.0 / 3
    static let blockedEfficiencyLoss = 0.2
    static let fabricCouplingPerHour = 2.0
    static let fabricCapacityRatio = 1.5

    // State.
    public private(set) var phase: Phase = .idle
    private var phaseSeconds = 0.0
    public private(set) var roomTemperature: Double
    public private(set) var supplyTemperature: Double
    public private(set) var flameOn = false
    public private(set) var blowerOn = false
    /// Completed burner cycles since the start (a flame that went out counts one).
    public private(set) var burnerCycles = 0
    /// Times the high-limit switch opened since the start of the run.
    public private(set) var limitTrips = 0
    /// Whether the high-limit switch is open now.
    public private(set) var limitOpen = false
    /// Ignition trials that failed to prove flame since the start of the run.
    public private(set) var failedIgnitions = 0
    /// Lockouts since the start of the run.
    public private(set) var lockouts = 0
    /// Whether the control is locked out now (no heat until it resets or is repaired).
    public var lockedOut: Bool { phase == .lockout }
    /// Temperature of the house's walls and furniture, °C (see the header).
    public private(set) var fabricTemperature: Double
    private let humidityPhase: Double
    private var trialsThisCall = 0
    private var tripsThisCall = 0
    private var trialFailing = false
    private var lockoutSeconds = 0.0
    private var blowerRunOnSeconds = 0.0

    public init(weather: HouseWeather, start: Instant, random: SeededRandom) {
        self.weather = weather
        self.start = start
        var random = random
        setpoint = random.nextDouble(in: 20.5...21.5)
        rise = random.nextDouble(in: 20...38)
        blowerOffDelay = random.nextDouble(in: 60...180)
        roomTemperature = setpoint + random.nextDouble(in: -0.25...0.25)
        supplyTemperature = roomTemperature
        fabricTemperature = roomTemperature
        humidityPhase = random.nextDouble(in: 0...(2 * Double.pi))
        // Taken after every draw above, so a unit without failures is the unit it always was.
        failureRandom = random.split("failures")
        ignitionTrials = failureRandom.nextInt(in: 4...5)
        self.random = random
    }

    public func environment(at instant: Instant) -> SensorEnvironment {
        advance(to: instant)
        let vapour = roomHumidity(at: instant) / 100 * Self.saturationVapourPressure(roomTemperature)
        let rh = min(100, 100 * vapour / Self.saturationVapourPressure(supplyTemperature))
        return SensorEnvironment(temperature: supplyTemperature, humidity: rh, pressure: weather.pressure(at: instant))
    }

    /// Room relative humidity: 35 %RH with a ±3 %RH daily swing.
    private func roomHumidity(at instant: Instant) -> Double {
        let hours = Double((instant.nanosecondsSinceEpoch / 1_000_000_000) % 86_400) / 3600
        return 35 + 3 * sin(2 * Double.pi * hours / 24 + humidityPhase)
    }

    /// Magnus formula over water, hPa.
    static func saturationVapourPressure(_ celsius: Double) -> Double {
        6.112 * exp(17.62 * celsius / (243.12 + celsius))
    }

    private func advance(to instant: Instant) {
        let target = (instant.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch) / 1_000_000_000
        while stepIndex < target {
            step(at: start + .seconds(stepIndex))
            stepIndex += 1
        }
    }

    private func step(at instant: Instant) {
        let dt = 1.0
        let filter = failures.everStarted ? failures.severity(.blockedFilter, at: instant) : 0
        let igniter = failures.everStarted ? failures.severity(.igniterFailure, at: instant) : 0
        phaseSeconds += dt
        if filter > 0 && flameOn && blowerOn { failures.markObservable(.blockedFilter, at: instant) }
        if igniter > 0 && phase == .ignition { failures.markObservable(.igniterFailure, at: instant) }
        if limitOpen && supplyTemperature <= Self.limitCloseTemperature { limitOpen = false }
        let callForHeat: Bool
        switch phase {
        case .idle, .blowerOff:
            callForHeat = roomTemperature < setpoint - differential / 2
        case .prePurge, .ignition, .heating, .limitOpen, .retryPurge:
            callForHeat = roomTemperature < setpoint + differential / 2
                || (phase == .heating && phaseSeconds < Self.minimumOnSeconds)
        case .lockout:
            callForHeat = false
        }
        switch phase {
        case .idle:
            if callForHeat { enter(.prePurge) }
        case .prePurge:
            if phaseSeconds >= Self.prePurgeSeconds { enter(.ignition) }
        case .ignition:
            if trialFailing {
                if phaseSeconds >= Self.ignitionSeconds + Self.trialForIgnitionSeconds { failTrial() }
            } else if phaseSeconds >= Self.ignitionSeconds {
                if igniterFails(igniter) {
                    trialFailing = true
                } else {
                    enter(.heating); flameOn = true
                    trialsThisCall = 0
                }
            }
        case .heating:
            if supplyTemperature >= Self.limitOpenTemperature {
                tripLimit()
                break
            }
            if phaseSeconds >= Self.blowerDelaySeconds { blowerOn = true }
            if !callForHeat {
                flameOn = false
                burnerCycles += 1
                tripsThisCall = 0
                enter(.blowerOff)
            }
        case .blowerOff:
            if callForHeat {
                enter(.prePurge)
            } else if phaseSeconds >= blowerOffDelay {
                blowerOn = false
                enter(.idle)
            }
        case .limitOpen:
            if !limitOpen {
                if callForHeat { enter(.prePurge) } else { endCall() }
            } else if phaseSeconds > Self.limitOpenLockoutSeconds {
                lockOut(seconds: Self.limitLockoutSeconds)
            }
        case .retryPurge:
            if !callForHeat {
                endCall()
            } else if phaseSeconds >= Self.retryPurgeSeconds {
                enter(.ignition)
            }
        case .lockout:
            if blowerOn {
                blowerRunOnSeconds = limitOpen ? 0 : blowerRunOnSeconds + dt
                if blowerRunOnSeconds >= blowerOffDelay { blowerOn = false }
            }
            if phaseSeconds >= lockoutSeconds || (filter == 0 && igniter == 0) {
                endCall()
            }
        }
        let outdoor = weather.outdoorTemperature(at: instant)
        let heating = flameOn ? (filter > 0 ? Self.gainPerHour * (1 - Self.blockedEfficiencyLoss * filter) : Self.gainPerHour) : 0
        let room = roomTemperature
        if phase == .lockout {
            let fabric = Self.fabricCouplingPerHour * (fabricTemperature - room)
            roomTemperature += (heating - Self.lossPerHour * (room - outdoor) + fabric) * dt / 3600
        } else {
            roomTemperature += (heating - Self.lossPerHour * (room - outdoor)) * dt / 3600
        }
        fabricTemperature += Self.fabricCouplingPerHour / Self.fabricCapacityRatio * (room - fabricTemperature) * dt / 3600
        // Share of the normal airflow: exactly 1 without a blocked filter.
        let airflow = 1 - Self.blockedAirflowLoss * filter
        let target: Double
        let tau: Double
        if flameOn && blowerOn {
            target = roomTemperature + rise / airflow; tau = 45 / airflow
        } else if flameOn {
            target = roomTemperature + rise * 1.3; tau = 90  // heat exchanger soaking before the blower starts
        } else if blowerOn {
            target = roomTemperature; tau = 60 / airflow
        } else {
            target = roomTemperature; tau = 600
        }
        supplyTemperature += (target - supplyTemperature) * dt / tau
    }

    /// Whether the ignition trial now ending fails to prove flame, at igniter severity `severity`.
    private func igniterFails(_ severity: Double) -> Bool {
        guard severity > 0 else { return false }
        return severity >= 1 || failureRandom.chance(severity)
    }

    /// A trial ended without flame: purge and try again, or lock out after the last one.
    private func failTrial() {
        trialFailing = false
        failedIgnitions += 1
        trialsThisCall += 1
        if trialsThisCall >= ignitionTrials {
            lockOut(seconds: failureRandom.nextDouble(in: Self.igniterLockoutSeconds))
        } else {
            enter(.retryPurge)
        }
    }

    /// The high limit opens: the gas shuts, the blower runs (it may not have started yet).
    private func tripLimit() {
        flameOn = false
        blowerOn = true
        limitOpen = true
        burnerCycles += 1
        limitTrips += 1
        tripsThisCall += 1
        if tripsThisCall >= Self.limitTripsLockout {
            lockOut(seconds: Self.limitLockoutSeconds)
        } else {
            enter(.limitOpen)
        }
    }

    private func lockOut(seconds: Double) {
        flameOn = false
        trialFailing = false
        lockouts += 1
        lockoutSeconds = seconds
        blowerRunOnSeconds = 0
        enter(.lockout)
    }

    /// The call is over (satisfied, or the control reset): counters clear, the blower runs on if it was running.
    private func endCall() {
        trialsThisCall = 0
        tripsThisCall = 0
        trialFailing = false
        enter(blowerOn ? .blowerOff : .idle)
    }

    private func enter(_ next: Phase) {
        phase = next
        phaseSeconds = 0
    }
}
