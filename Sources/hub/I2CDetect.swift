import ArgumentParser
import Foundation
import HubCore
import HubDrivers
import HubLive

/// `hub i2c-detect`: checks that every Sense HAT chip answers on the I²C bus.
///
/// The first thing to run on a new bench Pi (is the HAT seated, is the overlay loaded, is
/// the user in the i2c group?) and the end-to-end check of the production I²C path in CI,
/// where the LD_PRELOAD shim stands in for the adapter. It goes through `LinuxI2CBus` and
/// the real drivers, the same code the hub runs, rather than i2c-tools' SMBus probes.
struct I2CDetect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "i2c-detect",
        abstract: "Probe the Sense HAT's chips over I2C_RDWR and read one sample.",
        discussion: """
            Prints one line per Sense HAT address with the identity register it expects and \
            what it found. Then takes one sample from the HTS221 and the LPS25H if they answered.
            Exit status: 0 if all five chips answered correctly and the samples worked, \
            1 otherwise, 2 if the bus cannot be opened.
            """)

    @Option(name: .customLong("i2c"), help: ArgumentHelp("The I²C adapter's device file.", valueName: "path"))
    var device = "/dev/i2c-1"

    /// One chip to probe: its address, its identity register and the value it must hold.
    struct Probe {
        let address: UInt8
        let chip: String
        let register: UInt8
        let expected: UInt8
    }

    static let probes = [
        Probe(address: 0x1C, chip: "LSM9DS1 magnetometer", register: 0x0F, expected: 0x3D),
        Probe(address: 0x46, chip: "ATtiny88 LED/joystick", register: 0xF0, expected: 0x73),
        Probe(address: LPS25HRegister.address, chip: "LPS25H pressure", register: LPS25HRegister.whoAmI,
              expected: LPS25HRegister.whoAmIValue),
        Probe(address: HTS221Register.address, chip: "HTS221 humidity", register: HTS221Register.whoAmI,
              expected: HTS221Register.whoAmIValue),
        Probe(address: 0x6A, chip: "LSM9DS1 accel/gyro", register: 0x0F, expected: 0x68),
    ]

    func run() throws {
        let bus: LinuxI2CBus
        do {
            bus = try LinuxI2CBus(path: device)
        } catch {
            printError("i2c-detect: \(error)")
            throw ExitCode(2)
        }
        print("I²C adapter \(device)")
        var allGood = true
        var answered = Set<UInt8>()
        for probe in Self.probes {
            let expectation = "\(probe.chip.padding(toLength: 22, withPad: " ", startingAt: 0)) reg \(hexAddress(probe.register)) expect \(hexAddress(probe.expected))"
            let outcome: String
            do {
                let found = try bus.readRegister(probe.address, probe.register)
                if found == probe.expected {
                    outcome = "found \(hexAddress(found)) ok"
                    answered.insert(probe.address)
                } else {
                    outcome = "found \(hexAddress(found)) WRONG"
                    allGood = false
                }
            } catch {
                outcome = "error: \(error)"
                allGood = false
            }
            print("\(hexAddress(probe.address))  \(expectation)  \(outcome)")
        }
        if answered.contains(HTS221Register.address) {
            allGood = sample(HTS221Driver(bus: bus)) && allGood
        }
        if answered.contains(LPS25HRegister.address) {
            allGood = sample(LPS25HDriver(bus: bus)) && allGood
        }
        if !allGood { throw ExitCode(1) }
    }

    /// Initialises a driver and prints its first sample; false if either failed.
    ///
    /// The chips convert at 12.5–25 Hz after power-up, so the first look usually finds no
    /// data ready; a diagnostic may simply wait and ask again (the hub itself never sleeps).
    private func sample(_ driver: any SensorDriver) -> Bool {
        do {
            _ = try driver.initialise()
            for _ in 0..<25 {
                if let values = try driver.sample() {
                    let text = values.map { channel, value in "\(channel) \(String(format: "%.2f", value)) \(channel.unit)" }
                    print("\(driver.chip) sample: \(text.joined(separator: ", "))")
                    return true
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            print("\(driver.chip) sample: no data ready after 0.5 s")
        } catch {
            print("\(driver.chip) sample: \(error)")
        }
        return false
    }

    private func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
