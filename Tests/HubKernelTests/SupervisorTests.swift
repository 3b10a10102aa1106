import HubCore
import HubKernel
import Testing

/// Recipes for the supervisor's specifications: `a` has no dependencies, `b` needs `a`,
/// `c` needs `b`; one health policy throughout (probe every 30 s, answer within 10 s,
/// 3 failures in 10 min make it broken, restarts after 1 s doubling up to 60 s).
private func recipe(_ name: String, after dependencies: [String] = [], version: SemanticVersion = .init(1, 0, 0),
                    health: HealthPolicy = HealthPolicy()) -> ComponentRecipe {
    ComponentRecipe(name: name, version: version,
                    dependencies: dependencies.map { .init(name: $0, versions: VersionRange(caret: .init(1, 0, 0))) },
                    lifecycle: .external(arguments: ["/bin/\(name)"]), access: AccessPolicy(publish: [], subscribe: []), health: health)
}

private let t0 = Instant(secondsSinceEpoch: 1_700_000_000)

/// Drives a supervisor like a host whose components come up at once when launched.
private struct Host {
    var supervisor: Supervisor
    var log: [String] = []
    var timers: [(Supervisor.Timer, Instant)] = []
    /// Components that do not come up when launched (they crash at start).
    var crashing: Set<String> = []

    init(_ recipes: [ComponentRecipe]) throws { supervisor = Supervisor(recipes: try RecipeSet(recipes)) }

    mutating func run(_ actions: [Supervisor.Action], now: Instant) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            switch action {
            case .launch(let name):
                log.append("launch \(name)")
                queue += supervisor.handle(crashing.contains(name) ? .exited(name, reason: "crashed") : .started(name), now: now)
            case .terminate(let name, let reason): log.append("terminate \(name): \(reason)")
            case .probe(let name, let probe, let deadline, let at):
                log.append("probe \(name) #\(probe)")
                timers.append((deadline, at))
            case .schedule(let timer, let at): timers.append((timer, at))
            case .stateChanged(let name, let from, let to, _): log.append("\(name) \(from.rawValue)→\(to.rawValue)")
            }
        }
    }

    /// Fires due timers in time order up to `until`; probes are answered unless `hung`.
    mutating func advance(until: Instant, hung: Set<String> = []) {
        while let next = timers.enumerated().filter({ $0.element.1 <= until }).min(by: { $0.element.1 < $1.element.1 }) {
            timers.remove(at: next.offset)
            let (timer, at) = next.element
            let actions = supervisor.handle(.timer(timer), now: at)
            var answers: [Supervisor.Event] = []
            for case .probe(let name, let probe, _, _) in actions where !hung.contains(name) { answers.append(.probeAnswered(name, probe: probe)) }
            run(actions, now: at)
            for answer in answers { run(supervisor.handle(answer, now: at), now: at) }
        }
    }
}

@Suite("Recipe sets")
struct RecipeSetTests {
    @Test("components start after their dependencies, ties in the order listed")
    func order() throws {
        let set = try RecipeSet([recipe("c", after: ["b"]), recipe("b", after: ["a"]), recipe("x"), recipe("a")])
        #expect(set.ordered.map(\.name) == ["x", "a", "b", "c"])
    }

