import HubCore
import HubDrivers

/// The sensor component's timers.
public enum SensorTimer: Equatable, Sendable {
    case poll
    /// Look again at a chip within poll number `poll` (not-ready data or a retried error).
    case retry(device: Int, chip: Int, poll: Int)
}

/// Polls every device's sensor kit, publishes one Reading per device per poll, and keeps
/// each sensor's health.
///
/// A sans-I/O state machine: it says which chip to initialise or sample; the shell runs
/// the driver and hands back the result. Polls run at a fixed rate (the next poll is the
/// previous deadline plus the interval, so jitter never accumulates).
///
/// Within a poll, a chip's error is retried up to `retriesMax` times with exponential
/// backoff from `retryBackoff` (a NACK or a corrupted transfer usually clears at once);
/// a chip that reports a reset is re-initialised at once; data that is not ready is asked
/// for again every `readyRetryDelay`, up to `readyRetriesMax` times. An absent chip, a
/// wrong chip or stuck outputs are not retried within the poll.
///
/// Health per chip, from its last `healthWindow` polls: `failed` after `failedAfter` polls in
/// a row without data; `degraded` while any of those polls gave no data; `ok` otherwise.
/// A poll rescued by a retry counts as good: health says whether data flows, and a bus
/// with the odd NACK still delivers every reading (the errors are in the event log). A failed chip is tried again with backoff across polls (every 2, 4, 8 ...
/// polls, at most every `failedRetryMax`), so a dead sensor does not burn bus time. The
/// device's health (its worst chip's) is published on `hbs/health/sensor` when it changes.
/// A chip that gave no data in a poll is probed and initialised afresh next time, since a
/// chip that vanished may come back reset or replaced. A device whose kit lost some
/// channels still publishes the rest, marked `partial`.
///
/// A kit that polls both the HTS221 and the LPS25H measures temperature twice; a
/// `ThermometerCrossCheck` compares the two, and while they disagree the device is
/// `degraded` with the drift in the detail and its readings are marked `suspect` (values
/// as measured, so nothing is lost; detectors skip them). The LPS25H's temperature itself
/// is never published. A compressor kit (one that derives `duty_cycles`) has only its
/// accelerometer to hear the compressor; a `CompressorVibrationCrossCheck` holds it
/// against the air, and while the air cools as only a running compressor cools it with
/// the accelerometer reading rest, the device is `degraded` and its readings `suspect` in
/// the same way.
public struct SensorComponent {
    public enum Event: Sendable {
        case start
        case timer(SensorTimer)
        case initialised(device: Int, chip: Int, Result<String, DriverError>)
        case sampled(device: Int, chip: Int, Result<ChannelValues?, DriverError>)
    }

    public enum Action: Equatable, Sendable {
        case initialise(device: Int, chip: Int)
        case sample(device: Int, chip: Int)
        /// Publish a reading of device number `device`.
        case publish(device: Int, Reading)
        case publishHealth(HealthReport)
        case schedule(SensorTimer, at: Instant)
        case record(HistoryEvent)
    }

    public struct Device: Sendable {
        public var id: DeviceID
        public var chips: [String]
        /// Derive `duty_cycles` from the vibration channel (fridge kits).
        public var derivesDutyCycle: Bool

        public init(id: DeviceID, chips: [String], derivesDutyCycle: Bool = false) {
            self.id = id
            self.chips = chips
            self.derivesDutyCycle = derivesDutyCycle
        }
    }

    private enum Outcome { case clean, recovered, failed }

    private struct Chip {
        var initialised = false
        var errorRetries = 0
        var readyChecks = 0
        var outcomes: [Outcome] = []
        var failedStreak = 0
        var health = HealthState.ok
        var backoffExponent = 0
        var nextAttemptPoll = 0
        var lastError: String?

        /// Counts one poll's outcome into the health window and the state it gives (see
        /// the type's notes on health); a failed chip waits `retryCap` polls at most.
        mutating func record(gotData: Bool, detail: String?, window: Int, failedAfter: Int, poll: Int, retryCap: Int) {
            let outcome: Outcome = !gotData ? .failed : (errorRetries > 0 ? .recovered : .clean)
            outcomes.append(outcome)
            if outcomes.count > window { outcomes.removeFirst() }
            failedStreak = gotData ? 0 : failedStreak + 1
            if let detail { lastError = detail }
            if failedStreak >= failedAfter {
                health = .failed
                nextAttemptPoll = poll + min(1 << min(backoffExponent, 20), retryCap)
                backoffExponent += 1
            } else {
                health = outcomes.contains(.failed) ? .degraded : .ok
                backoffExponent = 0
            }
        }
    }

