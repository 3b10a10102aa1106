import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive

/// Waits (really) until `done` holds for what `inbox` delivered, collecting it; nil on timeout.
func collect(_ inbox: CompletionInbox, seconds: Double, until done: ([CloudCompletion]) -> Bool) -> [CloudCompletion]? {
    var seen: [CloudCompletion] = []
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        for (completion, _) in inbox.take() { if case .cloud(let cloud) = completion { seen.append(cloud) } }
        if done(seen) { return seen }
        usleep(20_000)
    }
    return nil
}

/// A test's own setup failed (no port, no broker, openssl refused).
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
