import CGPIOD
import CI2C
import CMosquitto

/// Versions of the C libraries the live backends link against.
///
/// `hub version` prints them, so a bench report says which libmosquitto and libgpiod the
/// hub really ran with (Debian 12 ships libgpiod 1.6, whose v1 API the GPIO backend uses).
public enum SystemLibraries {
    /// libmosquitto's version as `major.minor.revision`.
    public static var mosquittoVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    /// libgpiod's version string (`1.6.3`).
    public static var gpiodVersion: String { String(cString: gpiod_version_string()) }

    /// The ioctl request number the I²C backend uses for combined transfers.
    public static var i2cRdwrRequest: UInt { UInt(I2C_RDWR) }
}