    private struct Round {
        var values = ChannelValues()
        var pending: [Bool]
        var missing = false
        var active = false

        /// A new poll's round: every chip pending. `pending` is reset in place, not made
        /// anew each poll.
        mutating func begin() {
            values = ChannelValues()
            for chip in pending.indices { pending[chip] = true }
            missing = false
            active = true
        }
    }

    public let devices: [Device]
    public let pollInterval: Duration
    /// Subtracted from the HTS221's and the LPS25H's temperatures (`HubConfig.selfHeating`).
    public let selfHeating: SelfHeating
    public let readyRetryDelay: Duration
    public let readyRetriesMax: Int
    public let retryBackoff: Duration = .milliseconds(5)
    public let retriesMax = 3
    public let healthWindow = 30
    public let failedAfter = 3
    public let failedRetryMax: Duration = .seconds(300)
    private var chips: [[Chip]]
    private var rounds: [Round]
    private var dutyCycles: [DutyCycleEstimator?]
    private var crossChecks: [ThermometerCrossCheck?]
    private var compressorChecks: [CompressorVibrationCrossCheck?]
    /// `dt/local/sensor/<device>` per device, built once: a hub publishes on them all day.
    private let readingTopics: [Topic]
    private var deviceHealth: [HealthState]
    /// Which cross-check verdicts the last health report named, so their end is reported
    /// even when a failed chip keeps the state where it was.
    private var reportedVerdicts: [CrossCheckVerdicts]
    private var nextPoll: Instant?
    private var pollIndex = 0
    /// The chips of every device together.
    private let chipCount: Int

    public init(devices: [Device], pollInterval: Duration, selfHeating: SelfHeating = .none,
                readyRetryDelay: Duration = .milliseconds(20), readyRetriesMax: Int = 10,
                crossCheck: ThermometerCrossCheck.Settings = .production,
                compressorCheck: CompressorVibrationCrossCheck.Settings = .production) {
        self.devices = devices
        self.pollInterval = pollInterval
        self.selfHeating = selfHeating
        self.readyRetryDelay = readyRetryDelay
        self.readyRetriesMax = readyRetriesMax
        chips = devices.map { Array(repeating: Chip(), count: $0.chips.count) }
        rounds = devices.map { Round(pending: Array(repeating: false, count: $0.chips.count)) }
        deviceHealth = devices.map { _ in .ok }
        reportedVerdicts = devices.map { _ in CrossCheckVerdicts() }
        dutyCycles = devices.map { $0.derivesDutyCycle ? DutyCycleEstimator(window: .seconds(3600), pollInterval: pollInterval) : nil }
        readingTopics = devices.map { Topic.sensorReading($0.id) }
        chipCount = devices.reduce(0) { $0 + $1.chips.count }
        crossChecks = devices.map { device in
            device.chips.contains("HTS221") && device.chips.contains("LPS25H")
                ? ThermometerCrossCheck(pollInterval: pollInterval, settings: crossCheck) : nil
        }
        compressorChecks = devices.map {
            $0.derivesDutyCycle ? CompressorVibrationCrossCheck(pollInterval: pollInterval, settings: compressorCheck) : nil
        }
    }

