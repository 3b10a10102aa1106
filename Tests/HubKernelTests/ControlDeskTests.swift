import Foundation
import HubCore
import HubKernel
import Testing

private struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("Control desk: the hub answers control requests and keeps the faults injected through them")
struct ControlDeskTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    func desk(wireFaults: Bool = true) -> ControlDesk {
        ControlDesk(thing: "hub1", componentNames: ["sensor", "inference", "display", "uplink"], wireFaults: wireFaults)
    }

    func status(_ faults: [ActiveFault]) -> HubStatus {
        HubStatus(thing: "hub1", now: t0, components: [.init(name: "sensor", state: "running")],
                  devices: [.init(id: "hvac", kind: .furnace, sensorHealth: .ok, condition: .normal, model: "furnace-ae@2.2.1")],
                  cloudConnected: true, outboxDepth: 3, unacknowledged: 2, deploymentID: nil, faults: faults)
    }

    /// The reply as a JSON object, and the effects.
    func ask(_ desk: inout ControlDesk, _ line: String, at time: Instant? = nil) throws -> ([String: JSONValue], [ControlDesk.Effect]) {
        let (reply, _, effects) = desk.handle(line: Array(line.utf8)[...], now: time ?? t0, status: status)
        #expect(reply.last == 0x0A, "one line per reply")
        #expect(reply.dropLast().allSatisfy { $0 != 0x0A })
        guard case .object(let object) = try JSONValue.parse(reply) else {
            throw TestFailure("reply is not an object: \(String(decoding: reply, as: UTF8.self))")
        }
        #expect(object["v"] == .number(1))
        return (object, effects)
    }

    func errorCode(_ reply: [String: JSONValue]) -> String? {
        guard reply["ok"] == .bool(false), case .object(let error)? = reply["error"], case .string(let code)? = error["code"] else { return nil }
        return code
    }

    func errorMessage(_ reply: [String: JSONValue]) -> String {
        guard case .object(let error)? = reply["error"], case .string(let message)? = error["message"] else { return "" }
        return message
    }

    @Test("malformed requests get an error reply that says what is wrong, with the id echoed when there is one")
    func malformed() throws {
        var desk = desk()
        let cases: [(line: String, code: String, says: String)] = [
            ("not json", "bad_request", "not a JSON object"),
            ("[1, 2]", "bad_request", "a request is a JSON object"),
            (#"{"id": 4, "op": "status"}"#, "bad_request", "v (the protocol version, 1) is required"),
            (#"{"v": 2, "id": 4, "op": "status"}"#, "unsupported_version", "protocol version 1, not 2.0"),
            (#"{"v": 1, "id": 4}"#, "bad_request", "op is required"),
            (#"{"v": 1, "id": 4, "op": "reboot"}"#, "unknown_op", "no op reboot; ops: hello, status"),
            (#"{"v": 1, "id": 4, "op": "status", "extra": 1}"#, "bad_request", "status: unknown field extra"),
            (#"{"v": 1, "id": [1], "op": "status"}"#, "bad_request", "id must be a number or a string"),
            (#"{"v": 1, "id": 4, "op": "inject"}"#, "bad_request", "fault (a name such as i2c.0x5f.nack) is required"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.nack", "parameters": {"probability": 2}}"#, "bad_request", "above 0, up to 1"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.nack", "parameters": {"p": 0.5}}"#, "bad_request", "takes no parameter p (it takes probability)"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x80.nack"}"#, "bad_request", "not a 7-bit address"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.slow"}"#, "bad_request", "stretch is required"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.slow", "parameters": {"stretch": "2m"}}"#, "bad_request", "outside 1ms...1m"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.nack", "for": 30}"#, "bad_request", "for must be a duration string"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.nack", "for": "-3s"}"#, "bad_request", "for:"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.nack", "for": "90000d"}"#, "bad_request", "longer than the maximum"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "component.sensor.crash", "for": "3s"}"#, "bad_request", "an instant and takes no for"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "gremlins"}"#, "unknown_fault", "the hub injects i2c.<addr>.absent"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "cloud.offline"}"#, "unsupported", "fault proxy"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "i2c.0x5f.stuck"}"#, "unsupported", "exists only in simulation"),
            (#"{"v": 1, "id": 4, "op": "inject", "fault": "component.mailer.crash"}"#, "bad_request", "no component mailer; this hub runs sensor"),
            (#"{"v": 1, "id": 4, "op": "clear"}"#, "bad_request", "either fault_id"),
            (#"{"v": 1, "id": 4, "op": "clear", "fault_id": "f9"}"#, "not_found", "no fault f9; none is in force"),
        ]
        for item in cases {
            let (reply, effects) = try ask(&desk, item.line)
            #expect(errorCode(reply) == item.code, "\(item.line): \(reply)")
            #expect(errorMessage(reply).contains(item.says), "\(item.line): \(errorMessage(reply))")
            #expect(effects.isEmpty, "a refused request changes nothing")
            if item.line.contains(#""id": 4"#) { #expect(reply["id"] == .number(4)) }
        }
        #expect(desk.active.isEmpty)
        let (tooLong, _) = try ask(&desk, String(repeating: " ", count: ControlProtocol.lineBytesMax + 1))
        #expect(errorCode(tooLong) == "too_large")
    }

    @Test("kit-revoked names a kit of this hub and a hex serial, else a clear error; done, it asks the shell to refuse the kit", arguments: [
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "freezer", "serial": "1002"}"#, nil),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "garage", "serial": "1002"}"#, "not_found"),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "../etc", "serial": "1002"}"#, "bad_request"),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "freezer", "serial": "10 02"}"#, "bad_request"),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "freezer", "serial": 4098}"#, "bad_request"),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "freezer"}"#, "bad_request"),
        (#"{"v": 1, "id": 1, "op": "kit-revoked", "device": "freezer", "serial": "1002", "force": true}"#, "bad_request"),
    ] as [(String, String?)])
    func kitRevoked(line: String, code: String?) throws {
        var desk = ControlDesk(thing: "hub1", componentNames: ["sensor"], wireFaults: false, kits: ["freezer"])
        let (reply, effects) = try ask(&desk, line)
        #expect(errorCode(reply) == code, "\(reply)")
        #expect(effects == (code == nil ? [.kitRevoked(device: "freezer", serial: "1002")] : []))
    }

    @Test("hello and status answer with the protocol version and the hub's state")
    func helloAndStatus() throws {
        var desk = desk()
        let (hello, _) = try ask(&desk, #"{"v": 1, "id": "a", "op": "hello"}"#)
        #expect(hello["id"] == .string("a"))
        #expect(hello["ok"] == .bool(true))
        guard case .object(let result)? = hello["result"] else { throw TestFailure("no result") }
        #expect(result["protocol"] == .number(1))
        #expect(result["thing"] == .string("hub1"))
        let (status, _) = try ask(&desk, #"{"v": 1, "id": 2, "op": "status"}"#)
        guard case .object(let state)? = status["result"], case .array(let devices)? = state["devices"] else { throw TestFailure("no devices") }
        #expect(state["outbox_depth"] == .number(3))
        #expect(state["cloud_connected"] == .bool(true))
        #expect(state["deployment"] == .null)
        #expect(devices == [.object(["id": .string("hvac"), "kind": .string("furnace"), "sensor_health": .string("ok"),
                                     "condition": .string("normal"), "model": .string("furnace-ae@2.2.1")])])
    }

    @Test("inject gives ids in order and says what to apply; one fault per name; clear ends one or all")
    func injectAndClear() throws {
        var desk = desk()
        let (first, effects) = try ask(&desk, #"{"v": 1, "id": 1, "op": "inject", "fault": "i2c.0x5f.nack", "parameters": {"probability": 0.25}}"#)
        guard case .object(let fault)? = first["result"] else { throw TestFailure("no fault: \(first)") }
        #expect(fault["id"] == .string("f1"))
        #expect(fault["name"] == .string("i2c.0x5f.nack"))
        #expect(fault["parameters"] == .object(["probability": .number(0.25)]))
        #expect(fault["until"] == .null)
        #expect(effects.first == .wire(address: 0x5F, .nack(probability: 0.25), active: true))
        #expect(effects.contains(.record(.faultStart(name: "control.f1 i2c.0x5f.nack probability=0.25"))))

        let (again, none) = try ask(&desk, #"{"v": 1, "id": 2, "op": "inject", "fault": "i2c.0x5f.nack"}"#)
        #expect(errorCode(again) == "conflict")
        #expect(errorMessage(again) == "i2c.0x5f.nack is already in force as f1; clear it first")
        #expect(none.isEmpty)

        _ = try ask(&desk, #"{"v": 1, "id": 3, "op": "inject", "fault": "i2c.0x5c.absent"}"#)
        _ = try ask(&desk, #"{"v": 1, "id": 4, "op": "inject", "fault": "component.display.hang"}"#)
        #expect(desk.active.map(\.id) == ["f1", "f2", "f3"])
        let (listed, _) = try ask(&desk, #"{"v": 1, "id": 5, "op": "faults"}"#)
        guard case .object(let list)? = listed["result"], case .array(let faults)? = list["faults"] else { throw TestFailure("no list") }
        #expect(faults.count == 3)

        let (cleared, ended) = try ask(&desk, #"{"v": 1, "id": 6, "op": "clear", "fault_id": "f1"}"#)
        #expect(cleared["result"] == .object(["cleared": .array([.string("f1")])]))
        #expect(ended == [.wire(address: 0x5F, .nack(probability: 0.25), active: false),
                          .record(.faultEnd(name: "control.f1 i2c.0x5f.nack cleared"))])
        let (all, endedAll) = try ask(&desk, #"{"v": 1, "id": 7, "op": "clear", "all": true}"#)
        #expect(all["result"] == .object(["cleared": .array([.string("f2"), .string("f3")])]))
        #expect(endedAll.contains(.wire(address: 0x5C, .absent, active: false)))
        #expect(endedAll.contains(.hang(component: "display", active: false)))
        #expect(desk.active.isEmpty)
        let (reused, _) = try ask(&desk, #"{"v": 1, "id": 8, "op": "inject", "fault": "i2c.0x5f.nack"}"#)
        guard case .object(let next)? = reused["result"] else { throw TestFailure("no fault") }
        #expect(next["id"] == .string("f4"), "ids are never reused")
    }

    @Test("a fault with for ends by itself at its deadline; a crash is an instant and stays in no list")
    func expiry() throws {
        var desk = desk()
        _ = try ask(&desk, #"{"v": 1, "id": 1, "op": "inject", "fault": "i2c.0x5f.timeout", "for": "30s"}"#)
        let (crash, effects) = try ask(&desk, #"{"v": 1, "id": 2, "op": "inject", "fault": "component.sensor.crash"}"#)
        #expect(crash["ok"] == .bool(true))
        #expect(effects.first == .crash(component: "sensor"))
        #expect(desk.active.map(\.fault.name) == ["i2c.0x5f.timeout"])
        #expect(desk.nextExpiry == t0 + .seconds(30))
        #expect(desk.expire(now: t0 + .seconds(29)).isEmpty)
        #expect(desk.expire(now: t0 + .seconds(30)) == [.wire(address: 0x5F, .timeout(probability: 1), active: false),
                                                        .record(.faultEnd(name: "control.f1 i2c.0x5f.timeout expired"))])
        #expect(desk.active.isEmpty)
        #expect(desk.nextExpiry == nil)
    }

    @Test("a hub without a faultable bus refuses wire faults and still takes component faults")
    func noFaultableBus() throws {
        var desk = desk(wireFaults: false)
        let (wire, _) = try ask(&desk, #"{"v": 1, "id": 1, "op": "inject", "fault": "i2c.0x5f.absent"}"#)
        #expect(errorCode(wire) == "unsupported")
        let (hang, _) = try ask(&desk, #"{"v": 1, "id": 2, "op": "inject", "fault": "component.uplink.hang", "for": "1m"}"#)
        #expect(hang["ok"] == .bool(true))
    }

    @Test("ipc.down lasts until cleared, ipc.restart is an instant, ipc.slow and ipc.drop take the catalogue's parameters, on a hub with an IPC bus; a hub without one refuses them")
    func ipcFaults() throws {
        var withIPC = ControlDesk(thing: "hub1", componentNames: ["sensor"], wireFaults: true, ipcFaults: true)
        let (down, downEffects) = try ask(&withIPC, #"{"v": 1, "id": 1, "op": "inject", "fault": "ipc.down", "for": "10s"}"#)
        #expect(down["ok"] == .bool(true))
        #expect(downEffects.first == .ipcDown(active: true))
        let (restart, restartEffects) = try ask(&withIPC, #"{"v": 1, "id": 2, "op": "inject", "fault": "ipc.restart"}"#)
        #expect(restart["ok"] == .bool(true))
        #expect(restartEffects.first == .ipcRestart)
        #expect(withIPC.active.map(\.fault) == [.ipcDown])
        #expect(withIPC.expire(now: t0 + .seconds(10)).first == .ipcDown(active: false))
        let (slow, slowEffects) = try ask(&withIPC, #"{"v": 1, "id": 3, "op": "inject", "fault": "ipc.slow"}"#)
        #expect(slow["ok"] == .bool(true), "the catalogue's default latency")
        #expect(slowEffects.first == .ipcSlow(.seconds(2)))
        let (drop, dropEffects) = try ask(&withIPC, #"{"v": 1, "id": 6, "op": "inject", "fault": "ipc.drop", "parameters": {"p": 0.25}}"#)
        #expect(drop["ok"] == .bool(true))
        #expect(dropEffects.first == .ipcDrop(0.25))
        let (cleared, clearEffects) = try ask(&withIPC, #"{"v": 1, "id": 7, "op": "clear", "all": true}"#)
        #expect(cleared["ok"] == .bool(true))
        #expect(clearEffects.contains(.ipcSlow(nil)) && clearEffects.contains(.ipcDrop(nil)))
        let (badP, _) = try ask(&withIPC, #"{"v": 1, "id": 8, "op": "inject", "fault": "ipc.drop", "parameters": {"p": 2}}"#)
        #expect(errorMessage(badP) == "fault ipc.drop: p must be a number above 0, up to 1")
        let (badLatency, _) = try ask(&withIPC, #"{"v": 1, "id": 9, "op": "inject", "fault": "ipc.slow", "parameters": {"latency": "2h"}}"#)
        #expect(errorCode(badLatency) == "bad_request", "\(badLatency)")
        let (parameter, _) = try ask(&withIPC, #"{"v": 1, "id": 4, "op": "inject", "fault": "ipc.down", "parameters": {"p": 1}}"#)
        #expect(errorMessage(parameter) == "fault ipc.down takes no parameter p")
        var without = desk()
        let (refused, _) = try ask(&without, #"{"v": 1, "id": 5, "op": "inject", "fault": "ipc.down"}"#)
        #expect(errorCode(refused) == "unsupported")
        #expect(errorMessage(refused).contains("--ipc-socket"))
    }

    @Test("the proxy's desk takes only cloud faults, and a hub's refuses them")
    func cloudFaults() throws {
        var proxy = ControlDesk(thing: "cloud-proxy", componentNames: [], wireFaults: false, cloudFaults: true)
        let (latency, effects) = try ask(&proxy, #"{"v": 1, "id": 1, "op": "inject", "fault": "cloud.latency", "parameters": {"extra": "200ms", "jitter": "50ms"}}"#)
        #expect(latency["ok"] == .bool(true))
        #expect(effects.first == .cloud(.latency(extra: .milliseconds(200), jitter: .milliseconds(50)), active: true))
        let (rate, _) = try ask(&proxy, #"{"v": 1, "id": 2, "op": "inject", "fault": "cloud.bandwidth", "parameters": {"rate": 1.5}}"#)
        #expect(errorMessage(rate).contains("rate must be a whole number"))
        let (missing, _) = try ask(&proxy, #"{"v": 1, "id": 3, "op": "inject", "fault": "cloud.reset-after"}"#)
        #expect(errorMessage(missing).contains("bytes is required"))
        let (simOnly, _) = try ask(&proxy, #"{"v": 1, "id": 4, "op": "inject", "fault": "cloud.puback-lost"}"#)
        #expect(errorCode(simOnly) == "unsupported")
        let (hubs, _) = try ask(&proxy, #"{"v": 1, "id": 5, "op": "inject", "fault": "i2c.0x5f.nack"}"#)
        #expect(errorMessage(hubs).contains("the hub's own control socket"))
        var hub = desk()
        let (offline, _) = try ask(&hub, #"{"v": 1, "id": 6, "op": "inject", "fault": "cloud.offline"}"#)
        #expect(errorCode(offline) == "unsupported")
        #expect(errorMessage(offline).contains("fault proxy"))
    }

    @Test("fuzz: mutated requests (the project's Fuzzing harness, fixed seed) each get one reply line, never a crash")
    func controlRequestFuzz() throws {
        var desk = desk()
        let seeds = [
            #"{"v": 1, "id": 1, "op": "inject", "fault": "i2c.0x5f.nack", "parameters": {"probability": 0.5}, "for": "3s"}"#,
            #"{"v": 1, "id": "x", "op": "clear", "fault_id": "f1"}"#,
            #"{"v": 1, "id": 2, "op": "status"}"#,
            #"{"v": 1, "id": 3, "op": "inject", "fault": "i2c.0x5c.slow", "parameters": {"stretch": "20ms"}}"#,
        ].map { Array($0.utf8) }
        let tally = Fuzzing.run(seeds: seeds, base: 0xC0_7201, ci: 3_000) { number, bytes in
            let (reply, _, _) = desk.handle(line: bytes[...], now: t0 + .seconds(Int64(number)), status: status)
            guard reply.last == 0x0A, case .object(let object)? = try? JSONValue.parse(reply) else {
                Issue.record("case \(number): reply is not one JSON object line")
                return false
            }
            _ = desk.expire(now: t0 + .seconds(Int64(number)))
            return object["ok"] == .bool(true)
        }
        #expect(tally.slow.isEmpty, "\(tally.slow.map(\.number))")
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
    }

    @Test("outbox answers the telemetry the hub holds as ranges, at the instant it answered; a desk without an outbox says so")
    func outbox() throws {
        var hub = desk()
        let (reply, _, _) = hub.handle(line: Array(#"{"v": 1, "id": 3, "op": "outbox"}"#.utf8)[...], now: t0 + .seconds(2), status: status,
                                       outbox: { .success(SequenceRanges([4...6, 8...8])) })
        let object = try JSONValue.parse(reply)
        guard case .object(let members) = object, case .object(let result)? = members["result"] else { throw TestFailure("no result") }
        #expect(result["time"] == .number(1_002))
        #expect(result["telemetry"] == .array([.array([.number(4), .number(6)]), .array([.number(8), .number(8)])]))
        var proxy = ControlDesk(thing: "cloud-proxy", componentNames: [], wireFaults: false, cloudFaults: true)
        let (refused, _) = try ask(&proxy, #"{"v": 1, "id": 4, "op": "outbox"}"#)
        #expect(errorCode(refused) == "unsupported", "\(refused)")
        let (failed, _, _) = hub.handle(line: Array(#"{"v": 1, "id": 5, "op": "outbox"}"#.utf8)[...], now: t0, status: status,
                                        outbox: { .failure(.storage("disk I/O error")) })
        #expect(String(decoding: failed, as: UTF8.self).contains("internal_error"))
    }
}
