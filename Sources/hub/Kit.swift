import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubLive
import HubStore

/// `hub kit enroll|list|revoke`: the monitoring kits' identities (docs/kits.md, "Kit identity").
///
/// The hub's kit authority and enrolment record live in its state directory, so these
/// commands work whether the hub runs or not; `revoke` also tells a running hub through
/// its control socket, which shuts the kit out at once (its broker restarts).
struct Kit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol, list and revoke the monitoring kits' certificates.",
        subcommands: [Enroll.self, List.self, Revoke.self])

    /// Where the hub keeps its state: `--state-dir`, else the configuration file's `state_dir`, else `hub-state`.
    struct Place: ParsableArguments {
        @Option(name: .customLong("config"), help: "The hub's configuration file (for state_dir, control_socket and local_broker's certificate settings).")
        var configFile: String?

        @Option(name: .customLong("state-dir"), help: "The hub's state directory (overrides the file's state_dir). (default: hub-state)")
        var stateDirectory: String?

        func file() throws -> HubConfigFile? {
            guard let configFile else { return nil }
            do { return try HubConfigFile.load(path: configFile) } catch { throw ValidationError("\(error)") }
        }

        func directory(_ file: HubConfigFile?) throws -> String {
            let directory = stateDirectory ?? file?.stateDirectory?.value ?? "hub-state"
            do { try StateDirectory.prepare(directory) } catch { throw ValidationError("\(directory): \(error)") }
            return directory
        }

        static func store(_ directory: String) throws -> KitEnrolmentStore {
            do { return try KitEnrolmentStore(path: directory + "/kits.sqlite") } catch { throw ValidationError("\(error)") }
        }
    }

    /// The wall clock: certificates' dates are real.
    static func now() -> Instant { LiveClock().now }

    static func device(_ text: String) throws -> DeviceID {
        do { return try DeviceID(validating: text) } catch { throw ValidationError("\(error)") }
    }

    /// `2027-12-02 07:23:37Z`.
    static func date(_ instant: Instant) -> String { KitAuthority.utcText(instant) }

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a key and certificate for a new kit: <out>/<id>.key (owner-only), <id>.crt and the authority's ca.crt.")

        @Argument(help: "The kit's device id (as in the configuration's kits).")
        var deviceID: String

        @Option(help: "Directory to write the kit's files to (created owner-only; existing files are not overwritten).")
        var out: String

        @Option(help: "How long the certificate is valid (default: the file's local_broker.certificate_validity, else 365d).")
        var validity: String?

        @OptionGroup var place: Place

        func run() throws {
            let device = try Kit.device(deviceID)
            let file = try place.file()
            var validity = file?.kitIdentity?.validity ?? KitAuthority.validityDefault
            if let text = self.validity {
                do { validity = try DurationText.parse(text) } catch { throw ValidationError("--validity: \(error)") }
                guard KitAuthority.validityRange.contains(validity) else {
                    throw ValidationError("--validity \(text): \(DurationText.format(KitAuthority.validityRange))")
                }
            }
            for name in ["\(device).key", "\(device).crt"] where access(out + "/" + name, F_OK) == 0 {
                throw ValidationError("--out: \(out)/\(name) exists; enrolment never overwrites a kit's files")
            }
            let directory = try place.directory(file)
            let store = try Place.store(directory)
            let now = Kit.now()
            if let current = try store.current().first(where: { $0.device == device && $0.revokedAt == nil && $0.notAfter > now }) {
                throw ValidationError("\(device) is enrolled (certificate \(current.serial), valid until \(Kit.date(current.notAfter))): revoke it first (hub kit revoke \(device))")
            }
            let certificate: KitCertificate
            do {
                let authority = try KitAuthority.open(stateDirectory: directory, now: now)
                certificate = try authority.enrol(device, validity: validity, into: out, now: now)
                try store.enrol(certificate, at: now)
            } catch {
                throw ValidationError("enrolling \(device): \(error)")
            }
            if let file, !file.kits.contains(where: { $0.id == device }) {
                FileHandle.standardError.write(Data("hub kit: \(device) is not among \(file.file)'s kits yet: add it there for the hub to take its readings\n".utf8))
            }
            print("enrolled \(device): certificate \(certificate.serial), valid until \(Kit.date(certificate.notAfter)); \(out)/\(device).key (owner-only), \(out)/\(device).crt, \(out)/ca.crt")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every kit certificate on record, with its expiry and state.")

        @Flag(help: "Every certificate ever issued, not only each kit's latest.")
        var all = false

        @OptionGroup var place: Place

        func run() throws {
            let directory = try place.directory(try place.file())
            let store = try Place.store(directory)
            let certificates = try all ? store.certificates() : store.current()
            guard !certificates.isEmpty else {
                print("no kit is enrolled (hub kit enroll <device> --out <dir>)")
                return
            }
            let now = Kit.now()
            var rows = [["device", "serial", "valid until", "state"]]
            for certificate in certificates {
                let state: String
                if let revokedAt = certificate.revokedAt {
                    state = "revoked \(Kit.date(revokedAt))"
                } else if certificate.notAfter <= now {
                    state = "expired"
                } else {
                    state = "valid, \(DurationText.format(.seconds((certificate.notAfter - now).nanoseconds / 1_000_000_000))) left"
                }
                rows.append([certificate.device.rawValue, certificate.serial, Kit.date(certificate.notAfter), state])
            }
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a kit's certificate: recorded, put on the broker's revocation list, and a running hub shuts the kit out at once.")

        @Argument(help: "The kit's device id.")
        var deviceID: String

        @Option(name: .customLong("control-socket"), help: "The running hub's control socket (default: the file's control_socket, else <state dir>/control.sock).")
        var controlSocket: String?

        @OptionGroup var place: Place

        func run() throws {
            let device = try Kit.device(deviceID)
            let file = try place.file()
            let directory = try place.directory(file)
            let store = try Place.store(directory)
            let now = Kit.now()
            let revoked: [KitCertificate]
            do {
                revoked = try store.revoke(device, at: now)
                guard !revoked.isEmpty else {
                    throw ValidationError("\(device) has no certificate in force (hub kit list)")
                }
                let authority = try KitAuthority.open(stateDirectory: directory, now: now)
                for certificate in revoked { try authority.revoke(serial: certificate.serial) }
            } catch let error as ValidationError {
                throw error
            } catch {
                throw ValidationError("revoking \(device): \(error)")
            }
            print("revoked \(device): certificate \(revoked.map(\.serial).joined(separator: ", ")) is on the kits' broker's revocation list")
            let socket = controlSocket ?? file?.controlSocket?.value ?? directory + "/control.sock"
            guard access(socket, F_OK) == 0 else {
                print("no hub is running at \(socket): the revocation takes effect when it starts")
                return
            }
            do {
                let client = try ControlClient(path: socket)
                for certificate in revoked {
                    _ = try client.request("kit-revoked", [("device", .string(device.rawValue)), ("serial", .string(certificate.serial))])
                }
                print("the running hub refuses \(device) and restarted its kits' broker")
            } catch {
                throw ValidationError("the revocation is recorded, but the running hub at \(socket) did not take it: \(error); restart the hub")
            }
        }
    }
}