    /// The current health of a device's kit (its worst chip).
    public func health(of device: Int) -> HealthState { deviceHealth[device] }

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .start:
            nextPoll = now
            return [.schedule(.poll, at: now)]
        case .timer(.poll):
            return poll(now: now)
        case .timer(.retry(let device, let chip, let poll)):
            guard poll == pollIndex, rounds[device].active, rounds[device].pending[chip] else { return [] }
            return [chips[device][chip].initialised ? .sample(device: device, chip: chip) : .initialise(device: device, chip: chip)]
        case .initialised(let device, let chip, .success(let detail)):
            chips[device][chip].initialised = true
            return [.record(.sensorReady(device: devices[device].id, chip: devices[device].chips[chip], detail: detail)),
                    .sample(device: device, chip: chip)]
        case .initialised(let device, let chip, .failure(let error)):
            chips[device][chip].initialised = false
            return failure(error, device: device, chip: chip, now: now)
        case .sampled(let device, let chip, .failure(let error)):
            if case .chipReset = error { chips[device][chip].initialised = false }
            return failure(error, device: device, chip: chip, now: now)
        case .sampled(let device, let chip, .success(nil)):
            guard rounds[device].active, rounds[device].pending[chip] else { return [] }
            if chips[device][chip].readyChecks < readyRetriesMax {
                chips[device][chip].readyChecks += 1
                return [.schedule(.retry(device: device, chip: chip, poll: pollIndex), at: now + readyRetryDelay)]
            }
            return [.record(.sensorError(device: devices[device].id, chip: devices[device].chips[chip],
                                         error: "data not ready after \(readyRetriesMax) retries"))]
                + finishChip(device: device, chip: chip, gotData: false, detail: "data not ready", now: now)
        case .sampled(let device, let chip, .success(let values?)):
            guard rounds[device].active, rounds[device].pending[chip] else { return [] }
            for (channel, value) in values { rounds[device].values[channel] = channel.rounded(value) }
            return finishChip(device: device, chip: chip, gotData: true, detail: nil, now: now)
        }
    }

    private mutating func failure(_ error: DriverError, device: Int, chip: Int, now: Instant) -> [Action] {
        guard rounds[device].active, rounds[device].pending[chip] else { return [] }
        var actions: [Action] = [.record(.sensorError(device: devices[device].id, chip: devices[device].chips[chip],
                                                      error: error.description))]
        let retryable: Bool
        switch error {
        case .absent, .wrongDevice, .invalidCalibration, .stuck: retryable = false
        case .bus, .verifyMismatch, .implausible, .notInitialised, .chipReset: retryable = true
        }
        if retryable, chips[device][chip].errorRetries < retriesMax {
            let attempt = chips[device][chip].errorRetries
            chips[device][chip].errorRetries += 1
            if case .chipReset = error {
                actions.append(.initialise(device: device, chip: chip))
            } else {
                let delay = retryBackoff * (1 << attempt)
                actions.append(.schedule(.retry(device: device, chip: chip, poll: pollIndex), at: now + delay))
            }
            return actions
        }
        return actions + finishChip(device: device, chip: chip, gotData: false, detail: error.description, now: now)
    }

    private mutating func poll(now: Instant) -> [Action] {
        var deadline = (nextPoll ?? now) + pollInterval
        while deadline <= now { deadline = deadline + pollInterval }
        nextPoll = deadline
        // Room for the timer and one request per chip at once: grown from one element, the
        // array was reallocated two or three times every poll.
        var actions: [Action] = []
        actions.reserveCapacity(1 + chipCount)
        actions.append(.schedule(.poll, at: deadline))
        // A round still waiting on a slow chip ends now: what it has is published.
        for device in devices.indices where rounds[device].active {
            for chip in devices[device].chips.indices where rounds[device].pending[chip] {
                actions += finishChip(device: device, chip: chip, gotData: false, detail: "no answer within the poll", now: now)
            }
        }
        pollIndex += 1
        for device in devices.indices {
            let count = devices[device].chips.count
            rounds[device].begin()
            var skipped: [Int] = []
            for chip in 0..<count {
                chips[device][chip].errorRetries = 0
                chips[device][chip].readyChecks = 0
                if chips[device][chip].health == .failed, pollIndex < chips[device][chip].nextAttemptPoll {
                    skipped.append(chip)
                    continue
                }
                actions.append(chips[device][chip].initialised
                    ? .sample(device: device, chip: chip) : .initialise(device: device, chip: chip))
            }
            for chip in skipped {
                rounds[device].pending[chip] = false
                rounds[device].missing = true
            }
            if skipped.count == count { rounds[device].active = false }
        }
        return actions
    }

    private mutating func finishChip(device: Int, chip: Int, gotData: Bool, detail: String?, now: Instant) -> [Action] {
        guard rounds[device].active, rounds[device].pending[chip] else { return [] }
        rounds[device].pending[chip] = false
        if !gotData {
            rounds[device].missing = true
            // Probe WHO_AM_I again next time: a chip that vanished may come back reset, or replaced.
            chips[device][chip].initialised = false
        }
        var actions = updateHealth(device: device, chip: chip, gotData: gotData, detail: detail, now: now)
        guard !rounds[device].pending.contains(true) else { return actions }
        rounds[device].active = false
        var values = rounds[device].values
        // The Pi's warmth comes off before anything looks at a temperature.
        // (Rounded again, so a reading carries its channel's decimals and nothing of the subtraction.)
        if let temperature = values[.temperature] { values[.temperature] = Channel.temperature.rounded(temperature - selfHeating.hts221) }
        if let reference = values[.referenceTemperature] {
            values[.referenceTemperature] = Channel.referenceTemperature.rounded(reference - selfHeating.lps25h)
        }
        if let reference = values[.referenceTemperature] {
            values[.referenceTemperature] = nil
            if let temperature = values[.temperature], crossChecks[device]?.add(primary: temperature, reference: reference) != nil {
                actions += reportHealth(device: device, now: now)
            }
        }
        guard !values.isEmpty else { return actions }
        if let vibration = values[.vibration], dutyCycles[device] != nil,
           let duty = dutyCycles[device]?.add(vibration: vibration) {
            values[.dutyCycles] = Channel.dutyCycles.rounded(duty)
        }
        if let vibration = values[.vibration], let temperature = values[.temperature],
           compressorChecks[device]?.add(temperature: temperature, vibration: vibration) != nil {
            actions += reportHealth(device: device, now: now)
        }
        let quality: ReadingQuality = verdicts(device).any ? .suspect : rounds[device].missing ? .partial : .good
        actions.append(.publish(device: device, Reading(timestamp: now, device: devices[device].id, values: values, quality: quality)))
        return actions
    }

    private mutating func updateHealth(device: Int, chip: Int, gotData: Bool, detail: String?, now: Instant) -> [Action] {
        // In place: a copy of the chip taken out and stored back would share its `outcomes`
        // with the original, so every poll's append would copy the array.
        let cap = max(1, Int(failedRetryMax.nanoseconds / pollInterval.nanoseconds))
        chips[device][chip].record(gotData: gotData, detail: detail, window: healthWindow, failedAfter: failedAfter,
                                   poll: pollIndex, retryCap: cap)
        return reportHealth(device: device, now: now)
    }

    /// Publishes the device's health (its worst chip's, degraded while a cross-check holds:
    /// the thermometers disagree, or the compressor is unheard) when it changed, or when a
    /// cross-check's verdict changed the detail.
    private mutating func reportHealth(device: Int, now: Instant) -> [Action] {
        let verdicts = verdicts(device)
        var worst = verdicts.any ? HealthState.degraded : .ok
        for chip in chips[device] where chip.health > worst { worst = chip.health }
        // Every chip of every poll comes through here; the detail is worded only for a change.
        guard worst != deviceHealth[device] || verdicts != reportedVerdicts[device] else { return [] }
        var problems = zip(devices[device].chips, chips[device]).filter { $0.1.health != .ok }
            .map { "\($0.0) \($0.1.health.rawValue): \($0.1.lastError ?? "recent retries")" }
        if verdicts.drifting, let check = crossChecks[device] { problems.append(check.detail) }
        if verdicts.compressorUnheard, let check = compressorChecks[device] { problems.append(check.detail) }
        let detailText = problems.isEmpty ? "all sensors ok" : problems.joined(separator: "; ")
        deviceHealth[device] = worst
        reportedVerdicts[device] = verdicts
        return [.publishHealth(HealthReport(timestamp: now, component: "sensor", device: devices[device].id,
                                            state: worst, detail: detailText))]
    }
}

