import Foundation
import Testing

/// deploy/hub.service as systemd reads it: `systemd-analyze verify` (the unit's syntax and
/// its binary) and `systemd-analyze security` (how exposed the service is).
@Suite("The hub's systemd unit")
struct ServiceUnitTests {
    static let analyze = "/usr/bin/systemd-analyze"

    @Test("deploy/hub.service verifies and keeps systemd's exposure score at 2.5 or below",
          .enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed (apt-get install systemd)"))
    func unitVerifies() throws {
        let hub = try I2CShimEndToEndTests.hubExecutable()
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shipped = try String(contentsOf: I2CShimEndToEndTests.packageRoot.appendingPathComponent("deploy/hub.service"), encoding: .utf8)
        #expect(shipped.contains("ExecStart=/usr/local/bin/hub run --backend sensehat"))
        // The same unit with the hub this test run built, so verify finds its binary.
        let unit = directory + "/hub.service"
        try shipped.replacingOccurrences(of: "/usr/local/bin/hub", with: hub).write(toFile: unit, atomically: true, encoding: .utf8)
        let verified = try runProcess(Self.analyze, ["verify", unit], environment: ProcessInfo.processInfo.environment, timeout: .seconds(30))
        #expect(verified.status == 0 && verified.output.isEmpty, "\(verified.output)")
        let security = try runProcess(Self.analyze, ["security", "--offline=yes", unit], environment: ProcessInfo.processInfo.environment,
                                      timeout: .seconds(30))
        let line = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        let exposure = try #require(score, "\(security.output)")
        #expect(exposure <= 2.5, "\(line ?? "")")
        for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=hub", "User=hub", "KillSignal=SIGTERM"] {
            #expect(shipped.contains(setting), "\(setting)")
        }
    }
}
