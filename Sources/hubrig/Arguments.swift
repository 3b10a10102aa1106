import ArgumentParser
import HubScenario

extension SimBenchmark.Workload: ExpressibleByArgument {}
extension IPCBenchmark.Role: ExpressibleByArgument {}
