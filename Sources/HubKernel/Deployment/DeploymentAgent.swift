import HubCore

/// Takes a deployment from the cloud through its steps — defer until the components are at
/// a safe point, check the disk and memory it needs, download and verify its artifacts,
/// validate them (recipes resolve, model packages pass their golden self-test), apply it,
/// watch a health window — then commits it, or rolls back to the last good configuration;
/// it reports every step.
///
/// Sans-I/O like the supervisor: the host tells it what happened and carries out what it
/// returns. Durability lives in the record it hands the host to persist at the steps that
/// matter: accepted (so a restart resumes it), applying (so a restart knows the hub may be
/// half changed and returns to the old configuration), committed, rolled back or rejected.
/// A power loss therefore ends, after the restart, in the old configuration or the new one,
/// never a mix.
public struct DeploymentAgent: Sendable {
    public enum Event: Sendable {
        /// A document arrived on `hbs/<thing>/deployments`.
        case received([UInt8])
        /// The host's answer to `askSafePoint`: nil when every component asked is at one.
        case safePoint(blocking: String?)
        case resources(diskFreeBytes: Int64, memoryFreeBytes: Int64)
        case fetched(DeploymentDocument.Artifact, Result<[UInt8], DeploymentFailure>)
        /// The host's answer to `validate`.
        case validated(Result<Void, DeploymentFailure>)
        /// The store could not keep a downloaded artifact (a full disk).
        case storageFailed(String)
        /// A component failed (the supervisor moved it to errored or broken).
        case componentFailed(String, reason: String)
        case timer(Timer)
    }

    public enum Timer: Equatable, Sendable {
        case deferCheck(attempt: Int)
        case healthWindowEnd(attempt: Int)
        case rollbackDeadline(attempt: Int)
    }

    public enum Action: Equatable, Sendable {
        case report(DeploymentStatus)
        case persist(DeploymentRecord)
        case askSafePoint([String])
        case measureResources
        case fetch(DeploymentDocument.Artifact)
        case keep(artifact: [UInt8], sha256: String)
        case validate(DeployedConfiguration)
        /// Stop what changes, start the new; report failures as `componentFailed`, and during a
        /// rollback call `rollbackSettled` once every component in `changed` runs again.
        case apply(DeployedConfiguration, changed: [String])
        case schedule(Timer, at: Instant)
    }

    private enum Phase: Equatable {
        case idle
        case deferring(since: Instant)
        case checking
        case fetching(next: Int)
        case validating
        case watching(changed: [String], until: Instant)
        case rollingBack(changed: [String], failedAt: Instant, reason: String)
    }

    public private(set) var record: DeploymentRecord
    /// The versions of the hub's own components (the host's recipes before any deployment),
    /// for a document that configures a component without naming a version. Only looked up.
    public var baseVersions: [String: SemanticVersion] = [:]
    private var phase: Phase = .idle
    /// Numbers each attempt, so the timers of an earlier one are recognised and ignored.
    private var attemptNumber = 0
    /// Documents that arrived while one was under way, oldest first.
    private var queued: [DeploymentDocument] = []
    /// How often a deferring deployment asks again.
    public static let deferPoll: Duration = .seconds(10)
    public static let rollbackTimeout: Duration = .seconds(600)
    public static let queueMax = 8

    /// Starts from the durable record (nil: a hub never deployed to). Returns the
    /// configuration to boot with and what to do: a deployment that was applying when the
    /// hub went down is over — the hub boots in the old configuration and reports it rolled
    /// back; one that had not changed anything yet starts again.
    public init(record: DeploymentRecord?) {
        self.record = record ?? DeploymentRecord()
    }

    /// What the hub boots with.
    public var bootConfiguration: DeployedConfiguration { record.good }

    public var busy: Bool { phase != .idle }