/// What a device's cross-checks say of its sensors (each true while its check holds).
struct CrossCheckVerdicts: Equatable {
    var drifting = false
    var compressorUnheard = false
    var any: Bool { drifting || compressorUnheard }
}

extension SensorComponent {
    fileprivate func verdicts(_ device: Int) -> CrossCheckVerdicts {
        CrossCheckVerdicts(drifting: crossChecks[device]?.isDrifting == true,
                           compressorUnheard: compressorChecks[device]?.isSuspect == true)
    }
}

extension SensorComponent: HubComponent {
    public var name: String { "sensor" }
    public var subscriptions: [TopicFilter] { [] }
    public var publications: [TopicFilter] { ["dt/local/sensor/+", "hbs/health/sensor"] }

    public mutating func handle(_ event: ComponentEvent<SensorTimer>, now: Instant) -> [ComponentAction<SensorTimer>] {
        let actions: [Action]
        switch event {
        case .start: actions = handle(.start, now: now)
        case .timer(let timer): actions = handle(.timer(timer), now: now)
        case .completion(.sensorInitialised(let device, let chip, let result)):
            actions = handle(.initialised(device: device, chip: chip, result), now: now)
        case .completion(.sensorSampled(let device, let chip, let result)):
            actions = handle(.sampled(device: device, chip: chip, result), now: now)
        case .message, .completion, .input, .command: return []
        }
        return actions.map { action in
            switch action {
            case .initialise(let device, let chip): .request(.initialiseSensor(device: device, chip: chip))
            case .sample(let device, let chip): .request(.sampleSensor(device: device, chip: chip))
            case .publish(let device, let reading): .publish(readingTopics[device], .reading(reading))
            case .publishHealth(let report): .publish(.health("sensor"), .health(report))
            case .schedule(let timer, let at): .schedule(timer, at: at)
            case .record(let event): .record(event)
            }
        }
    }
}
