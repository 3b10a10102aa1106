// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
// The simulator's chip, bus and appliance models are classes touched on every simulated
// transfer; release builds skip the run-time exclusivity checks on their stored
// properties (8 % of a simulated furnace day). Debug builds, which the tests run, keep
// them, so an overlapping access is still caught. Only the rig links HubSim.
let simulatorSettings: [SwiftSetting] = strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Hubrig",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hub", targets: ["hub"]),
        .executable(name: "hubrig", targets: ["hubrig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto", path: "Sources/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(
            name: "CI2C", path: "Sources/CI2C",
            providers: [.apt(["libi2c-dev"])]),
        // Telemetry batches are zlib streams (RFC 1950): the cloud side inflates them with any zlib.
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CGPIOD", path: "Sources/CGPIOD", pkgConfig: "libgpiod",
            providers: [.apt(["libgpiod-dev"])]),

        // glibc's mallopt, for the rig's heap tuning (the Glibc module leaves malloc.h out).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // Typed ioctl wrappers for the Sense HAT's kernel devices (Swift imports no variadic C).
        .target(name: "CLinuxDevices", path: "Sources/CLinuxDevices"),

        .target(name: "HubCore", swiftSettings: strict),
        .target(name: "HubDrivers", dependencies: ["HubCore"], swiftSettings: strict),
        .target(
            name: "HubInference", dependencies: ["HubCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strict),
        .target(name: "HubKernel", dependencies: ["HubCore", "HubDrivers", "HubInference", "CZlib"], swiftSettings: strict),
        .target(
            name: "HubStore",
            dependencies: ["HubCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strict),
        .target(name: "HubSim", dependencies: ["HubKernel", "HubStore", "HubYAML"], swiftSettings: simulatorSettings),
        .target(
            name: "HubLive",
            dependencies: ["HubKernel", "HubStore", "CMosquitto", "CI2C", "CGPIOD", "CLinuxDevices",
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // Hand-written YAML (scenarios, the hub's configuration file) read with Yams, every
        // error naming file, line, column and field.
        .target(name: "HubYAML", dependencies: ["HubCore", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        .target(
            name: "HubScenario", dependencies: ["HubSim", "HubLive", "HubYAML"],
            swiftSettings: strict),
        // Command-line pieces both executables share (the options of a live hub run, its
        // configuration file).
        .target(
            name: "HubCLI", dependencies: ["HubLive", "HubYAML", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        // The production hub: no simulator code (HubSim, HubScenario) is linked into it.
        .executableTarget(
            name: "hub",
            dependencies: ["HubLive", "HubCLI", "HubKernel", "HubYAML", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .executableTarget(
            name: "hubrig",
            dependencies: ["HubScenario", "HubCLI", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),

        .testTarget(name: "HubCoreTests", dependencies: ["HubCore"]),
        .testTarget(name: "HubDriversTests", dependencies: ["HubDrivers", "HubSim"]),
        .testTarget(name: "HubInferenceTests", dependencies: ["HubInference"]),
        .testTarget(name: "HubKernelTests", dependencies: ["HubKernel", "HubStore", "HubYAML"]),
        .testTarget(name: "HubStoreTests", dependencies: ["HubStore", "HubCore"]),
        .testTarget(name: "HubSimTests", dependencies: ["HubSim"]),
        .testTarget(name: "HubLiveTests", dependencies: ["HubLive", "HubSim", "HubStore"]),
        .testTarget(name: "HubScenarioTests", dependencies: ["HubScenario", "HubStore"]),
        .testTarget(name: "HubYAMLTests", dependencies: ["HubYAML", "HubKernel", "HubCore"]),
        .testTarget(name: "HubCLITests", dependencies: ["HubCLI", "HubYAML", "HubCore", "HubKernel"]),
    ]
)