    /// Called once the hub's components are started.
    public mutating func boot(now: Instant) -> [Action] {
        guard let attempt = record.attempt else { return [] }
        if attempt.target != nil {
            let id = attempt.document.id
            let detail = "the hub restarted while the deployment was being applied; it runs the previous configuration (\(record.good.deploymentID ?? "factory"))"
            record.attempt = nil
            record.remember(id, .rolledBack, detail)
            return [.persist(record), report(id, "rollback", .rolledBack, detail, now)]
        }
        return begin(attempt.document, now: now, resumed: true)
    }

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .received(let bytes):
            let document: DeploymentDocument
            do { document = try DeploymentDocument.parse(bytes) } catch {
                // Without an id there is nobody to answer by name; the status says what was wrong.
                return [report(Self.idOf(bytes) ?? "unknown", "received", .rejected, "the document is not valid: \(error)", now)]
            }
            if let outcome = record.outcomes.first(where: { $0.id == document.id }) {
                return [report(document.id, "received", outcome.state, "already done: \(outcome.detail)", now)]
            }
            if record.attempt?.document.id == document.id || queued.contains(where: { $0.id == document.id }) { return [] }
            guard !busy else {
                guard queued.count < Self.queueMax else {
                    return [report(document.id, "received", .rejected, "\(Self.queueMax) deployments already wait", now)]
                }
                queued.append(document)
                return [report(document.id, "received", .inProgress, "queued behind \(record.attempt?.document.id ?? "another deployment")", now)]
            }
            return begin(document, now: now, resumed: false)
        case .safePoint(let blocking):
            guard case .deferring(let since) = phase, let document = record.attempt?.document else { return [] }
            if let blocking {
                if now - since < document.deferMax {
                    return [.schedule(.deferCheck(attempt: attemptNumber), at: now + Self.deferPoll)]
                }
                return [report(document.id, "deferred", .inProgress, "\(blocking), but the deferral's \(DurationText.format(document.deferMax)) are up: going ahead", now)]
                    + check(now: now)
            }
            let waited = now - since
            let note = waited > .zero ? "safe point reached after \(DurationText.format(waited))" : "every component is at a safe point"
            return [report(document.id, "deferred", .inProgress, note, now)] + check(now: now)
        case .resources(let disk, let memory):
            guard phase == .checking, let document = record.attempt?.document else { return [] }
            if disk < document.diskBytesRequired {
                return reject("prerequisites", "needs \(Self.megabytes(document.diskBytesRequired)) of disk, \(Self.megabytes(disk)) free", now: now)
            }
            if memory < document.memoryBytesRequired {
                return reject("prerequisites", "needs \(Self.megabytes(document.memoryBytesRequired)) of memory, \(Self.megabytes(memory)) free", now: now)
            }
            phase = .fetching(next: 0)
            return [report(document.id, "prerequisites", .inProgress,
                           "\(Self.megabytes(disk)) of disk and \(Self.megabytes(memory)) of memory free", now)] + fetchNext(now: now)
        case .fetched(let artifact, let result):
            guard case .fetching(let next) = phase, let document = record.attempt?.document,
                  next < document.artifacts.count, document.artifacts[next] == artifact else { return [] }
            let bytes: [UInt8]
            switch result {
            case .failure(let failure): return reject("download", "\(artifact.path): \(failure.reason)", now: now)
            case .success(let fetched): bytes = fetched
            }
            guard bytes.count == artifact.bytes else {
                return reject("verify", "\(artifact.path): \(bytes.count) bytes, the document says \(artifact.bytes)", now: now)
            }
            let digest = SHA256.hex(bytes)
            guard digest == artifact.sha256 else {
                return reject("verify", "\(artifact.path): SHA-256 \(digest), the document says \(artifact.sha256)", now: now)
            }
            phase = .fetching(next: next + 1)
            return [.keep(artifact: bytes, sha256: digest)] + fetchNext(now: now)
        case .storageFailed(let reason):
            guard case .fetching = phase else { return [] }
            return reject("download", "cannot keep the artifact: \(reason)", now: now)
        case .validated(let result):
            guard phase == .validating, var attempt = record.attempt else { return [] }
            if case .failure(let failure) = result { return reject("validate", failure.reason, now: now) }
            let target = self.target(of: attempt.document)
            attempt.target = target
            record.attempt = attempt
            let changed = record.good.changedComponents(to: target)
            let window = attempt.document.healthWindow
            phase = .watching(changed: changed, until: now + window)
            let id = attempt.document.id
            return [.persist(record),
                    report(id, "apply", .inProgress, changed.isEmpty ? "nothing changes" : "restarting \(changed.joined(separator: ", "))", now),
                    .apply(target, changed: changed),
                    .schedule(.healthWindowEnd(attempt: attemptNumber), at: now + window)]
        case .componentFailed(let name, let reason):
            guard case .watching(let changed, _) = phase, changed.contains(name), let attempt = record.attempt else { return [] }
            phase = .rollingBack(changed: changed, failedAt: now, reason: "\(name) failed: \(reason)")
            return [report(attempt.document.id, "health-window", .inProgress, "\(name) failed: \(reason); rolling back", now),
                    .apply(record.good, changed: changed),
                    .schedule(.rollbackDeadline(attempt: attemptNumber), at: now + Self.rollbackTimeout)]
        case .timer(let timer):
            switch timer {
            case .deferCheck(let number):
                guard number == attemptNumber, case .deferring = phase, let document = record.attempt?.document else { return [] }
                return [.askSafePoint(document.deferTo)]
            case .healthWindowEnd(let number):
                guard number == attemptNumber, case .watching = phase, let attempt = record.attempt, let target = attempt.target else { return [] }
                record.good = target
                return finish(attempt.document.id, "commit", .committed,
                              "healthy for \(DurationText.format(attempt.document.healthWindow)); running \(Self.describe(target))", now: now)
            case .rollbackDeadline(let number):
                guard number == attemptNumber, case .rollingBack(let changed, _, let reason) = phase, let attempt = record.attempt else { return [] }
                return finish(attempt.document.id, "rollback", .rolledBack,
                              "\(reason); the previous configuration was applied but \(changed.joined(separator: ", ")) did not all run again within \(DurationText.format(Self.rollbackTimeout))",
                              now: now)
            }
        }
    }

    /// The components a rollback under way waits for to run again.
    public var awaitingRollback: [String]? {
        if case .rollingBack(let changed, _, _) = phase { return changed }
        return nil
    }

    /// The host's word that every component of `awaitingRollback` runs again: the rollback is done.
    public mutating func rollbackSettled(now: Instant) -> [Action] {
        guard case .rollingBack(_, let failedAt, let reason) = phase, let attempt = record.attempt else { return [] }
        let took = now - failedAt
        return finish(attempt.document.id, "rollback", .rolledBack,
                      "\(reason); the previous configuration (\(record.good.deploymentID ?? "factory")) runs again after \(DurationText.format(took))",
                      now: now)
    }

    private mutating func begin(_ document: DeploymentDocument, now: Instant, resumed: Bool) -> [Action] {
        attemptNumber += 1
        record.attempt = DeploymentRecord.Attempt(document: document, target: nil)
        let known = Array(baseVersions.keys) + record.good.components.map(\.name) + document.components.map(\.name)
        if let unknown = (document.configuration.map(\.name) + document.deferTo).first(where: { !known.contains($0) }) {
            return reject("received", "no component \(unknown) runs here or comes with the deployment", now: now)
        }
        let note = resumed ? "resumed after a restart" : "accepted"
        var actions: [Action] = [.persist(record), report(document.id, "received", .inProgress, note, now)]
        if document.deferTo.isEmpty {
            actions += check(now: now)
        } else {
            phase = .deferring(since: now)
            actions.append(.askSafePoint(document.deferTo))
        }
        return actions
    }

    private mutating func check(now: Instant) -> [Action] {
        phase = .checking
        return [.measureResources]
    }

    private mutating func fetchNext(now: Instant) -> [Action] {
        guard case .fetching(let next) = phase, let attempt = record.attempt else { return [] }
        if next < attempt.document.artifacts.count { return [.fetch(attempt.document.artifacts[next])] }
        phase = .validating
        let count = attempt.document.artifacts.count
        return [report(attempt.document.id, "verify", .inProgress, "\(count) artifact\(count == 1 ? "" : "s") downloaded, digests match", now),
                .validate(target(of: attempt.document))]
    }

    private func target(of document: DeploymentDocument) -> DeployedConfiguration {
        record.good.applying(document, versionOf: { baseVersions[$0] })
    }

    private mutating func reject(_ step: String, _ detail: String, now: Instant) -> [Action] {
        guard let id = record.attempt?.document.id else { return [] }
        return finish(id, step, .rejected, detail, now: now)
    }

    /// Ends the attempt durably and starts the next queued one.
    private mutating func finish(_ id: String, _ step: String, _ state: DeploymentStatus.State, _ detail: String, now: Instant) -> [Action] {
        record.attempt = nil
        record.remember(id, state, detail)
        phase = .idle
        var actions: [Action] = [.persist(record), report(id, step, state, detail, now)]
        if !queued.isEmpty { actions += begin(queued.removeFirst(), now: now, resumed: false) }
        return actions
    }

    private func report(_ id: String, _ step: String, _ state: DeploymentStatus.State, _ detail: String, _ now: Instant) -> Action {
        .report(DeploymentStatus(timestamp: now, deploymentID: id, step: step, state: state, detail: detail))
    }

    static func describe(_ configuration: DeployedConfiguration) -> String {
        let parts = configuration.components.map { "\($0.name)@\($0.version)" } + configuration.models.map { "\($0.device): \($0.identifier)" }
        return parts.isEmpty ? "the factory configuration" : parts.joined(separator: ", ")
    }

    static func megabytes(_ bytes: Int64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    /// The `deployment_id` of a document that did not parse, if it has a plain one.
    private static func idOf(_ bytes: [UInt8]) -> String? {
        guard bytes.count <= DeploymentDocument.bytesMax, let text = String(validating: bytes, as: UTF8.self),
              let range = text.range(of: #""deployment_id"\s*:\s*"([A-Za-z0-9._-]{1,64})""#, options: .regularExpression) else { return nil }
        let match = text[range]
        guard let open = match.dropLast().lastIndex(of: "\"") else { return nil }
        return String(match[match.index(after: open)..<match.index(before: match.endIndex)])
    }
}

/// Why a deployment step failed, in words for its status.
public struct DeploymentFailure: Error, Equatable, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
