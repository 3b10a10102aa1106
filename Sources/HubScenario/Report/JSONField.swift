import Foundation
import HubCore

/// A value read from a report file, with the path that leads to it, so that a bad field
/// is refused as `shard-2.json: scenarios[3].runs[0].seed: expected a whole number`.
///
/// Why: `report merge` reads files other machines wrote; a truncated or hand-edited one
/// must name what is wrong and where, never trap or drop a run without a word.
public struct JSONField: Sendable {
    public let value: JSONValue
    /// `scenarios[3].runs[0].seed`; empty at the top.
    public let path: String
    public let file: String

    /// Reads the JSON document at `path`.
    public static func read(path: String) throws(ReportReadError) -> JSONField {
        let bytes: [UInt8]
        do { bytes = try FileContents.bytes(atPath: path, maximumBytes: 512 << 20) } catch { throw ReportReadError(file: path, path: "", reason: "\(error)") }
        return try parse(bytes, file: path)
    }

    /// Parses `bytes` as one JSON document, naming `file` in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportReadError) -> JSONField {
        guard !bytes.isEmpty else { throw ReportReadError(file: file, path: "", reason: "the file is empty") }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ReportReadError(file: file, path: "", reason: "not UTF-8 text (a report file is JSON)")
        }
        do {
            return JSONField(value: try JSONValue.parse(bytes), path: "", file: file)
        } catch {
            throw ReportReadError(file: file, path: "", reason: "not valid JSON (\(error))")
        }
    }

    func fail(_ reason: String) -> ReportReadError { ReportReadError(file: file, path: path, reason: reason) }

    private func child(_ value: JSONValue, _ step: String) -> JSONField {
        JSONField(value: value, path: path.isEmpty || step.hasPrefix("[") ? path + step : path + "." + step, file: file)
    }

    public func object() throws(ReportReadError) -> [String: JSONField] {
        guard case .object(let members) = value else { throw fail("expected an object") }
        var out: [String: JSONField] = [:]
        for (key, member) in members { out[key] = child(member, key) }
        return out
    }

    public func array() throws(ReportReadError) -> [JSONField] {
        guard case .array(let items) = value else { throw fail("expected an array") }
        return items.enumerated().map { child($1, "[\($0)]") }
    }

    public func string() throws(ReportReadError) -> String {
        guard case .string(let text) = value else { throw fail("expected a string") }
        return text
    }

    public func bool() throws(ReportReadError) -> Bool {
        guard case .bool(let flag) = value else { throw fail("expected true or false") }
        return flag
    }

    public func double() throws(ReportReadError) -> Double {
        guard case .number(let number) = value, number.isFinite else { throw fail("expected a number") }
        return number
    }

    /// A whole number in `range`. JSON numbers are read as doubles, so only those up to
    /// 2^53 are exact; a larger one is refused rather than rounded.
    public func integer(in range: ClosedRange<Int64> = -(1 << 53)...(1 << 53)) throws(ReportReadError) -> Int64 {
        guard case .number(let number) = value, number.isFinite, number == number.rounded(),
              abs(number) <= 9_007_199_254_740_992 else {
            throw fail("expected a whole number (at most 2^53 in magnitude)")
        }
        let whole = Int64(number)
        guard range.contains(whole) else { throw fail("\(whole) is outside \(range.lowerBound)…\(range.upperBound)") }
        return whole
    }

    public var isNull: Bool { value == .null }
}

extension [String: JSONField] {
    /// The member `key`, or an error naming it.
    func required(_ key: String, in parent: JSONField) throws(ReportReadError) -> JSONField {
        guard let field = self[key] else {
            throw parent.fail("missing field '\(key)'")
        }
        return field
    }

    /// The member `key` unless absent or null.
    func optional(_ key: String) -> JSONField? {
        guard let field = self[key], !field.isNull else { return nil }
        return field
    }
}

/// A report file that cannot be read: the file, the field path and what is wrong.
public struct ReportReadError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let path: String
    public let reason: String

    public var description: String { path.isEmpty ? "\(file): \(reason)" : "\(file): \(path): \(reason)" }
}
