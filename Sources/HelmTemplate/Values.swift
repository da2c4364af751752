import Foundation

/// Helm's value handling, ported from `pkg/chart/common/util/coalesce.go` and
/// `pkg/chart/v2/util/dependencies.go`: a chart's defaults under the user's values, each
/// subchart's under its name (or alias), `global` passed down, `null` deleting a key, subcharts
/// switched off by `condition`/`tags`, and `import-values`.
enum HelmValues {
    /// `CoalesceValues` (merge false) or `MergeValues` (merge true) of `chart` under `values`.
    static func coalesce(_ chart: HelmChart, _ values: MapBox, merge: Bool) -> MapBox {
        let copy = values.deepCopy()
        return coalesce(chart, into: copy, prefix: "", merge: merge)
    }

    private static func coalesce(_ chart: HelmChart, into destination: MapBox, prefix: String, merge: Bool) -> MapBox {
        coalesceValues(chart, destination, merge: merge)
        return coalesceDependencies(chart, destination, prefix: prefix, merge: merge)
    }

    private static func coalesceDependencies(_ chart: HelmChart, _ destination: MapBox, prefix: String, merge: Bool) -> MapBox {
        for subchart in chart.subcharts {
            if destination[subchart.name] == nil {
                destination[subchart.name] = .map(MapBox())
            }
            guard case .map(let subValues)? = destination[subchart.name] else { continue }
            coalesceGlobals(subValues, destination)
            destination[subchart.name] = .map(coalesce(subchart, into: subValues, prefix: prefix, merge: merge))
        }
        return destination
    }

    private static func coalesceGlobals(_ destination: MapBox, _ source: MapBox) {
        var destinationGlobals = MapBox()
        if let existing = destination["global"] {
            guard case .map(let box) = existing else { return }
            destinationGlobals = box
        }
        var sourceGlobals = MapBox()
        if let existing = source["global"] {
            guard case .map(let box) = existing else { return }
            sourceGlobals = box
        }
        for (key, value) in sourceGlobals.storage {
            if case .map(let table) = value {
                let copied = MapBox(table.storage)
                if let existing = destinationGlobals[key] {
                    if case .map(let existingTable) = existing {
                        _ = coalesceTables(copied, existingTable, merge: true)
                        destinationGlobals[key] = .map(copied)
                    }
                } else {
                    destinationGlobals[key] = .map(copied)
                }
            } else if case .map? = destinationGlobals[key] {
                continue
            } else {
                destinationGlobals[key] = value
            }
        }
        destination["global"] = .map(destinationGlobals)
    }

    private static func coalesceValues(_ chart: HelmChart, _ values: MapBox, merge: Bool) {
        let defaults = chart.values.deepCopy()
        for (key, defaultValue) in defaults.storage {
            if let value = values[key] {
                if value.isNull && !merge {
                    values[key] = nil
                } else if case .map(let destination) = value {
                    if case .map(let source) = defaultValue {
                        let childMerge = chart.subcharts.contains { $0.name == key } ? true : merge
                        if !childMerge { cleanNulls(source) }
                        _ = coalesceTables(destination, source, merge: childMerge)
                    }
                }
            } else {
                if !merge {
                    if defaultValue.isNull { continue }
                    if case .map(let table) = defaultValue { cleanNulls(table) }
                }
                values[key] = defaultValue
            }
        }
    }

    /// `coalesceTablesFullKey`: `source` fills `destination` where it has no value; a `null` in
    /// `destination` deletes the key (unless merging).
    @discardableResult
    static func coalesceTables(_ destination: MapBox, _ source: MapBox, merge: Bool) -> MapBox {
        let sourceNonNull = Set(source.storage.filter { !$0.value.isNull }.map(\.key))
        for (key, value) in destination.storage where value.isNull {
            source[key] = .null
        }
        for (key, value) in source.storage {
            let existing = destination[key]
            if let existing, !merge, existing.isNull, sourceNonNull.contains(key) {
                destination[key] = nil
            } else if existing == nil {
                destination[key] = value
            } else if case .map(let sourceTable) = value {
                if case .map(let destinationTable)? = existing {
                    coalesceTables(destinationTable, sourceTable, merge: merge)
                }
            }
        }
        return destination
    }

    private static func cleanNulls(_ table: MapBox) {
        for (key, value) in table.storage {
            if value.isNull {
                table[key] = nil
            } else if case .map(let inner) = value {
                cleanNulls(inner)
            }
        }
    }

    // MARK: dependencies

    /// `ProcessDependencies`: drops subcharts their `condition`/`tags` switch off (given the
    /// user's values), renames aliased ones, and applies `import-values`.
    static func processDependencies(_ chart: HelmChart, _ values: MapBox) {
        processEnabled(chart, values, path: "")
        processImportValues(chart)
    }

