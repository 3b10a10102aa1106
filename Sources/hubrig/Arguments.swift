import ArgumentParser
import HubScenario

extension SimBenchmark.Workload: ExpressibleByArgument {}
