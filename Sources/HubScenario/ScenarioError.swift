import HubYAML

/// A scenario file that cannot be run, with where (file, line, column, field) and why: the
/// error every YAML file of the project gets (`YAMLFileError`).
public typealias ScenarioError = YAMLFileError
