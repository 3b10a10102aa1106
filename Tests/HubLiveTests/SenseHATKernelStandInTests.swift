import Foundation
import HubCore
import HubLive
import Testing

/// The Sense HAT's kernel interfaces (framebuffer, joystick) and the Raspberry Pi's own
/// Python `sense-hat` library, unmodified, against `hubrig sim i2c-serve --sensehat-socket`
/// through the LD_PRELOAD stand-in; what reaches the simulated ATtiny88 is read back with
/// i2cdump through the same stand-in.
@Suite("Sense HAT kernel interfaces and the sense-hat library through the stand-in", .serialized)
struct SenseHATKernelStandInTests {
    /// A scenario whose person presses the joystick three and four seconds in.
    static let scenario = """
        name: bench-joystick
        pillar: reliability
        questions: [REL 11]
        modes: [sim]
        seed: 3
        duration: 1h
        hub:
          thing: hbshub001
          poll_interval: 10s
          appliances:
            - { id: hvac, kind: furnace, sensor: sensehat }
        timeline:
          - { at: 3s, event: joystick.enter }
          - { at: 4s, event: joystick.up, for: 500ms }
        expect:
          - readings-every-poll
        """

    /// `hubrig sim i2c-serve` with the kernel stand-in, and the environment a preloaded
    /// program needs to reach both.
    final class Bench {
        let directory: String
        let server: Process
        let environment: [String: String]
        let eventLog: String

        /// Serves `scenario` (a path), or the joystick scenario above.
        init(scenario: String? = nil) throws {
            directory = try makeScratchDirectory()
            let shim = try I2CShimEndToEndTests.buildShim(in: directory)
            let hubrig = URL(fileURLWithPath: try I2CShimEndToEndTests.hubExecutable()).deletingLastPathComponent()
                .appendingPathComponent("hubrig").path
            var scenarioPath = directory + "/bench-joystick.yaml"
            if let scenario {
                scenarioPath = scenario
            } else {
                try SenseHATKernelStandInTests.scenario.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
            }
            eventLog = directory + "/world.jsonl"
            server = Process()
            server.executableURL = URL(fileURLWithPath: hubrig)
            server.arguments = ["sim", "i2c-serve", "--socket", directory + "/i2c.sock", "--sensehat-socket", directory + "/sh.sock",
                                "--scenario", scenarioPath, "--duration", "60s", "--event-log", eventLog]
            server.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try server.run()
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            while !(FileManager.default.fileExists(atPath: directory + "/sh.sock") && FileManager.default.fileExists(atPath: directory + "/i2c.sock")) {
                guard clock.now < deadline, server.isRunning else { throw TestFailure("hubrig sim i2c-serve did not start") }
                Thread.sleep(forTimeInterval: 0.02)
            }
            var environment = shimEnvironment(shim: shim, device: "/dev/i2c-1", socket: directory + "/i2c.sock")
            environment["HUBRIG_SENSEHAT_SOCKET"] = directory + "/sh.sock"
            environment["HOME"] = directory  // RTIMULib writes its settings under ~/.config
            self.environment = environment
        }

        func close() {
            if server.isRunning {
                server.terminate()
                server.waitUntilExit()
            }
            removeScratchDirectory(directory)
        }

        func python(_ script: String, timeout: Duration = .seconds(60)) throws -> ProcessResult {
            let path = directory + "/script.py"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            return try runProcess(try SenseHATKernelStandInTests.benchPython(), [path], environment: environment, timeout: timeout)
        }

        /// The ATtiny88's LED frame registers (0x00...0xBF), read with i2cdump through the shim.
        func ledRegisters() throws -> [UInt8] {
            let result = try runProcess("/usr/sbin/i2cdump", ["-y", "-r", "0x00-0xbf", "1", "0x46", "b"],
                                        environment: environment, timeout: .seconds(30))
            guard result.status == 0 else { throw TestFailure("i2cdump failed: \(result.output)") }
            var bytes: [UInt8] = []
            for line in result.output.split(separator: "\n") where line.count > 4 && line.dropFirst(2).hasPrefix(":") {
                bytes += line.dropFirst(4).prefix(48).split(separator: " ").compactMap { UInt8($0, radix: 16) }
            }
            return bytes
        }
    }

