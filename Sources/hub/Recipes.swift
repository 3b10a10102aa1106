import ArgumentParser
import HubCore
import HubKernel
import HubYAML

/// `hub recipes`: the built-in components' recipes as YAML, and a checker for recipe files.
///
/// Recipes are what deployments change, so a person writing one needs to see the
/// built-ins' grants and to hear, before deploying, whether a set of recipes can run
/// together (names, dependencies, version ranges, cycles) and in which order it starts.
struct Recipes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the built-in components' recipes, or check recipe files.",
        subcommands: [Show.self, Check.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the built-in recipes as YAML (docs/components.md).")

        @Argument(help: "Only this component (\(ComponentRecipe.builtinNames.joined(separator: ", "))).")
        var name: String?

        func run() throws {
            let recipes = try name.map { name in
                guard let recipe = BuiltinRecipes.recipe(named: name) else {
                    throw ValidationError("no built-in component is named \(name.debugDescription) (built-ins: \(ComponentRecipe.builtinNames.joined(separator: ", ")))")
                }
                return [recipe]
            } ?? BuiltinRecipes.all
            print(recipes.map(RecipeText.yaml).joined(separator: "---\n"), terminator: "")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check recipe files, alone and together with the built-ins (a file replaces the built-in of its name).")

        @Argument(help: "Recipe files (YAML).")
        var files: [String]

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one recipe file") }
        }

        func run() throws {
            var recipes = BuiltinRecipes.all
            var named: [String] = []
            for file in files {
                let recipe: ComponentRecipe
                do { recipe = try RecipeFile.read(atPath: file) } catch { throw ValidationError(error.description) }
                guard !named.contains(recipe.name) else { throw ValidationError("\(file): a second recipe named '\(recipe.name)'") }
                named.append(recipe.name)
                if let index = recipes.firstIndex(where: { $0.name == recipe.name }) {
                    recipes[index] = recipe
                } else {
                    recipes.append(recipe)
                }
                print("ok  \(file): \(recipe.identifier)")
            }
            do {
                let set = try RecipeSet(recipes)
                print("start order: \(set.ordered.map(\.identifier).joined(separator: ", "))")
            } catch {
                throw ValidationError("the recipes cannot run together: \(error)")
            }
        }
    }
}
