import HubCore
import HubInference
import HubKernel

extension HubNode {
    /// Loads the package in `directory` — the shell's job: the kernel reads no files — and
    /// hands it to the hub. A package that fails to load (bad manifest, unsupported graph,
    /// golden mismatch) is reported in the history and the device keeps the model it has.
    @discardableResult
    public func installModel(directory: String, for device: DeviceID, now: Instant) -> Bool {
        let package: ModelPackage
        do {
            package = try ModelPackage.load(directory: directory)
        } catch {
            ports.history.record(.componentError(component: "inference",
                                                 error: "\(directory): \(error); \(device) keeps \(model(of: device) ?? "no model")"), at: now)
            return false
        }
        return installModel(package, for: device, now: now)
    }
}
