import Foundation
import HubCore
import HubDrivers
import HubLive
import HubSim
import Testing

/// The production I²C path end to end: the real `hub` executable opens `/dev/i2c-7`
/// through `LinuxI2CBus`, the preloaded C shim turns its I2C_RDWR ioctls into socket
/// requests, and an in-process `I2CSocketServer` answers them from simulated chips.
@Suite("LD_PRELOAD I²C shim end to end", .serialized)
struct I2CShimEndToEndTests {
    static let device = "/dev/i2c-7"

    /// The package root, from this file's path (Tests/HubLiveTests/<file>).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The `hub` executable SwiftPM built next to the test bundle.
    static func hubExecutable() throws -> String {
        let testBinary = Bundle.main.executableURL
            ?? URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let hub = testBinary.deletingLastPathComponent().appendingPathComponent("hub").path
        guard FileManager.default.isExecutableFile(atPath: hub) else {
            throw TestFailure("no hub executable at \(hub): run `swift build` first")
        }
        return hub
    }

    /// Builds the shim with shim/build, as a user would: plain C, warnings are errors,
    /// and nothing but the C library is linked.
    static func buildShim(in directory: String) throws -> String {
        let script = packageRoot.appendingPathComponent("shim/build").path
        let result = try runProcess(script, [directory], environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        guard result.status == 0 else { throw TestFailure("shim/build failed (\(result.status)):\n\(result.output)") }
        let library = directory + "/libhubrig-i2c.so"
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == library)
        return library
    }

    /// `hub i2c-detect` with the shim preloaded, faking `device` via `socket`.
    static func runDetect(hub: String, shim: String, socket: String) throws -> ProcessResult {
        let environment = shimEnvironment(shim: shim, device: device, socket: socket)
        return try runProcess(hub, ["i2c-detect", "--i2c", device], environment: environment, timeout: .seconds(30))
    }

    @Test("hub i2c-detect finds the simulated HTS221 and LPS25H through the shim, then loses the HTS221")
    func detect() throws {
        let hub = try Self.hubExecutable()
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try Self.buildShim(in: directory)
        let bench = SensorBench()
        let socket = directory + "/i2c.sock"
        let server = I2CSocketServer(bus: bench.bus, socketPath: socket)
        try server.start()
        defer { server.stop() }

        let first = try Self.runDetect(hub: hub, shim: shim, socket: socket)
        print(first.output)
        // Only two of the five chips are attached, so the diagnostic must fail, not crash.
        #expect(first.status == 1, "\(first.output)")
        let lines = first.output.split(separator: "\n").map(String.init)
        func line(_ prefix: String) -> String { lines.first { $0.hasPrefix(prefix) } ?? "(no line for \(prefix))" }
        #expect(line("0x5f").contains("found 0xbc ok"), "\(first.output)")
        #expect(line("0x5c").contains("found 0xbd ok"), "\(first.output)")
        for absent in ["0x1c", "0x46", "0x6a"] {
            #expect(line(absent).contains("no ACK"), "\(first.output)")
        }
        let temperature = try #require(Self.value(of: "temperature", in: first.output), "\(first.output)")
        let humidity = try #require(Self.value(of: "humidity", in: first.output), "\(first.output)")
        let pressure = try #require(Self.value(of: "pressure", in: first.output), "\(first.output)")
        #expect(abs(temperature - SensorBench.temperature) < 0.5)
        #expect(abs(humidity - SensorBench.humidity) < 2)
        #expect(abs(pressure - SensorBench.pressure) < 0.5)
        let served = server.statistics
        #expect(served.connections == 1)
        #expect(served.requests >= 5 + 2)  // five probes, then the drivers' set-up and samples

        server.withBus { _ in bench.bus.setAbsent(true, at: HTS221Register.address) }
        let second = try Self.runDetect(hub: hub, shim: shim, socket: socket)
        print(second.output)
        #expect(second.status == 1, "\(second.output)")
        let after = second.output.split(separator: "\n").map(String.init)
        #expect(after.first { $0.hasPrefix("0x5f") }?.contains("no ACK at 0x5F") == true, "\(second.output)")
        #expect(after.first { $0.hasPrefix("0x5c") }?.contains("found 0xbd ok") == true, "\(second.output)")
        #expect(!second.output.contains("HTS221 sample"), "\(second.output)")
        #expect(Self.value(of: "pressure", in: second.output) != nil, "\(second.output)")
        #expect(server.statistics.connections == 2)
    }

