import HubCore
import HubDrivers

/// The sensor component's timers.
public enum SensorTimer: Equatable, Sendable {
    case poll
    /// Look again at a chip whose data-ready bits were not set.
    case retry(device: Int, chip: Int)
}

/// Polls every device's sensor kit and publishes one Reading per device per poll.
///
/// A sans-I/O state machine: it says which chip to initialise or sample and the shell
/// runs the driver and hands back the result. Polls run at a fixed rate (the next poll is
/// the previous deadline plus the interval, so jitter never accumulates). A chip whose data
/// is not ready is asked again after `readyRetryDelay`, at most `readyRetriesMax` times;
/// a chip that fails is re-initialised on the next poll, which also recovers a chip that
/// reset itself. A device whose every chip failed this round publishes nothing.
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
        case publish(Reading)
        case schedule(SensorTimer, at: Instant)
        case record(HistoryEvent)
    }

    public struct Device: Sendable {
        public var id: DeviceID
        public var chips: [String]

        public init(id: DeviceID, chips: [String]) {
            self.id = id
            self.chips = chips
        }
    }

    private enum ChipState { case uninitialised, ready }

    private struct Round {
        var values = ChannelValues()
        var pending: [Bool]
        var retries: [Int]
        var active = false
    }

    public let devices: [Device]
    public let pollInterval: Duration
    public let readyRetryDelay: Duration
    public let readyRetriesMax: Int
    private var chipStates: [[ChipState]]
    private var rounds: [Round]
    private var nextPoll: Instant?

    public init(devices: [Device], pollInterval: Duration,
                readyRetryDelay: Duration = .milliseconds(20), readyRetriesMax: Int = 10) {
        self.devices = devices
        self.pollInterval = pollInterval
        self.readyRetryDelay = readyRetryDelay
        self.readyRetriesMax = readyRetriesMax
        chipStates = devices.map { Array(repeating: .uninitialised, count: $0.chips.count) }
        rounds = devices.map { Round(pending: Array(repeating: false, count: $0.chips.count),
                                     retries: Array(repeating: 0, count: $0.chips.count)) }
    }

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .start:
            nextPoll = now
            return [.schedule(.poll, at: now)]
        case .timer(.poll):
            return poll(now: now)
        case .timer(.retry(let device, let chip)):
            guard rounds[device].active, rounds[device].pending[chip] else { return [] }
            return [.sample(device: device, chip: chip)]
        case .initialised(let device, let chip, .success(let detail)):
            chipStates[device][chip] = .ready
            return [.record(.sensorReady(device: devices[device].id, chip: devices[device].chips[chip], detail: detail)),
                    .sample(device: device, chip: chip)]
        case .initialised(let device, let chip, .failure(let error)),
             .sampled(let device, let chip, .failure(let error)):
            chipStates[device][chip] = .uninitialised
            var actions: [Action] = [.record(.sensorError(device: devices[device].id, chip: devices[device].chips[chip],
                                                          error: error.description))]
            actions += finishChip(device: device, chip: chip, now: now)
            return actions
        case .sampled(let device, let chip, .success(nil)):
            if rounds[device].retries[chip] < readyRetriesMax {
                rounds[device].retries[chip] += 1
                return [.schedule(.retry(device: device, chip: chip), at: now + readyRetryDelay)]
            }
            return [.record(.sensorError(device: devices[device].id, chip: devices[device].chips[chip],
                                         error: "data not ready after \(readyRetriesMax) retries"))]
                + finishChip(device: device, chip: chip, now: now)
        case .sampled(let device, let chip, .success(let values?)):
            for (channel, value) in values { rounds[device].values[channel] = channel.rounded(value) }
            return finishChip(device: device, chip: chip, now: now)
        }
    }

    private mutating func poll(now: Instant) -> [Action] {
        var deadline = (nextPoll ?? now) + pollInterval
        while deadline <= now { deadline = deadline + pollInterval }
        nextPoll = deadline
        var actions: [Action] = [.schedule(.poll, at: deadline)]
        for device in devices.indices {
            // A round still waiting on a slow chip is abandoned: the new poll supersedes it.
            let count = devices[device].chips.count
            rounds[device] = Round(pending: Array(repeating: true, count: count),
                                   retries: Array(repeating: 0, count: count), active: true)
            for chip in 0..<count {
                actions.append(chipStates[device][chip] == .ready
                    ? .sample(device: device, chip: chip) : .initialise(device: device, chip: chip))
            }
        }
        return actions
    }

    private mutating func finishChip(device: Int, chip: Int, now: Instant) -> [Action] {
        guard rounds[device].active, rounds[device].pending[chip] else { return [] }
        rounds[device].pending[chip] = false
        guard !rounds[device].pending.contains(true) else { return [] }
        rounds[device].active = false
        let values = rounds[device].values
        guard !values.isEmpty else { return [] }
        return [.publish(Reading(timestamp: now, device: devices[device].id, values: values))]
    }
}
