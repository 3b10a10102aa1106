import HubCore

/// Proves the hub stayed inside its resource budget (PERF 7) from its `hub.resources`
/// samples: the largest state-disk figure, the largest resident-memory peak, and the CPU
/// share of the last sample (measured over the whole life of the hub process, so start-up
/// does not dominate). There must be samples, and for each limit a sample that measured
/// it: a budget nothing measured proves nothing. A simulation samples the disk only (its
/// hub shares the rig's process); the scenario loader refuses a memory or CPU limit that
/// only a simulation would judge.
final class ResourceBudgetChecker: HistoryChecker {
    private let budget: ResourceBudget
    private var samples = 0
    private var disk: (bytes: Int, at: Instant)?
    private var memory: (bytes: Int, at: Instant)?
    private var cpu: (share: Double, at: Instant)?
    private(set) var violationAt: Instant?

    init(budget: ResourceBudget) {
        self.budget = budget
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .hubResources(let memoryBytes, let cpuShare, let diskBytes) = event else { return }
        samples += 1
        if diskBytes > (disk?.bytes ?? -1) { disk = (diskBytes, time) }
        if let memoryBytes, memoryBytes > (memory?.bytes ?? -1) { memory = (memoryBytes, time) }
        if let cpuShare { cpu = (cpuShare, time) }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        guard samples > 0 else { return (false, "no resource samples (hub.resources) in the history: nothing to judge") }
        var parts: [String] = []
        var failed = false
        func judge(_ name: String, _ limit: String?, _ measured: String?, over: Bool, at: Instant?) {
            guard let limit else { return }
            guard let measured else {
                // A simulated hub: the loader made sure the disk, which it measures, is judged.
                parts.append("\(name) not judged: a simulated hub has no process of its own (limit \(limit), judged live)")
                return
            }
            parts.append("\(name) \(measured) (limit \(limit))")
            if over {
                failed = true
                if violationAt == nil { violationAt = at }
            }
        }
        judge("disk", budget.diskBytes.map(ByteSize.format), disk.map { ByteSize.format($0.bytes) },
              over: (disk?.bytes ?? 0) > (budget.diskBytes ?? .max), at: disk?.at)
        judge("memory", budget.memoryBytes.map(ByteSize.format), memory.map { ByteSize.format($0.bytes) + " peak" },
              over: (memory?.bytes ?? 0) > (budget.memoryBytes ?? .max), at: memory?.at)
        judge("cpu", budget.cpuShare.map { TextFormat.fixed($0 * 100, decimals: 2) + "%" },
              cpu.map { TextFormat.fixed($0.share * 100, decimals: 2) + "% of a core" },
              over: (cpu?.share ?? 0) > (budget.cpuShare ?? .infinity), at: cpu?.at)
        return (!failed, "\(samples) sample\(samples == 1 ? "" : "s"): " + parts.joined(separator: "; "))
    }
}