    private static func processEnabled(_ chart: HelmChart, _ values: MapBox, path: String) {
        guard !chart.dependencies.isEmpty else { return }
        var kept: [HelmChart] = []
        outer: for existing in chart.subcharts {
            for requirement in chart.dependencies
            where existing.name == requirement.name && compatible(requirement.version, existing.version) {
                continue outer
            }
            kept.append(existing)
        }
        for index in chart.dependencies.indices {
            let requirement = chart.dependencies[index]
            if let found = chart.subcharts.first(where: { $0.name == requirement.name && compatible(requirement.version, $0.version) }) {
                kept.append(found.copy(named: requirement.alias.isEmpty ? found.name : requirement.alias))
            }
            if !requirement.alias.isEmpty { chart.dependencies[index].name = requirement.alias }
        }
        chart.subcharts = kept
        for subchart in kept { subchart.parent = chart }
        for index in chart.dependencies.indices { chart.dependencies[index].enabled = true }
        let coalesced = coalesce(chart, values, merge: false)
        applyTags(chart, coalesced)
        applyConditions(chart, coalesced, path: path)
        let disabled = Set(chart.dependencies.filter { !$0.enabled }.map(\.name))
        chart.subcharts = chart.subcharts.filter { !disabled.contains($0.name) }
        chart.dependencies = chart.dependencies.filter { !disabled.contains($0.name) }
        for subchart in chart.subcharts {
            processEnabled(subchart, coalesced, path: path + subchart.name + ".")
        }
        chart.metadata["Dependencies"] = .list(chart.dependencies.map(HelmChart.dependencyMap))
    }

    private static func compatible(_ constraint: String, _ version: String) -> Bool {
        guard let range = VersionConstraint(constraint), let parsed = SemanticVersion(lenient: version) else { return false }
        return range.matches(parsed)
    }

    private static func applyTags(_ chart: HelmChart, _ values: MapBox) {
        guard case .map(let tags)? = values["tags"] else { return }
        for index in chart.dependencies.indices {
            var hasTrue = false, hasFalse = false
            for tag in chart.dependencies[index].tags {
                if case .bool(let flag)? = tags[tag] {
                    if flag { hasTrue = true } else { hasFalse = true }
                }
            }
            if !hasTrue && hasFalse {
                chart.dependencies[index].enabled = false
            } else {
                chart.dependencies[index].enabled = true
            }
        }
    }

    private static func applyConditions(_ chart: HelmChart, _ values: MapBox, path: String) {
        for index in chart.dependencies.indices {
            for condition in chart.dependencies[index].condition.trimmingCharacters(in: .whitespaces).split(separator: ",") {
                let key = String(condition).trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { continue }
                if case .bool(let flag)? = pathValue(values, path + key) {
                    chart.dependencies[index].enabled = flag
                    break
                }
            }
        }
    }

    /// Helm's `Values.PathValue`: the value at a dotted path, nil when any step is missing.
    static func pathValue(_ values: MapBox, _ path: String) -> TemplateValue? {
        var current = values
        let parts = path.split(separator: ".").map(String.init)
        for (index, part) in parts.enumerated() {
            guard let next = current[part] else { return nil }
            if index == parts.count - 1 { return next }
            guard case .map(let box) = next else { return nil }
            current = box
        }
        return nil
    }

    private static func processImportValues(_ chart: HelmChart) {
        for subchart in chart.subcharts { processImportValues(subchart) }
        guard !chart.dependencies.isEmpty else { return }
        let values = coalesce(chart, MapBox(), merge: true)
        let imported = MapBox()
        for dependency in chart.dependencies {
            for item in dependency.importValues {
                var child: String
                var parent: String
                switch item {
                case .map(let box):
                    child = box["child"].map { stringValue($0) } ?? "<nil>"
                    parent = box["parent"].map { stringValue($0) } ?? "<nil>"
                case .string(let name):
                    child = "exports." + name
                    parent = "."
                default:
                    continue
                }
                guard case .map(let table)? = pathValue(values, dependency.name + "." + child) else { continue }
                coalesceTables(imported, pathToMap(parent, table.deepCopy()), merge: true)
            }
        }
        chart.values = coalesceTables(values.deepCopy(), imported, merge: true)
    }

    private static func pathToMap(_ path: String, _ data: MapBox) -> MapBox {
        if path == "." { return data }
        var current = data
        for part in path.split(separator: ".", omittingEmptySubsequences: false).reversed() {
            current = MapBox([String(part): .map(current)])
        }
        return current
    }
}
