import Foundation
import HubCore
import HubKernel
import HubLive
import Testing

@Suite("hub run limits")
struct HubRunLimitsTests {
    @Test("poll intervals outside 1s...1h are refused, naming the option and the range",
          arguments: [Duration.zero, .milliseconds(999), .seconds(3601)])
    func pollRange(poll: Duration) {
        #expect(throws: HubRunLimitError.pollOutOfRange(poll)) {
            try HubRunLimits.validate(pollInterval: poll, timeScale: 1, deviceIDs: ["hvac"])
        }
        #expect(HubRunLimitError.pollOutOfRange(poll).description.contains("1s...1h"))
    }

    @Test("one poll range and one default for every way a hub is started: 1s...1h, 10 s")
    func onePollRange() throws {
        #expect(HubConfig.pollIntervals == Duration.seconds(1)...Duration.seconds(3600))
        #expect(HubConfig.defaultPollInterval == .seconds(10))
        #expect(HubConfig(thing: "t", devices: []).pollInterval == HubConfig.defaultPollInterval)
        for poll in [HubConfig.pollIntervals.lowerBound, HubConfig.defaultPollInterval, HubConfig.pollIntervals.upperBound] {
            try HubRunLimits.validate(pollInterval: poll)
        }
        for poll in [Duration.zero, .milliseconds(100), .seconds(3601)] {
            #expect(throws: HubRunLimitError.pollOutOfRange(poll)) { try HubRunLimits.validate(pollInterval: poll) }
        }
    }

    @Test("the time scale is capped so a poll lasts at least 50 ms of real time")
    func timeScaleCap() throws {
        #expect(HubRunLimits.timeScaleMax(pollInterval: .seconds(10)) == 200)
        #expect(HubRunLimits.timeScaleMax(pollInterval: .seconds(1)) == 20)
        #expect(HubRunLimits.timeScaleMax(pollInterval: .seconds(3600)) == 72_000)
        try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: 200, deviceIDs: ["hvac"])
        #expect(throws: HubRunLimitError.timeScaleOutOfRange(201, max: 200, pollInterval: .seconds(10))) {
            try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: 201, deviceIDs: ["hvac"])
        }
        #expect(throws: HubRunLimitError.timeScaleOutOfRange(0, max: 200, pollInterval: .seconds(10))) {
            try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: 0, deviceIDs: ["hvac"])
        }
        #expect(throws: HubRunLimitError.timeScaleOutOfRange(Int64.max, max: 200, pollInterval: .seconds(10))) {
            try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: .max, deviceIDs: ["hvac"])
        }
    }

    @Test("two devices with one id are refused; distinct ids pass")
    func duplicateIDs() throws {
        #expect(throws: HubRunLimitError.duplicateDevice("kit")) {
            try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: 1, deviceIDs: ["kit", "hvac", "kit"])
        }
        try HubRunLimits.validate(pollInterval: .seconds(10), timeScale: 1, deviceIDs: ["kit", "hvac", "fridge"])
    }
}

/// The built `hub` binary, as a user meets it: invalid input exits 2 with a message that
/// names what is wrong, like `hubrig`, never a trap (132) or ArgumentParser's 64.
@Suite("hub run input errors (built binary)", .serialized)
struct HubRunInputTests {
    func hub(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(try I2CShimEndToEndTests.hubExecutable(), arguments,
                       environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
    }

    /// `hubrig sim run`: the same hub and options against simulated appliances.
    func simRun(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(try LiveHubEndToEndTests.executable("hubrig"), ["sim", "run"] + arguments,
                       environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
    }

    @Test("the production hub links no simulator code, and says where the simulated backend went")
    func noSimulatorInHub() throws {
        let symbols = try runProcess("/usr/bin/nm", ["--demangle", try I2CShimEndToEndTests.hubExecutable()], environment: [:],
                                     timeout: .seconds(60))
        #expect(symbols.status == 0)
        #expect(symbols.output.contains("HubKernel"), "nm read the binary")
        for module in ["HubSim", "HubScenario"] {
            #expect(!symbols.output.contains("\(module)."), "\(module) is linked into hub")
        }
        let result = try hub(["run", "--backend", "sim"])
        #expect(result.status == 2, "\(result.output)")
    }

    @Test("hub run --poll 0s: exit 2 naming --poll and the allowed range, not a precondition trap")
    func zeroPoll() throws {
        let result = try hub(["run", "--backend", "sensehat", "--poll", "0s", "--duration", "1m", "--event-log", "/dev/null"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("--poll") && result.output.contains("1s...1h"), "\(result.output)")
        let simulated = try simRun(["--poll", "0s", "--duration", "1m", "--event-log", "/dev/null"])
        #expect(simulated.status == 2, "\(simulated.output)")
        #expect(simulated.output.contains("--poll") && simulated.output.contains("1s...1h"), "\(simulated.output)")
    }

    @Test("hubrig sim export --poll 0s or 500ms: exit 2 naming --poll and the hub's range", arguments: ["0s", "500ms"])
    func exportPollOutOfRange(poll: String) throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let result = try runProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                    ["sim", "export", "--appliance", "furnace", "--duration", "1h", "--poll", poll,
                                     "--out", directory + "/export.csv"],
                                    environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("--poll \(poll): the poll interval must be within 1s...1h"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/export.csv"), "refused before anything is written")
    }

    @Test("hubrig sim run with two --device of one id: exit 2 naming the id")
    func duplicateDevice() throws {
        let result = try simRun(["--device", "kit:furnace", "--device", "kit:washer", "--duration", "1m", "--event-log", "/dev/null"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("'kit' is given twice"), "\(result.output)")
    }

    @Test("hubrig sim run --time-scale 100000: exit 2 naming the limit at that poll, instead of a run that publishes nothing")
    func timeScaleTooFast() throws {
        let result = try simRun(["--time-scale", "100000", "--duration", "1h", "--event-log", "/dev/null"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("--time-scale 100000: must be within 1...200 at --poll 10s"), "\(result.output)")
    }

    @Test("argument errors exit 2, as hubrig's do",
          arguments: [["run", "--backend", "nope"], ["run"], ["frobnicate"], ["run", "--backend", "sensehat", "--time-scale", "2"]])
    func argumentErrors(arguments: [String]) throws {
        let result = try hub(arguments)
        #expect(result.status == 2, "\(arguments): \(result.output)")
        #expect(result.output.contains("Error") || result.output.contains("error"), "\(result.output)")
    }

    @Test("at the largest allowed time scale every poll publishes a full reading")
    func fastestAllowedRunKeepsEveryPoll() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        // 20 minutes of hub time at 200× is 6 s of real time: 120 polls of 10 s.
        let result = try simRun(["--time-scale", "200", "--duration", "20m", "--models", directory + "/no-models", "--event-log", log])
        #expect(result.status == 0, "\(result.output)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let readings = lines.filter { $0.contains("\"topic\": \"dt/local/sensor/hvac\"") }
        let partial = readings.filter { $0.contains("\"quality\": \"partial\"") }
        #expect(readings.count >= 118, "polls of 10 s over 20 minutes: \(readings.count) readings")
        #expect(partial.isEmpty, "\(partial.count) partial readings")
    }
}
