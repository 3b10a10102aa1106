import Foundation
import Glibc
import HubCore
import HubKernel

/// A directory standing in for the cloud's artifact bucket: `fetch` reads
/// `<root>/<artifact path>` and answers through the completion sink.
///
/// The document's paths are already plain relative segments (`DeploymentDocument.isSafePath`);
/// this also refuses what the file system could make of them — a symbolic link out of
/// the root, a file larger than the document said or than any artifact may be — so the
/// store can only ever hand over bytes from inside its root.
public final class DirectoryArtifactStore: ArtifactPort {
    public let root: String
    private let completions: any CompletionSink

    public init(root: String, completions: any CompletionSink) throws {
        var status = stat()
        guard stat(root, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw DeploymentFailure("\(root): not a directory")
        }
        guard let resolved = realpath(root, nil) else { throw DeploymentFailure("\(root): \(String(cString: strerror(errno)))") }
        self.root = String(cString: resolved)
        free(resolved)
        self.completions = completions
    }

    public func fetch(_ artifact: DeploymentDocument.Artifact, at now: Instant) {
        completions.complete(.artifactFetched(artifact, read(artifact)), at: now)
    }

    private func read(_ artifact: DeploymentDocument.Artifact) -> Result<[UInt8], DeploymentFailure> {
        guard DeploymentDocument.isSafePath(artifact.path) else { return .failure(DeploymentFailure("not a path inside the store")) }
        let path = root + "/" + artifact.path
        guard let resolved = realpath(path, nil) else { return .failure(DeploymentFailure("not found in \(root): \(String(cString: strerror(errno)))")) }
        let real = String(cString: resolved)
        free(resolved)
        guard real.hasPrefix(root + "/") else { return .failure(DeploymentFailure("leads outside \(root) (a symbolic link)")) }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(DeploymentFailure(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return .failure(DeploymentFailure("not a regular file")) }
        let limit = min(artifact.bytes, DeploymentDocument.artifactBytesMax)
        guard Int(status.st_size) <= limit else {
            return .failure(DeploymentFailure("\(status.st_size) bytes, more than the \(artifact.bytes) the document says"))
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var done = 0
        while done < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { break }
            done += got
        }
        return .success(Array(bytes.prefix(done)))
    }
}

/// The host's free space for a deployment's prerequisites: the state directory's file
/// system (statvfs) and the kernel's estimate of available memory (`MemAvailable`).
public final class LiveHostResources: HostResources {
    public let stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public func freeBytes() -> (disk: Int64, memory: Int64) {
        var fs = statvfs()
        let disk = statvfs(stateDirectory, &fs) == 0 ? Int64(fs.f_bavail) * Int64(fs.f_frsize) : 0
        return (disk, Self.memoryAvailable() ?? 0)
    }

    /// `MemAvailable` from /proc/meminfo, in bytes.
    static func memoryAvailable() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kilobytes = Int64(fields[1]) { return kilobytes * 1024 }
        }
        return nil
    }
}