    static func benchPython() throws -> String {
        let python = I2CShimEndToEndTests.packageRoot.appendingPathComponent(".build/bench-venv/bin/python3").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no \(python): ci/install-deps makes the venv with smbus2 and sense-hat from PyPI")
        }
        return python
    }

    /// Whether RTIMULib's Python module is in the bench venv (it has no source on PyPI or
    /// in Debian; see docs/bench.md for building it from a checkout).
    static var rtimuInstalled: Bool {
        guard let python = try? benchPython(),
              let result = try? runProcess(python, ["-c", "import RTIMU"], environment: ProcessInfo.processInfo.environment,
                                           timeout: .seconds(30)) else { return false }
        return result.status == 0
    }

    /// The framebuffer found as the sense-hat library finds it, used as its users do
    /// (write, mmap, the gamma ioctls), and the joystick read with the library's own
    /// stick.py.
    static let kernelScript = #"""
        import array, errno, fcntl, glob, importlib.util, mmap, os, struct

        fbs = [f for f in glob.glob('/sys/class/graphics/fb*') if open(os.path.join(f, 'name')).read().strip() == 'RPi-Sense FB']
        device = fbs[0].replace(os.path.dirname(fbs[0]), '/dev')
        print('found', len(fbs), os.path.exists(device), device in glob.glob('/dev/fb*'))
        with open(device, 'rb') as f:
            var = fcntl.ioctl(f, 0x4600, bytes(160))
            fix = fcntl.ioctl(f, 0x4602, bytes(80))
        xres, yres = struct.unpack_from('II', var, 0)
        print('screen', xres, yres, struct.unpack_from('I', var, 24)[0], fix[:12].decode())

        fd = os.open(device, os.O_WRONLY)
        for offset in (127, 129):
            os.lseek(fd, offset, os.SEEK_SET)
            try:
                os.write(fd, b'\x00\x00')
                print('past the end', offset, 'written')
            except OSError as error:
                print('past the end', offset, errno.errorcode[error.errno])
        os.close(fd)

        with open(device, 'r+b') as f:
            memory = mmap.mmap(f.fileno(), 128)
            memory[0:6] = struct.pack('<3H', 0xF800, 0x07E0, 0x001F)  # red, green, blue
            memory.close()
        with open(device, 'wb') as f:
            f.seek(126)
            f.write(struct.pack('<H', 0xFFFF))  # white, bottom right
        with open(device, 'rb') as f:
            print('read back', f.read(6).hex(), f.read(200).hex()[-4:])

        gamma = array.array('B', [0] * 32)
        with open(device) as f:
            fcntl.ioctl(f, 0xF100, gamma)
            default = list(gamma)
            fcntl.ioctl(f, 0xF102, 1)
            fcntl.ioctl(f, 0xF100, gamma)
            low = list(gamma)
            fcntl.ioctl(f, 0xF101, array.array('B', range(32)))
            fcntl.ioctl(f, 0xF100, gamma)
            user = list(gamma)
            try:
                fcntl.ioctl(f, 0xF102, 7)
            except OSError as error:
                print('bad table', errno.errorcode[error.errno])
            fcntl.ioctl(f, 0xF102, 0)
        print('gamma', default[-1], low[-1], user == list(range(32)))

        spec = importlib.util.find_spec('sense_hat')
        stick_path = os.path.join(os.path.dirname(spec.origin), 'stick.py')
        stick_spec = importlib.util.spec_from_file_location('stick', stick_path)
        stick = importlib.util.module_from_spec(stick_spec)
        stick_spec.loader.exec_module(stick)
        joystick = stick.SenseStick()
        events = []
        while not events or (events[-1].direction, events[-1].action) != ('up', 'released'):
            events.append(joystick.wait_for_event())
        collapsed = []
        for e in events:
            if not collapsed or collapsed[-1] != (e.direction, e.action):
                collapsed.append((e.direction, e.action))
        print('events', collapsed)
        print('held', sum(1 for e in events if e.direction == 'middle' and e.action == 'held'),
              sum(1 for e in events if e.direction == 'up' and e.action == 'held'))
        """#

    @Test("the framebuffer and joystick as the sense-hat library finds them: screen, write, mmap, gamma, events; the frame reaches the ATtiny88")
    func kernelInterfaces() throws {
        let bench = try Bench()
        defer { bench.close() }
        let result = try bench.python(Self.kernelScript)
        #expect(result.status == 0, "\(result.output)")
        let expected = [
            "found 1 True True",
            "screen 8 8 16 RPi-Sense FB",
            "past the end 127 ENOSPC",
            "past the end 129 EFBIG",
            "read back 00f8e0071f00 ffff",
            "bad table EINVAL",
            "gamma 31 10 True",
            "events [('middle', 'pressed'), ('middle', 'held'), ('middle', 'released'), ('up', 'pressed'), ('up', 'held'), ('up', 'released')]",
        ]
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(Array(lines.dropLast()) == expected, "\(result.output)")
        // The input core's auto-repeat: 250 ms, then every 33 ms. ENTER is held 300 ms (one
        // or two repeats), UP 500 ms (about eight); the stand-in's 10 ms tick adds jitter.
        let held = (lines.last ?? "").split(separator: " ").dropFirst().compactMap { Int($0) }
        #expect(held.count == 2 && (1...2).contains(held[0]) && (6...9).contains(held[1]), "\(result.output)")

        Thread.sleep(forTimeInterval: 0.1)  // the deferred I/O's 10 ms, with room
        let registers = try bench.ledRegisters()
        try #require(registers.count == 192, "\(registers)")
        // rpisense-fb's conversion with the default gamma: 5 bits of red, the top 5 of
        // green's 6, 5 of blue, each through gamma_default (31 → 0x1F).
        #expect(registers[0] == 0x1F && registers[8] == 0 && registers[16] == 0, "red pixel: \(registers[0...16])")
        #expect(registers[1] == 0 && registers[9] == 0x1F && registers[17] == 0, "green pixel")
        #expect(registers[2] == 0 && registers[10] == 0 && registers[18] == 0x1F, "blue pixel")
        #expect(registers[7 * 24 + 7] == 0x1F && registers[7 * 24 + 15] == 0x1F && registers[7 * 24 + 23] == 0x1F, "white pixel")
        #expect(registers.enumerated().filter { $0.element != 0 }.count == 6, "nothing else lit")
        let log = try String(contentsOfFile: bench.eventLog, encoding: .utf8)
        #expect(log.contains("\"led.frame\", \"colour\": \"mixed\""), "the world saw the frame")
    }

    /// The library's own sensors (RTIMULib over /dev/i2c-1) against the hub's drivers
    /// reading the same chips at the same time (`hub i2c-detect`).
    static let libraryScript = #"""
        import time
        from sense_hat import SenseHat
        hat = SenseHat()
        for _ in range(3):  # the chips convert once the library has set them up
            values = (hat.get_humidity(), hat.get_temperature_from_humidity(), hat.get_pressure(), hat.get_temperature_from_pressure())
            time.sleep(0.3)
        print('environment %.3f %.3f %.3f %.3f' % values)
        # The library polls a fresh IMU three times 3 ms apart; at RTIMULib's default 119 Hz
        # ODR (8.4 ms) the first call can come back empty on a Pi as well.
        for _ in range(5):
            accel = hat.get_accelerometer_raw()
            if any(accel.values()):
                break
        print('gravity %.3f' % (accel['x'] ** 2 + accel['y'] ** 2 + accel['z'] ** 2) ** 0.5)
        orientation = hat.get_orientation()
        print('orientation', all(abs(v) <= 360 for v in orientation.values()))
        hat.set_pixel(0, 0, 255, 0, 0)
        hat.set_pixel(7, 7, 0, 0, 255)
        print('pixels', hat.get_pixel(0, 0), hat.get_pixel(7, 7))
        """#

    @Test("the Raspberry Pi's sense-hat library with RTIMULib reads the simulated chips as the hub's drivers do, and lights the matrix",
          .enabled(if: SenseHATKernelStandInTests.rtimuInstalled, "RTIMULib is not in .build/bench-venv: it has no source on PyPI or in Debian; build it from a checkout (docs/bench.md)"))
    func senseHATLibrary() throws {
        let bench = try Bench()
        defer { bench.close() }
        let result = try bench.python(Self.libraryScript)
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        let environment = try #require(lines.first { $0.hasPrefix("environment ") }, "\(result.output)")
            .split(separator: " ").dropFirst().compactMap { Double($0) }
        try #require(environment.count == 4)
        let detect = try runProcess(try I2CShimEndToEndTests.hubExecutable(), ["i2c-detect", "--i2c", "/dev/i2c-1"],
                                    environment: bench.environment, timeout: .seconds(30))
        let humidity = try #require(I2CShimEndToEndTests.value(of: "humidity", in: detect.output), "\(detect.output)")
        let temperature = try #require(I2CShimEndToEndTests.value(of: "temperature", in: detect.output), "\(detect.output)")
        let pressure = try #require(I2CShimEndToEndTests.value(of: "pressure", in: detect.output), "\(detect.output)")
        // Two drivers, one chip, a second apart: the chips' noise (0.15 %RH, 0.03 °C,
        // 0.01 hPa) and the room's drift, not a calibration disagreement.
        #expect(abs(environment[0] - humidity) < 1.5, "humidity \(environment[0]) against \(humidity)")
        #expect(abs(environment[1] - temperature) < 0.5, "temperature \(environment[1]) against \(temperature)")
        #expect(abs(environment[2] - pressure) < 0.5, "pressure \(environment[2]) against \(pressure)")
        #expect(lines.contains { $0.hasPrefix("gravity 0.9") || $0.hasPrefix("gravity 1.0") }, "\(result.output)")
        #expect(lines.contains("orientation True"), "\(result.output)")
        #expect(lines.contains("pixels [248, 0, 0] [0, 0, 248]"), "\(result.output)")
        Thread.sleep(forTimeInterval: 0.1)
        let registers = try bench.ledRegisters()
        #expect(registers.count == 192 && registers[0] == 0x1F && registers[7 * 24 + 23] == 0x1F, "\(registers)")
    }

    @Test("the book's sensor component, on the sense-hat library, feeds the hub's bus from the simulated Sense HAT of a scenario",
          .enabled(if: SenseHATKernelStandInTests.rtimuInstalled, "RTIMULib is not in .build/bench-venv: it has no source on PyPI or in Debian; build it from a checkout (docs/bench.md)"))
    func bookSensorComponent() throws {
        let root = I2CShimEndToEndTests.packageRoot.path
        let bench = try Bench(scenario: root + "/scenarios/steady-state.yaml")
        defer { bench.close() }
        var environment = bench.environment
        // The recipe runs `python3`: the bench venv's, which has sense-hat and RTIMULib.
        environment["PATH"] = root + "/.build/bench-venv/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        let hubLog = bench.directory + "/hub.jsonl"
        let hub = try I2CShimEndToEndTests.hubExecutable()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hub)
        process.currentDirectoryURL = URL(fileURLWithPath: root)  // the recipe names its script from here
        process.arguments = ["run", "--backend", "sensehat", "--i2c", "/dev/i2c-1", "--device", "hvac:furnace", "--poll", "2s",
                             "--ipc-socket", bench.directory + "/ipc.sock", "--component", "fixtures/components/book-sensor.yaml",
                             "--duration", "12s", "--event-log", hubLog, "--cloud-spool", bench.directory + "/cloud.jsonl"]
        process.environment = environment
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = try String(contentsOfFile: hubLog, encoding: .utf8).split(separator: "\n")
        let readings = lines.filter { $0.contains(#""ev": "bus.publish""#) && $0.contains(#""topic": "dt/local/sensor/hvac", "from": "sensor""#) }
        #expect(readings.count >= 4, "a reading every 2 s for 12 s: \(lines.joined(separator: "\n"))")
        for reading in readings {
            let payload = try #require(reading.range(of: #""payload": "#).map { String(reading[$0.upperBound...].dropLast()) })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            let humidity = try #require(object["humidity"] as? Double)
            let temperature = try #require(object["temperature"] as? Double)
            let pressure = try #require(object["pressure"] as? Double)
            #expect((10...90).contains(humidity) && (10...35).contains(temperature) && (950...1050).contains(pressure), "\(object)")
        }
        #expect(!lines.contains { $0.contains("bus.refused") }, "the recipe grants what the component publishes")
        #expect(lines.contains { $0.contains(#""component": "sensor", "from": "starting", "to": "running""#) })
    }

    @Test("hub run finds the kernel's framebuffer and joystick, shows its status through them and scrolls on a press")
    func hubOnKernelDevices() throws {
        let bench = try Bench()
        defer { bench.close() }
        let hubLog = bench.directory + "/hub.jsonl"
        let result = try runProcess(try I2CShimEndToEndTests.hubExecutable(),
                                    ["run", "--backend", "sensehat", "--i2c", "/dev/i2c-1", "--device", "hvac:furnace", "--poll", "1s",
                                     "--duration", "7s", "--event-log", hubLog, "--state-dir", bench.directory + "/state",
                                     "--cloud-spool", bench.directory + "/cloud.jsonl"],
                                    environment: bench.environment, timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("hub: LED matrix through the kernel framebuffer /dev/fb0; joystick through the kernel event device /dev/input/event0"),
                "\(result.output)")
        let hub = try String(contentsOfFile: hubLog, encoding: .utf8)
        #expect(hub.contains(#""ev": "joystick", "keys": "enter""#), "the scenario's ENTER, read from the event device")
        #expect(hub.contains(#""ev": "display.scroll", "text": "t: "#), "and the temperature scrolled")
        // The status frame (green at 16 of 31) arrives at the ATtiny88 unchanged: the hub set
        // the identity gamma (with the default table 16 would become 8).
        let world = try String(contentsOfFile: bench.eventLog, encoding: .utf8)
        #expect(world.contains(#""ev": "led.frame", "colour": "green""#), "\(world.suffix(600))")
    }

    /// How the Sense HAT's C examples find the stick: scandir of /dev/input with
    /// versionsort, then EVIOCGNAME on each event device.
    static let scandirProgram = #"""
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <fcntl.h>
        #include <linux/input.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <unistd.h>

        static int is_event(const struct dirent *entry) { return strncmp(entry->d_name, "event", 5) == 0; }

        int main(void) {
            struct dirent **list;
            int count = scandir("/dev/input", &list, is_event, versionsort);
            printf("entries %d\n", count);
            for (int i = 0; i < count; i++) {
                char path[300], name[256] = "";
                snprintf(path, sizeof path, "/dev/input/%s", list[i]->d_name);
                int fd = open(path, O_RDONLY);
                if (fd >= 0 && ioctl(fd, EVIOCGNAME(sizeof name), name) > 0) printf("%s %s\n", list[i]->d_name, name);
                if (fd >= 0) close(fd);
            }
            return 0;
        }
        """#

    @Test("a C program finds the joystick as the Sense HAT's C examples do: scandir of /dev/input, then EVIOCGNAME")
    func scandirDiscovery() throws {
        let bench = try Bench()
        defer { bench.close() }
        let program = try compileC(Self.scandirProgram, named: "find", in: bench.directory)
        let result = try runProcess(program, [], environment: bench.environment, timeout: .seconds(30))
        #expect(result.output.split(separator: "\n").map(String.init) == ["entries 1", "event0 Raspberry Pi Sense HAT Joystick"],
                "\(result.output)")
    }
}