    @Test("a missing dependency, a version outside the range, a duplicate and a cycle are refused by name")
    func refusals() {
        #expect(throws: RecipeSetError.missingDependency(component: "b", dependency: "a")) { try RecipeSet([recipe("b", after: ["a"])]) }
        #expect(throws: RecipeSetError.versionMismatch(component: "b", dependency: "a", wanted: "^1.0.0", found: .init(2, 0, 0))) {
            try RecipeSet([recipe("a", version: .init(2, 0, 0)), recipe("b", after: ["a"])])
        }
        #expect(throws: RecipeSetError.duplicate("a")) { try RecipeSet([recipe("a"), recipe("a")]) }
        #expect(throws: RecipeSetError.cycle(["a", "c", "b", "a"])) {
            try RecipeSet([recipe("a", after: ["c"]), recipe("b", after: ["a"]), recipe("c", after: ["b"]), recipe("d")])
        }
        #expect(RecipeSetError.cycle(["a", "b", "a"]).description == "the dependencies form a cycle: a → b → a")
    }

    @Test("the built-in recipes form a set whose producers start after their consumers")
    func builtins() throws {
        let set = try RecipeSet(BuiltinRecipes.all)
        let order = set.ordered.map(\.name)
        #expect(BuiltinRecipes.all.map(\.name).sorted() == ComponentRecipe.builtinNames.sorted())
        for producer in ["sensor", "kit-bridge"] {
            for consumer in ["inference", "uplink"] { #expect(order.firstIndex(of: consumer)! < order.firstIndex(of: producer)!) }
        }
    }
}

@Suite("Supervisor")
struct SupervisorTests {
    @Test("starts in dependency order and stops in reverse")
    func startAndStop() throws {
        var host = try Host([recipe("c", after: ["b"]), recipe("b", after: ["a"]), recipe("a")])
        host.run(host.supervisor.start(now: t0), now: t0)
        #expect(host.log.filter { $0.hasPrefix("launch") } == ["launch a", "launch b", "launch c"])
        #expect(Supervisor.State.allCases.filter { $0 == .running }.count == 1)
        #expect(["a", "b", "c"].allSatisfy { host.supervisor.state(of: $0) == .running })
        host.log.removeAll()
        host.run(host.supervisor.stop(now: t0 + .seconds(5)), now: t0 + .seconds(5))
        #expect(host.log.filter { $0.hasPrefix("terminate") } == ["terminate c: hub stopping", "terminate b: hub stopping", "terminate a: hub stopping"])
        #expect(["a", "b", "c"].allSatisfy { host.supervisor.state(of: $0) == .stopped })
    }

