import HubLive
import Testing

@Suite("C libraries link")
struct SystemLibrariesTests {
    @Test("libmosquitto reports a 2.x version")
    func mosquitto() {
        let version = SystemLibraries.mosquittoVersion
        print("libmosquitto \(version)")
        #expect(version.hasPrefix("2."))
    }

    @Test("libgpiod is the 1.x (v1 API) library Debian 12 ships")
    func gpiod() {
        let version = SystemLibraries.gpiodVersion
        print("libgpiod \(version)")
        #expect(version.hasPrefix("1."))
    }

    @Test("I2C_RDWR imports from the kernel headers")
    func i2c() {
        #expect(SystemLibraries.i2cRdwrRequest == 0x0707)
    }
}
