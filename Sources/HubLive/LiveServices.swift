import Foundation
import HubCore
import HubKernel
import Logging
import ServiceLifecycle

/// A blocking real-time loop as a swift-service-lifecycle `Service`.
///
/// The hub's loop is synchronous by design (its logic never awaits), so it runs on a
/// thread of its own and the service awaits its end. A graceful shutdown (SIGTERM, SIGINT,
/// or another service of the group ending) or a cancellation asks the loop to stop after
/// its current step; the loop's clock answers within 200 ms.
public final class LoopService: Service, @unchecked Sendable {
    // @unchecked Sendable: `body` and whatever it captures run only on the loop's thread,
    // started once by `run`; the one call from other threads is `stop`, an atomic store.
    private let name: String
    private let body: () -> Void
    private let stop: @Sendable () -> Void

    /// `body` runs the loop to its end; `stop` asks it to end (from any thread).
    public init(name: String, body: @escaping () -> Void, stop: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
        self.stop = stop
    }

    public func run() async throws {
        let stop = self.stop
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [self] in
                        body()
                        continuation.resume()
                    }
                    thread.name = name
                    thread.start()
                }
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
    }
}

/// Runs services as one group until they end or a shutdown signal arrives.
public enum LiveServices {
    /// Runs `services` in a `ServiceGroup` that shuts down gracefully on SIGTERM and SIGINT
    /// and when any of them returns (a hub run with `--duration` ends that way), and blocks
    /// the calling (synchronous) command until the group is done. A service's error is
    /// rethrown.
    public static func run(_ services: [any Service], label: String) throws {
        LiveShell.unblockShutdownSignals()
        var logger = Logger(label: label)
        logger.logLevel = .warning
        let configurations = services.map {
            ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let outcome = GroupOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await group.run() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}

/// The group's error, handed from its task to the waiting thread.
private final class GroupOutcome: @unchecked Sendable {
    // @unchecked Sendable: written once by the group's task before it signals the semaphore
    // the reader waits on, so the write happens-before the read.
    private(set) var error: (any Error)?
    func set(_ error: any Error) { self.error = error }
}
