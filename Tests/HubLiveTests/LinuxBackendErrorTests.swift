import Foundation
import HubCore
import HubLive
import Testing

@Suite("Linux backends without hardware")
struct LinuxBackendErrorTests {
    @Test("LinuxI2CBus on a missing adapter names the path and ENOENT")
    func missingI2CAdapter() {
        let path = "/nonexistent/i2c-9"
        #expect(throws: LinuxI2CError.open(path: path, errno: ENOENT, detail: "No such file or directory")) {
            _ = try LinuxI2CBus(path: path)
        }
    }

    @Test("LinuxI2CBus on a file that is not an adapter says I2C_FUNCS failed on that path")
    func notAnAdapter() {
        let error = #expect(throws: LinuxI2CError.self) { _ = try LinuxI2CBus(path: "/dev/null") }
        guard case .functionality(let path, let code, _) = error else {
            Issue.record("expected .functionality, got \(String(describing: error))")
            return
        }
        #expect(path == "/dev/null")
        #expect(code == ENOTTY)
        #expect(error?.description.contains("/dev/null") == true)
    }

    @Test("LinuxGPIO on a missing chip names the path and ENOENT")
    func missingGPIOChip() {
        let path = "/nonexistent/gpiochip9"
        let error = #expect(throws: GPIOError.chipUnavailable(path: path, errno: ENOENT)) {
            _ = try LinuxGPIO(chipPath: path)
        }
        #expect(error?.description.contains(path) == true)
    }

    @Test("LinuxGPIO refuses one line as both input and output before touching the chip")
    func sameLineTwice() {
        let error = #expect(throws: GPIOError.self) { _ = try LinuxGPIO(chipPath: "/nonexistent/gpiochip9", edgeLine: 23, outputLine: 23) }
        guard case .lineUnavailable(let line, let detail) = error else {
            Issue.record("expected .lineUnavailable, got \(String(describing: error))")
            return
        }
        #expect(line == 23)
        #expect(detail.contains("/nonexistent/gpiochip9"))
    }
}
