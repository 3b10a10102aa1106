import HubCore
import HubDrivers
import HubKernel

extension SensorComponent {
    /// Test driver: runs `polls` polls 10 s apart from `start`, every chip initialising at
    /// once and sampling `sample(poll, chip)`; returns what the component published.
    mutating func drivePolls(_ polls: Int, from start: Instant,
                             sample: (_ poll: Int, _ chip: Int) -> ChannelValues) -> (readings: [Reading], health: [HealthReport]) {
        var readings: [Reading] = []
        var health: [HealthReport] = []
        _ = handle(SensorComponent.Event.start, now: start)
        for poll in 0..<polls {
            let now = start + .seconds(Int64(10 * poll))
            var queue = handle(.timer(.poll), now: now)
            while !queue.isEmpty {
                switch queue.removeFirst() {
                case .initialise(let d, let c):
                    queue += handle(.initialised(device: d, chip: c, .success("ok")), now: now)
                case .sample(let d, let c):
                    queue += handle(.sampled(device: d, chip: c, .success(sample(poll, c))), now: now)
                case .publish(_, let reading): readings.append(reading)
                case .publishHealth(let report): health.append(report)
                default: break
                }
            }
        }
        return (readings, health)
    }
}
