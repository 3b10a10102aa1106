import HubCore
import HubInference

/// The node as the deployment agent's host: it feeds the agent what happened and carries
/// out what it asks against the deployment ports, the supervisor and the bus.
///
/// Agent events raised while the supervisor's actions are being carried out (a component
/// failed during a health window) wait until the outermost batch is done, so a rollback
/// never starts in the middle of another change.
/// A configuration read from the store and checked, ready to apply.
struct PreparedConfiguration {
    let target: DeployedConfiguration
    let recipes: [ComponentRecipe]
    let set: RecipeSet
    let packages: [(device: DeviceID, package: ModelPackage)]
}

extension HubNode {
    /// Loads the durable record and puts its good configuration in place before the
    /// supervisor starts anything: a restarted hub runs what it last committed.
    func prepareDeployments(now: Instant) {
        guard let ports = ports.deployments else { return }
        if let inference = component(InferenceComponent.self) {
            for device in config.devices.map(\.id) {
                if let detector = inference.detector(of: device) as? PackageDetector { factoryModels.append((device, detector.package)) }
            }
        }
        defer { agent.baseVersions = Dictionary(uniqueKeysWithValues: slots.map { ($0.baseRecipe.name, $0.baseRecipe.version) }) }
        do { agent = DeploymentAgent(record: try ports.store.load()) } catch {
            recordHistory(.componentError(component: "deployments", error: "\(error); booting the factory configuration"), now: now)
            return
        }
        let good = agent.bootConfiguration
        guard good != .factory else { return }
        do {
            let prepared = try prepare(good)
            for (slot, recipe) in zip(slots, prepared.recipes) where slot.recipe != recipe { adopt(recipe, in: slot) }
            for recipe in prepared.recipes.dropFirst(slots.count) { addRemote(recipe: recipe) }
            deployedModels = prepared.packages
        } catch {
            recordHistory(.componentError(component: "deployments",
                                          error: "the committed configuration \(good.deploymentID ?? "") cannot be built: \(error); booting the factory configuration"), now: now)
        }
    }

    /// Hands the agent events and carries out its actions until none are left.
    func deploy(_ event: DeploymentAgent.Event, now: Instant) {
        deploymentEvents.append(event)
        drainDeployments(now: now)
    }

    func deployActions(_ actions: [DeploymentAgent.Action], now: Instant) {
        for action in actions { perform(action, now: now) }
        drainDeployments(now: now)
    }

    func drainDeployments(now: Instant) {
        guard superviseDepth == 0, !deploymentsDraining else { return }
        deploymentsDraining = true
        defer { deploymentsDraining = false }
        while true {
            if !deploymentEvents.isEmpty {
                let event = deploymentEvents.removeFirst()
                for action in agent.handle(event, now: now) { perform(action, now: now) }
                continue
            }
            if let waiting = agent.awaitingRollback, waiting.allSatisfy({ state(of: $0) == .running }) {
                for action in agent.rollbackSettled(now: now) { perform(action, now: now) }
                continue
            }
            break
        }
    }

    /// A document from the cloud.
    func deploymentReceived(_ payload: [UInt8], now: Instant) {
        guard ports.deployments != nil else {
            let id = (try? DeploymentDocument.parse(payload))?.id ?? "unknown"
            publishStatus(DeploymentStatus(timestamp: now, deploymentID: id, step: "received", state: .rejected,
                                           detail: "this hub takes no deployments (it has no deployment store or artifact source)"), now: now)
            return
        }
        deploy(.received(payload), now: now)
    }