    @Test("a crashed component restarts after 1 s, 2 s, then is broken at the third failure within the window")
    func crashLoop() throws {
        var host = try Host([recipe("a"), recipe("b", after: ["a"])])
        host.run(host.supervisor.start(now: t0), now: t0)
        host.crashing = ["a"]
        host.run(host.supervisor.handle(.exited("a", reason: "signal 9"), now: t0 + .seconds(100)), now: t0 + .seconds(100))
        #expect(host.supervisor.state(of: "a") == .errored)
        #expect(host.timers.contains { $0.0 == .restart(component: "a", launch: 2) && $0.1 == t0 + .seconds(101) })
        host.advance(until: t0 + .seconds(200))
        #expect(host.log.filter { $0.hasPrefix("a ") } == ["a waiting→starting", "a starting→running", "a running→errored",
                                                            "a errored→starting", "a starting→errored", "a errored→starting", "a starting→broken"])
        #expect(host.supervisor.state(of: "a") == .broken)
        // The dependent that already ran keeps running: a failure never takes the others down.
        #expect(host.supervisor.state(of: "b") == .running)
        #expect(host.supervisor.entries.first { $0.recipe.name == "a" }!.restarts == 2)
    }

    @Test("failures spread wider than the window never make a component broken")
    func failuresAgeOut() throws {
        var host = try Host([recipe("a")])
        host.run(host.supervisor.start(now: t0), now: t0)
        for minute in stride(from: 10, through: 100, by: 6) {
            let now = t0 + .seconds(Int64(minute) * 60)
            host.advance(until: now)
            #expect(host.supervisor.state(of: "a") == .running, "minute \(minute)")
            host.run(host.supervisor.handle(.exited("a", reason: "crash"), now: now), now: now)
        }
        host.advance(until: t0 + .seconds(7_000))
        #expect(host.supervisor.state(of: "a") == .running)
        #expect(host.supervisor.entries[0].restarts == 16)
    }

    @Test("a hung component misses its probe, is terminated and restarted")
    func hang() throws {
        var host = try Host([recipe("a")])
        host.run(host.supervisor.start(now: t0), now: t0)
        host.advance(until: t0 + .seconds(35), hung: ["a"])
        // Probe at 30 s, deadline at 40 s.
        #expect(host.supervisor.state(of: "a") == .running)
        host.advance(until: t0 + .seconds(40), hung: ["a"])
        #expect(host.log.contains("terminate a: no answer to a health probe within 10s"))
        #expect(host.supervisor.state(of: "a") == .errored)
        host.advance(until: t0 + .seconds(41))
        #expect(host.supervisor.state(of: "a") == .running)
        host.advance(until: t0 + .seconds(600))
        #expect(host.supervisor.state(of: "a") == .running)
        #expect(host.supervisor.entries[0].restarts == 1)
    }

    @Test("restart delays double up to the cap")
    func backoff() {
        let policy = HealthPolicy(restartDelay: .seconds(1), restartDelayMax: .seconds(60))
        #expect((1...9).map { policy.restartDelay(afterFailures: $0) } == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        #expect(policy.restartDelay(afterFailures: 1_000_000) == .seconds(60))
    }

    @Test("a component waits while a dependency is broken, and stale timers do nothing")
    func waitsOnBrokenDependency() throws {
        var host = try Host([recipe("a", health: HealthPolicy(failuresMax: 1)), recipe("b", after: ["a"])])
        host.crashing = ["a"]
        host.run(host.supervisor.start(now: t0), now: t0)
        #expect(host.supervisor.state(of: "a") == .broken)
        #expect(host.supervisor.state(of: "b") == .waiting)
        host.advance(until: t0 + .seconds(3_600))
        #expect(!host.log.contains("launch b"))
        // Timers of an earlier launch are ignored.
        #expect(host.supervisor.handle(.timer(.restart(component: "a", launch: 0)), now: t0).isEmpty)
        #expect(host.supervisor.handle(.started("a"), now: t0).isEmpty)
    }

    @Test("a redeploy restarts only the components whose recipe changed, with a clean failure count, and adds new ones")
    func redeploy() throws {
        var host = try Host([recipe("a"), recipe("b", after: ["a"]), recipe("c")])
        host.run(host.supervisor.start(now: t0), now: t0)
        host.crashing = ["b"]
        host.run(host.supervisor.handle(.exited("b", reason: "crashed"), now: t0 + .seconds(1)), now: t0 + .seconds(1))
        #expect(host.supervisor.entries.first { $0.recipe.name == "b" }?.failures.count == 1)
        host.crashing = []
        host.log = []
        let set = try RecipeSet([recipe("a"), recipe("b", after: ["a"], version: .init(1, 1, 0)), recipe("c"), recipe("d", after: ["c"])])
        host.run(host.supervisor.redeploy(set, now: t0 + .seconds(2)), now: t0 + .seconds(2))
        #expect(host.log == ["b errored→waiting", "b waiting→starting", "launch b", "d waiting→starting", "launch d", "b starting→running", "d starting→running"])
        #expect(host.supervisor.entries.first { $0.recipe.name == "b" }?.failures.isEmpty == true)
        #expect(host.supervisor.entries.map(\.recipe.identifier) == ["a@1.0.0", "b@1.1.0", "c@1.0.0", "d@1.0.0"])
        // The restart the crash had scheduled belongs to the old recipe's run.
        host.advance(until: t0 + .seconds(10))
        #expect(host.log.filter { $0 == "launch b" }.count == 1)
        host.log = []
        host.run(host.supervisor.redeploy(set, now: t0 + .seconds(20)), now: t0 + .seconds(20))
        #expect(host.log.isEmpty, "the same recipes change nothing")
        host.run(host.supervisor.redeploy(try RecipeSet([recipe("a"), recipe("b", after: ["a"]), recipe("c"), recipe("d", after: ["c"])]), now: t0 + .seconds(30)),
                 now: t0 + .seconds(30))
        #expect(host.log.prefix(2) == ["terminate b: replaced by b@1.0.0", "b running→waiting"])
    }
}