    @Test("with no server behind the socket, hub i2c-detect reports the device and exits 2")
    func serverAbsent() throws {
        let hub = try Self.hubExecutable()
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try Self.buildShim(in: directory)
        let result = try Self.runDetect(hub: hub, shim: shim, socket: directory + "/nobody.sock")
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("cannot open I²C adapter \(Self.device)"), "\(result.output)")
        #expect(result.output.contains("errno \(ENOENT)"), "\(result.output)")
    }

    /// A C program that drives the faked device with raw syscalls, printing one line per
    /// check, so the shim's ioctl semantics are tested apart from `LinuxI2CBus`.
    static let probeProgram = #"""
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <unistd.h>
        #include <linux/i2c.h>
        #include <linux/i2c-dev.h>

        static int rdwr(int fd, struct i2c_msg *msgs, unsigned n) {
            struct i2c_rdwr_ioctl_data data = { msgs, n };
            errno = 0;
            return ioctl(fd, I2C_RDWR, &data);
        }

        int main(int argc, char **argv) {
            unsigned long funcs = 0;
            unsigned char frame[193], reg = 0x0F, value = 0, big[8193];
            struct i2c_msg whoami[2] = { { 0x5F, 0, 1, &reg }, { 0x5F, I2C_M_RD, 1, &value } };
            struct i2c_msg many[43];
            int fd = open(argv[1], O_RDWR | O_CLOEXEC), r;
            if (fd < 0) { printf("open -1 %d\n", errno); return 1; }
            r = ioctl(fd, I2C_FUNCS, &funcs);
            printf("funcs %d %lx\n", r, funcs);
            printf("slave %d\n", ioctl(fd, I2C_SLAVE, 0x5F));
            errno = 0;
            struct i2c_smbus_ioctl_data nodata = { I2C_SMBUS_READ, 0x0F, I2C_SMBUS_BYTE_DATA, NULL };
            r = ioctl(fd, I2C_SMBUS, &nodata);
            printf("smbus %d %d\n", r, errno);
            memset(frame, 0, sizeof frame); /* register pointer 0: a read-only register */
            struct i2c_msg one = { 0x5F, 0, sizeof frame, frame };
            r = rdwr(fd, &one, 1);
            printf("frame %d\n", r);
            r = rdwr(fd, whoami, 2);
            printf("whoami %d %02x\n", r, value);
            whoami[0].addr = whoami[1].addr = 0x6A;
            r = rdwr(fd, whoami, 2);
            printf("absent %d %d\n", r, errno);
            for (int i = 0; i < 43; i++) { many[i] = whoami[1]; }
            r = rdwr(fd, many, 43);
            printf("toomany %d %d\n", r, errno);
            r = rdwr(fd, many, 0);
            printf("none %d %d\n", r, errno);
            struct i2c_msg huge = { 0x5F, 0, sizeof big, big };
            r = rdwr(fd, &huge, 1);
            printf("huge %d %d\n", r, errno);
            printf("close %d\n", close(fd));
            errno = 0;
            r = ioctl(fd, I2C_FUNCS, &funcs);
            printf("closed %d %d\n", r, errno);
            fd = openat(AT_FDCWD, argv[1], O_RDWR);
            whoami[0].addr = whoami[1].addr = 0x5C;
            r = rdwr(fd, whoami, 2);
            printf("openat %d %02x\n", r, value);
            int null = open("/dev/null", O_RDONLY);
            errno = 0;
            r = ioctl(null, I2C_FUNCS, &funcs);
            printf("passthrough %d %d\n", r, errno);
            return 0;
        }
        """#

    @Test("the shim answers raw ioctls as i2c-dev would: one message per frame, kernel limits, ENOTTY")
    func rawIoctls() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try Self.buildShim(in: directory)
        let probe = try compileC(Self.probeProgram, named: "probe", in: directory)

        let bench = SensorBench()
        let socket = directory + "/i2c.sock"
        let server = I2CSocketServer(bus: bench.bus, socketPath: socket)
        try server.start()
        defer { server.stop() }
        let environment = shimEnvironment(shim: shim, device: Self.device, socket: socket)
        let result = try runProcess(probe, [Self.device], environment: environment, timeout: .seconds(30))
        #expect(result.status == 0, "\(result.output)")
        let expected = [
            "funcs 0 eff0009",                      // I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL, as i2c-bcm2835
            "slave 0",                              // remembered
            "smbus -1 \(EINVAL)",                   // no data for a byte-data read: the kernel's EINVAL
            "frame 1",                              // the kernel's return: messages done
            "whoami 2 bc",
            "absent -1 \(EREMOTEIO)",
            "toomany -1 \(EINVAL)",
            "none -1 \(EINVAL)",
            "huge -1 \(EINVAL)",
            "close 0",
            "closed -1 \(EBADF)",                   // forgotten: the real ioctl sees a closed fd
            "openat 2 bd",
            "passthrough -1 \(ENOTTY)",             // other files reach the kernel untouched
        ]
        #expect(result.output.split(separator: "\n").map(String.init) == expected)
        // The 193-byte frame was one transfer; the refused requests never left the shim.
        let stats = server.statistics
        #expect(stats.requests == 4)
        #expect(stats.transfers == 4)
        #expect(stats.bytesWritten == 193 + 1 + 1)
        #expect(stats.bytesRead == 2)
        #expect(stats.connections == 2)
    }

    /// Random calls on the faked descriptor, as a hostile or buggy program would make them:
    /// I2C_SMBUS with any size, direction and block length, I2C_RDWR with any flags and
    /// lengths (I2C_M_RECV_LEN included), read and write of any size, with a fixed seed.
    static let fuzzProgram = #"""
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <unistd.h>
        #include <linux/i2c.h>
        #include <linux/i2c-dev.h>

        static unsigned long long state = 0x9E3779B97F4A7C15ull;
        static unsigned next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (unsigned)state; }

        int main(int argc, char **argv) {
            static const unsigned char addresses[] = { 0x5F, 0x5C, 0x6A, 0x10, 0x7F, 0x00 };
            unsigned char buffers[4][8300];
            int fd = open(argv[1], O_RDWR), ok = 0, failed = 0, cases = atoi(argv[2]);
            if (fd < 0) { printf("open %d\n", errno); return 1; }
            for (int n = 0; n < cases; n++) {
                int r;
                ioctl(fd, I2C_SLAVE, addresses[next() % 6]);
                if (next() % 8 == 0) ioctl(fd, I2C_PEC, next() % 2);
                switch (next() % 4) {
                case 0: {
                    union i2c_smbus_data data;
                    for (int i = 0; i < (int)sizeof data.block; i++) data.block[i] = (unsigned char)next();
                    if (next() % 2) data.block[0] = (unsigned char)(next() % 40);
                    struct i2c_smbus_ioctl_data args = { (unsigned char)(next() % 3), (unsigned char)next(), next() % 10, next() % 16 ? &data : NULL };
                    r = ioctl(fd, I2C_SMBUS, &args);
                    break;
                }
                case 1: {
                    struct i2c_msg msgs[4];
                    unsigned count = 1 + next() % 4;
                    for (unsigned i = 0; i < count; i++) {
                        unsigned short flags = (unsigned short)(next() % 3 == 0 ? I2C_M_RD : 0);
                        if (next() % 6 == 0) flags |= I2C_M_RD | I2C_M_RECV_LEN;
                        if (next() % 20 == 0) flags |= (unsigned short)next();
                        msgs[i].addr = addresses[next() % 6];
                        msgs[i].flags = flags;
                        msgs[i].len = (unsigned short)(next() % 5 == 0 ? next() % 8300 : next() % 40);
                        msgs[i].buf = buffers[i];
                        buffers[i][0] = (unsigned char)(next() % 4);
                    }
                    struct i2c_rdwr_ioctl_data data = { msgs, count };
                    r = ioctl(fd, I2C_RDWR, &data);
                    break;
                }
                case 2:
                    r = (int)read(fd, buffers[0], next() % 9000);
                    break;
                default:
                    r = (int)write(fd, buffers[1], next() % 9000);
                    break;
                }
                if (r < 0) failed++; else ok++;
            }
            ioctl(fd, I2C_PEC, 0);
            unsigned char reg = 0x0F, value = 0;
            struct i2c_msg whoami[2] = { { 0x5F, 0, 1, &reg }, { 0x5F, I2C_M_RD, 1, &value } };
            struct i2c_rdwr_ioctl_data last = { whoami, 2 };
            int r = ioctl(fd, I2C_RDWR, &last);
            printf("cases %d ok %d failed %d whoami %d %02x\n", cases, ok, failed, r, value);
            return 0;
        }
        """#

    @Test("random SMBus, I2C_RDWR, read and write calls through the shim never crash it, and the bus still answers after")
    func fuzzCalls() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try Self.buildShim(in: directory)
        let program = try compileC(Self.fuzzProgram, named: "fuzz", in: directory, flags: ["-O1"])
        let bench = SensorBench()
        let server = I2CSocketServer(bus: bench.bus, socketPath: directory + "/i2c.sock")
        try server.start()
        defer { server.stop() }
        let environment = shimEnvironment(shim: shim, device: Self.device, socket: server.socketPath)
        let cases = ProcessInfo.processInfo.environment["HUBRIG_FUZZ_CASES"].flatMap(Int.init) ?? 5000
        let result = try runProcess(program, [Self.device, "\(cases)"], environment: environment, timeout: .seconds(120))
        #expect(result.status == 0, "\(result.output)")
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("cases \(cases) ok ") && line.hasSuffix("whoami 2 bc"), "\(result.output)")
        let words = line.split(separator: " ")
        #expect((Int(words[3]) ?? 0) > cases / 10 && (Int(words[5]) ?? 0) > cases / 10, "both answers and errnos: \(line)")
    }

    /// The number after `name` in a sample line (`temperature 21.03 °C`).
    static func value(of name: String, in output: String) -> Double? {
        for line in output.split(separator: "\n") where line.contains(" sample: ") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
            if let index = words.firstIndex(of: Substring(name)), index + 1 < words.count {
                return Double(words[index + 1])
            }
        }
        return nil
    }
}

/// What a child process printed (stdout and stderr together) and how it ended.
struct ProcessResult {
    var status: Int32
    var output: String
}

/// Runs a child with a time limit: a hung child is killed and fails the test instead of
/// hanging it. Output goes to a file, so a chatty child cannot block on a full pipe.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String],
                timeout: Duration) throws -> ProcessResult {
    let directory = try makeScratchDirectory()
    defer { removeScratchDirectory(directory) }
    let outputPath = directory + "/output"
    guard FileManager.default.createFile(atPath: outputPath, contents: nil),
          let output = FileHandle(forWritingAtPath: outputPath) else {
        throw TestFailure("cannot create \(outputPath)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while process.isRunning && clock.now < deadline {
        Thread.sleep(forTimeInterval: 0.02)
    }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
    }
    process.waitUntilExit()
    try output.close()
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return ProcessResult(status: process.terminationStatus, output: text)
}