    private func perform(_ action: DeploymentAgent.Action, now: Instant) {
        let deployments = ports.deployments!
        switch action {
        case .report(let status):
            publishStatus(status, now: now)
        case .persist(let record):
            do { try deployments.store.save(record, keeping: []) } catch {
                recordHistory(.componentError(component: "deployments", error: "cannot save the deployment record: \(error)"), now: now)
            }
        case .askSafePoint(let names):
            let blocking = names.compactMap { name -> String? in
                guard let slot = slot(named: name), slot.takesMessages else { return nil }
                return slot.safePoint()
            }
            deploymentEvents.append(.safePoint(blocking: blocking.isEmpty ? nil : blocking.joined(separator: "; ")))
        case .measureResources:
            let free = deployments.host.freeBytes()
            deploymentEvents.append(.resources(diskFreeBytes: free.disk, memoryFreeBytes: free.memory))
        case .fetch(let artifact):
            deployments.artifacts.fetch(artifact, at: now)
        case .keep(let bytes, let digest):
            do { try deployments.store.keep(artifact: bytes, sha256: digest) } catch {
                deploymentEvents.append(.storageFailed("\(error)"))
            }
        case .validate(let target):
            deploymentEvents.append(.validated(validate(target)))
        case .apply(let target, _):
            apply(target, now: now)
        case .schedule(let timer, let at):
            ports.timers.schedule(HubTimer(component: HubTimer.deployments, payload: timer), at: at)
        }
    }

    func publishStatus(_ status: DeploymentStatus, now: Instant) {
        publishAsHub(.deployment(status), on: .deploymentStatus, now: now)
    }

    // MARK: Validation and apply

    /// Everything the target needs, checked without changing anything: recipes read and
    /// match the document, the whole set resolves, model packages pass their self-test.
    private func validate(_ target: DeployedConfiguration) -> Result<Void, DeploymentFailure> {
        do {
            // Kept for `apply`, which comes next: the packages are compiled and self-tested once.
            preparedDeployment = try prepare(target)
            return .success(())
        } catch let failure as DeploymentFailure {
            return .failure(failure)
        } catch {
            return .failure(DeploymentFailure("\(error)"))
        }
    }

    /// Everything `target` runs with, read from the store and checked: recipes (in slot
    /// order, then components new to the hub), the set they form, the model packages.
    func prepare(_ target: DeployedConfiguration) throws -> PreparedConfiguration {
        let recipes = try effectiveRecipes(for: target)
        let set: RecipeSet
        do { set = try RecipeSet(recipes) } catch { throw DeploymentFailure("the components would not form a set: \(error)") }
        return PreparedConfiguration(target: target, recipes: recipes, set: set, packages: try modelPackages(for: target))
    }

    /// The recipe of every component under `target`, in slot order, then components new to the hub.
    func effectiveRecipes(for target: DeployedConfiguration) throws -> [ComponentRecipe] {
        let deployments = ports.deployments!
        var recipes: [ComponentRecipe] = []
        func recipe(of entry: DeployedConfiguration.Component, base: ComponentRecipe?) throws -> ComponentRecipe {
            var recipe: ComponentRecipe
            if let digest = entry.recipe {
                guard let bytes = try deployments.store.artifact(digest) else { throw DeploymentFailure("the recipe of \(entry.name)@\(entry.version) is not stored") }
                let file = DeploymentDocument.recipePath(entry.name, entry.version)
                recipe = try deployments.readRecipe(bytes, file)
                guard recipe.name == entry.name, recipe.version == entry.version else {
                    throw DeploymentFailure("\(file) is the recipe of \(recipe.identifier), not \(entry.name)@\(entry.version)")
                }
                if case .builtin(let builtin) = recipe.lifecycle {
                    guard let base, case .builtin(let running) = base.lifecycle, running == builtin else {
                        throw DeploymentFailure("\(file): this hub has no built-in \(builtin) component named \(entry.name)")
                    }
                }
            } else {
                guard let base, base.version == entry.version else { throw DeploymentFailure("\(entry.name) has no recipe for version \(entry.version)") }
                recipe = base
            }
            if let patch = entry.configuration {
                guard case .object(let merged) = JSONValue.object(recipe.configuration).merged(with: patch) else { preconditionFailure("an object merges into an object") }
                recipe.configuration = merged
            }
            return recipe
        }
        for slot in slots {
            recipes.append(try target.component(slot.baseRecipe.name).map { try recipe(of: $0, base: slot.baseRecipe) } ?? slot.baseRecipe)
        }
        for entry in target.components where !slots.contains(where: { $0.baseRecipe.name == entry.name }) {
            let added = try recipe(of: entry, base: nil)
            guard case .external = added.lifecycle else { throw DeploymentFailure("\(added.identifier) is new to this hub, so it must run a command") }
            recipes.append(added)
        }
        return recipes
    }

