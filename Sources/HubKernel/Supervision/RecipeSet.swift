import HubCore

/// A checked set of recipes in start order: names unique, every dependency present at a
/// version its range admits, no cycles.
///
/// The supervisor starts components in this order and stops them in reverse, so it must be
/// the same on every run: among components whose dependencies are all placed, the one
/// listed first goes first (Kahn's algorithm over the input order, never a dictionary's).
public struct RecipeSet: Equatable, Sendable {
    /// The recipes, dependencies before dependents.
    public let ordered: [ComponentRecipe]

    public init(_ recipes: [ComponentRecipe]) throws(RecipeSetError) {
        for (index, recipe) in recipes.enumerated() where recipes[..<index].contains(where: { $0.name == recipe.name }) {
            throw .duplicate(recipe.name)
        }
        for recipe in recipes {
            for dependency in recipe.dependencies {
                guard let provider = recipes.first(where: { $0.name == dependency.name }) else {
                    throw .missingDependency(component: recipe.name, dependency: dependency.name)
                }
                guard dependency.versions.admits(provider.version) else {
                    throw .versionMismatch(component: recipe.name, dependency: dependency.name,
                                           wanted: dependency.versions.text, found: provider.version)
                }
            }
        }
        var placed: [ComponentRecipe] = []
        var remaining = recipes
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { recipe in
                recipe.dependencies.allSatisfy { dependency in placed.contains { $0.name == dependency.name } }
            }) else {
                throw .cycle(Self.cycle(in: remaining))
            }
            placed.append(remaining.remove(at: next))
        }
        ordered = placed
    }

    public func recipe(named name: String) -> ComponentRecipe? { ordered.first { $0.name == name } }

    /// One cycle among `recipes` (each has an unplaced dependency), as names from a
    /// component back to itself.
    private static func cycle(in recipes: [ComponentRecipe]) -> [String] {
        var path: [String] = [recipes[0].name]
        while true {
            let current = recipes.first { $0.name == path.last }!
            let next = current.dependencies.first { dependency in recipes.contains { $0.name == dependency.name } }!.name
            if let start = path.firstIndex(of: next) { return Array(path[start...]) + [next] }
            path.append(next)
        }
    }
}

/// Why a set of recipes cannot run together.
public enum RecipeSetError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicate(String)
    case missingDependency(component: String, dependency: String)
    case versionMismatch(component: String, dependency: String, wanted: String, found: SemanticVersion)
    case cycle([String])

    public var description: String {
        switch self {
        case .duplicate(let name): "two recipes are named '\(name)'"
        case .missingDependency(let component, let dependency): "'\(component)' depends on '\(dependency)', which no recipe provides"
        case .versionMismatch(let component, let dependency, let wanted, let found):
            "'\(component)' needs '\(dependency)' \(wanted), but the recipe is version \(found)"
        case .cycle(let names): "the dependencies form a cycle: \(names.joined(separator: " → "))"
        }
    }
}