    /// The packages `target` puts in charge, loaded from the store and self-tested.
    func modelPackages(for target: DeployedConfiguration) throws -> [(device: DeviceID, package: ModelPackage)] {
        let store = ports.deployments!.store
        // Models are handed to the inference component in this process; one in a process of
        // its own would not get them, and the deployment would commit a change never made.
        if !target.models.isEmpty, slot(named: "inference") is RemoteComponent {
            throw DeploymentFailure("models: inference runs in a process of its own here, and model packages reach only an inference in the hub process")
        }
        var packages: [(DeviceID, ModelPackage)] = []
        for entry in target.models {
            guard let device = config.devices.first(where: { $0.id == entry.device }) else {
                throw DeploymentFailure("models: this hub monitors no device \(entry.device)")
            }
            func bytes(_ digest: String, _ file: String) throws -> [UInt8] {
                guard let bytes = try store.artifact(digest) else { throw DeploymentFailure("\(entry.identifier)/\(file) is not stored") }
                return bytes
            }
            let package: ModelPackage
            do {
                let manifest = try ModelManifest.parse(try bytes(entry.manifest, "manifest.json"))
                let model = try ONNXReconstruction(serialized: try bytes(entry.model, "model.onnx"))
                package = try ModelPackage.assemble(manifest: manifest, model: model, golden: try bytes(entry.golden, "golden.json"))
            } catch let error as ModelPackageError {
                throw DeploymentFailure("model package \(entry.identifier) for \(entry.device): \(error)")
            }
            guard package.manifest.identifier == entry.identifier else {
                throw DeploymentFailure("models.\(entry.device): the package's manifest says \(package.manifest.identifier), the deployment \(entry.identifier)")
            }
            guard package.manifest.kind == device.kind else {
                throw DeploymentFailure("model package \(entry.identifier) is for a \(package.manifest.kind.rawValue); \(entry.device) is a \(device.kind.rawValue)")
            }
            packages.append((entry.device, package))
        }
        return packages
    }

    /// Stops what changes and starts the new: recipes swapped in their slots (new components
    /// added), the supervisor restarts each changed one, and the models are installed.
    private func apply(_ target: DeployedConfiguration, now: Instant) {
        let prepared: PreparedConfiguration
        if let validated = preparedDeployment, validated.target == target {
            prepared = validated
        } else {
            // A rollback to the last good configuration, which was validated when it was deployed.
            do { prepared = try prepare(target) } catch {
                recordHistory(.componentError(component: "deployments", error: "cannot apply \(target.deploymentID ?? "the factory configuration"): \(error)"), now: now)
                return
            }
        }
        preparedDeployment = nil
        let packages = prepared.packages
        for (slot, recipe) in zip(slots, prepared.recipes) where slot.recipe != recipe { adopt(recipe, in: slot) }
        for recipe in prepared.recipes.dropFirst(slots.count) { appendRemote(recipe) }
        supervise(supervisor!.redeploy(prepared.set, now: now), now: now)
        var changes: [(DeviceID, ModelPackage)] = []
        for device in config.devices.map(\.id) {
            let factory = factoryModels.first { $0.device == device }?.package
            guard let wanted = packages.first(where: { $0.device == device })?.package ?? factory else { continue }
            let current = deployedModels.first { $0.device == device }?.package ?? factory
            if current?.manifest.identifier != wanted.manifest.identifier { changes.append((device, wanted)) }
        }
        deployedModels = packages
        for (device, package) in changes { installModel(package, for: device, now: now) }
    }

    /// Puts `recipe` in charge of `slot`: its grants decide the slot's subscriptions.
    private func adopt(_ recipe: ComponentRecipe, in slot: HostedComponent) {
        slot.replaceRecipe(recipe)
        if let local = slot as? InProcessComponent {
            router.setSubscriptions(slot.index, to: local.requestedSubscriptions.filter(recipe.access.maySubscribe))
        } else if let remote = slot as? RemoteComponent {
            // It subscribes again over the wire when it reconnects, under the new grants.
            remote.filters = []
            router.setSubscriptions(slot.index, to: [])
        }
    }

    private func recordHistory(_ event: HistoryEvent, now: Instant) { ports.history.record(event, at: now) }
}
