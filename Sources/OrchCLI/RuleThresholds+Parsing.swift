import Foundation
import OrchCollector
import OrchYAML

extension RuleThresholds {
    /// A thresholds file's tree, from YAML (with lines) or JSON (without).
    struct Node: Sendable {
        enum Kind: Sendable {
            /// A scalar's text; `plain` when unquoted (only plain scalars are numbers or null).
            case scalar(String, plain: Bool)
            /// Entries in file order; `key` is nil when the key was not a scalar.
            case mapping([(key: String?, keyLine: Int?, value: Node)])
            case sequence([Node])
        }

        var kind: Kind
        /// 1-based line, when known (YAML).
        var line: Int?

        init(kind: Kind, line: Int?) {
            self.kind = kind
            self.line = line
        }

        init(yaml: YAMLNode) {
            line = yaml.line
            switch yaml.kind {
            case let .scalar(text, plain): kind = .scalar(text, plain: plain)
            case let .sequence(items): kind = .sequence(items.map(Node.init(yaml:)))
            case let .mapping(pairs):
                kind = .mapping(pairs.map { pair in
                    var key: String?
                    if case let .scalar(text, _) = pair.key.kind { key = text }
                    return (key, pair.key.line, Node(yaml: pair.value))
                })
            }
        }

        /// From a `JSONSerialization` object. Keys are sorted: JSON objects have no order.
        init(json: Any) {
            line = nil
            switch json {
            case let dict as [String: Any]:
                kind = .mapping(dict.keys.sorted().map { ($0, nil, Node(json: dict[$0] as Any)) })
            case let array as [Any]:
                kind = .sequence(array.map(Node.init(json:)))
            case let string as String:
                kind = .scalar(string, plain: false)
            case let number as NSNumber:
                // A JSON true/false is an NSNumber of type char ("c").
                let isBool = String(cString: number.objCType) == "c"
                kind = .scalar(isBool ? (number.boolValue ? "true" : "false") : number.stringValue, plain: true)
            default:
                kind = .scalar("null", plain: true)
            }
        }

        var isNull: Bool {
            if case let .scalar(s, plain: true) = kind { return s.isEmpty || s == "~" || s.lowercased() == "null" }
            return false
        }

        var kindName: String {
            switch kind {
            case .scalar: "a scalar"
            case .mapping: "a mapping"
            case .sequence: "a list"
            }
        }
    }

    /// Walks a `Node` tree into `RuleThresholds`, starting from the defaults and collecting
    /// every problem instead of stopping at the first.
    struct Reader {
        let file: String
        private(set) var problems: [Problem] = []

        init(file: String) { self.file = file }

        mutating func report(_ line: Int?, _ path: String, _ message: String) {
            problems.append(Problem(file: file, line: line, path: path, message: message))
        }

        static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

        /// The entries of a mapping (null reads as empty). Reports a non-mapping, a key that is
        /// not a scalar, a repeated key, and — when `allowed` is given — keys not in it.
        mutating func mapping(_ node: Node, _ path: String, allowed: [String]?) -> [(key: String, node: Node)] {
            if node.isNull { return [] }
            guard case let .mapping(entries) = node.kind else {
                report(node.line, path, "expected a mapping, got \(node.kindName)")
                return []
            }
            var seen = Set<String>()
            var out: [(key: String, node: Node)] = []
            for entry in entries {
                guard let key = entry.key else {
                    report(entry.keyLine, path, "a key must be a scalar")
                    continue
                }
                let keyPath = Self.join(path, key)
                guard seen.insert(key).inserted else {
                    report(entry.keyLine, keyPath, "repeated key")
                    continue
                }
                if let allowed, !allowed.contains(key) {
                    report(entry.keyLine, keyPath, "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
                    continue
                }
                out.append((key, entry.value))
            }
            return out
        }

        /// A list's items (null reads as empty).
        mutating func list(_ node: Node, _ path: String) -> [Node] {
            if node.isNull { return [] }
            guard case let .sequence(items) = node.kind else {
                report(node.line, path, "expected a list, got \(node.kindName)")
                return []
            }
            return items
        }

        /// A scalar's text; nil (reported) for null, a mapping or a list.
        mutating func text(_ node: Node, _ path: String) -> (text: String, plain: Bool)? {
            guard !node.isNull else {
                report(node.line, path, "has no value")
                return nil
            }
            guard case let .scalar(text, plain) = node.kind else {
                report(node.line, path, "expected a scalar, got \(node.kindName)")
                return nil
            }
            return (text, plain)
        }

        /// A finite number in the range `unit` allows.
        mutating func number(_ node: Node, _ path: String, unit: Unit) -> Double? {
            guard let (text, plain) = self.text(node, path) else { return nil }
            let numeric = text.range(of: #"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"#, options: .regularExpression) != nil
            guard plain, numeric, let value = Double(text), value.isFinite else {
                if text.hasSuffix("%") {
                    report(node.line, path, "\(text) is not a number (write a ratio as a fraction: 5% is 0.05)")
                } else {
                    report(node.line, path, "\(plain ? text : "\"\(text)\"") is not a number")
                }
                return nil
            }
            switch unit {
            case .ratio:
                guard (0...1).contains(value) else {
                    report(node.line, path, "\(text) is outside 0 to 1 (a ratio: 0.05 means 5%)")
                    return nil
                }
            case let .nonNegative(what):
                guard value >= 0 else {
                    report(node.line, path, "\(text) is negative (expected \(what), 0 or more)")
                    return nil
                }
            case let .bucketBound(family, bounds):
                guard bounds.contains(value) else {
                    let names = bounds.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
                    report(node.line, path, "\(text) is not a bucket bound of \(family) (one of \(names.joined(separator: ", ")))")
                    return nil
                }
            }
            return value
        }

        /// A Prometheus duration (`5m`).
        mutating func duration(_ node: Node, _ path: String) -> PromDuration? {
            guard let (text, _) = self.text(node, path) else { return nil }
            if text.hasPrefix("-") {
                report(node.line, path, "\(text) is a negative duration")
                return nil
            }
            guard let d = PromDuration(text) else {
                report(node.line, path, "\(text) is not a duration (expected e.g. 30s, 5m, 1h30m, or 0m)")
                return nil
            }
            return d
        }

        mutating func severity(_ node: Node, _ path: String) -> Severity? {
            guard let (text, _) = self.text(node, path) else { return nil }
            guard let s = Severity(rawValue: text) else {
                let names = Severity.allCases.map(\.rawValue).joined(separator: ", ")
                report(node.line, path, "\(text) is not a severity (expected one of: \(names))")
                return nil
            }
            return s
        }

        /// A label value: any text without control characters.
        mutating func labelValue(_ node: Node, _ path: String) -> String? {
            guard let (text, _) = self.text(node, path) else { return nil }
            guard !text.isEmpty else {
                report(node.line, path, "is empty (an empty label value matches series without the label)")
                return nil
            }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                report(node.line, path, "contains a control character")
                return nil
            }
            guard !text.contains("{{") else {
                report(node.line, path, "contains {{, which Prometheus would expand as a template")
                return nil
            }
            return text
        }

        static func isLabelName(_ s: String) -> Bool {
            s.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil && !s.hasPrefix("__")
        }

        // MARK: The file

        static let sections = ["runbook_base_url", "extra_labels", "slo"]
            + AlertKey.allCases.map(\.section).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }

        mutating func thresholds(_ root: Node?) -> RuleThresholds {
            var t = RuleThresholds.defaults
            guard let root else { return t }
            for (key, node) in mapping(root, "", allowed: Self.sections) {
                switch key {
                case "runbook_base_url":
                    if let url = runbookBase(node, key) { t.runbookBaseURL = url }
                case "extra_labels":
                    t.extraLabels = extraLabels(node, key)
                case "slo":
                    t.slo = slo(node, key, base: t.slo)
                default:
                    let keys = AlertKey.allCases.filter { $0.section == key }
                    for (name, alertNode) in mapping(node, key, allowed: keys.map(\.key)) {
                        guard let alert = keys.first(where: { $0.key == name }) else { continue }
                        t.alerts[alert] = knobs(alertNode, alert.rawValue, alert: alert)
                    }
                }
            }
            if t.slo.fastBurn.severity == t.slo.slowBurn.severity {
                report(nil, "slo.slow_burn.severity", "\(t.slo.slowBurn.severity.rawValue) is also slo.fast_burn's severity: "
                       + "the two tiers would be indistinguishable alerts (same name and labels); give them different severities")
            }
            return t
        }

        mutating func runbookBase(_ node: Node, _ path: String) -> String? {
            guard let (text, _) = self.text(node, path) else { return nil }
            if text.contains("#") {
                report(node.line, path, "\(text) contains #: give the base; each alert adds #<its name in lowercase>")
            } else if text.contains(where: { $0.isWhitespace || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
                report(node.line, path, "contains whitespace")
            } else if !text.contains("://") {
                report(node.line, path, "\(text) is not an absolute URL (expected e.g. https://wiki.example.com/orchlog/runbooks)")
            } else {
                return text
            }
            return nil
        }

        mutating func extraLabels(_ node: Node, _ path: String) -> [String: String] {
            var out: [String: String] = [:]
            for (name, valueNode) in mapping(node, path, allowed: nil) {
                let keyPath = Self.join(path, name)
                guard Self.isLabelName(name) else {
                    report(valueNode.line, keyPath, "\(name) is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
                    continue
                }
                guard !RuleThresholds.reservedLabels.contains(name) else {
                    report(valueNode.line, keyPath, "\(name) is set or kept by the rules themselves; choose another name")
                    continue
                }
                if let value = labelValue(valueNode, keyPath) { out[name] = value }
            }
            return out
        }

        mutating func knobs(_ node: Node, _ path: String, alert: AlertKey) -> Knobs {
            var k = alert.defaults
            let second = alert.secondKnob
            let allowed = ["threshold"] + (second.map { [$0.name] } ?? []) + ["for", "severity", "overrides"]
            var overrideNode: Node?
            for (key, value) in mapping(node, path, allowed: allowed) {
                let keyPath = Self.join(path, key)
                switch key {
                case "threshold": k.threshold = number(value, keyPath, unit: alert.unit) ?? k.threshold
                case second?.name: k.secondValue = number(value, keyPath, unit: second!.unit) ?? k.secondValue
                case "for": k.forDuration = duration(value, keyPath) ?? k.forDuration
                case "severity": k.severity = severity(value, keyPath) ?? k.severity
                default: overrideNode = value
                }
            }
            // Overrides inherit what they do not set from the alert's own (already read) knobs.
            if let overrideNode {
                let overridesPath = Self.join(path, "overrides")
                var seen = Set<String>()
                for (i, item) in list(overrideNode, overridesPath).enumerated() {
                    let itemPath = "\(overridesPath)[\(i)]"
                    guard let o = override(item, itemPath, alert: alert, base: k) else { continue }
                    guard seen.insert(o.label + "\u{0}" + o.value).inserted else {
                        report(item.line, itemPath + ".match", "\(o.label)=\(o.value) is already overridden above")
                        continue
                    }
                    k.overrides.append(o)
                }
            }
            return k
        }

        /// `match` with exactly one label of the alert's series; returns it and the value.
        mutating func match(_ node: Node?, _ path: String, labels: [String], alertName: String, itemLine: Int?) -> (String, String)? {
            let matchPath = Self.join(path, "match")
            guard let node else {
                report(itemLine, matchPath, "missing (which series does this override apply to? e.g. match: {\(labels[0]): some-value})")
                return nil
            }
            let entries = mapping(node, matchPath, allowed: nil)
            guard entries.count == 1, let (label, valueNode) = entries.first else {
                if case .mapping = node.kind {
                    report(node.line, matchPath, "expected exactly one label: value (write one override per label value)")
                } else if node.isNull {
                    report(node.line, matchPath, "has no value")
                }
                return nil
            }
            guard labels.contains(label) else {
                report(valueNode.line, Self.join(matchPath, label),
                       "\(alertName) has no label \(label) (its series keep: \(labels.joined(separator: ", ")))")
                return nil
            }
            guard let value = labelValue(valueNode, Self.join(matchPath, label)) else { return nil }
            return (label, value)
        }

        mutating func override(_ node: Node, _ path: String, alert: AlertKey, base: Knobs) -> Override? {
            // The latency SLO's bound is shared by its recording rules: not per override.
            let second = alert == .latencySLO ? nil : alert.secondKnob
            let allowed = ["match", "threshold"] + (second.map { [$0.name] } ?? []) + ["for", "severity"]
            guard !node.isNull else {
                report(node.line, path, "is empty (an override needs match: and what it changes)")
                return nil
            }
            let entries = mapping(node, path, allowed: allowed)
            guard case .mapping = node.kind else { return nil }
            var o = Override(label: "", value: "", threshold: base.threshold, secondValue: base.secondValue,
                             forDuration: base.forDuration, severity: base.severity)
            var ok = true
            var matchNode: Node?
            for (key, value) in entries {
                let keyPath = Self.join(path, key)
                switch key {
                case "match": matchNode = value
                case "threshold": if let v = number(value, keyPath, unit: alert.unit) { o.threshold = v } else { ok = false }
                case second?.name: if let v = number(value, keyPath, unit: second!.unit) { o.secondValue = v } else { ok = false }
                case "for": if let v = duration(value, keyPath) { o.forDuration = v } else { ok = false }
                default: if let v = severity(value, keyPath) { o.severity = v } else { ok = false }
                }
            }
            guard let (label, value) = match(matchNode, path, labels: alert.labels, alertName: alert.alertName, itemLine: node.line),
                  ok else { return nil }
            o.label = label
            o.value = value
            return o
        }

        mutating func slo(_ node: Node, _ path: String, base: SLO) -> SLO {
            var s = base
            for (key, value) in mapping(node, path, allowed: ["target", "fast_burn", "slow_burn", "overrides"]) {
                let keyPath = Self.join(path, key)
                switch key {
                case "target": s.target = target(value, keyPath) ?? s.target
                case "fast_burn": s.fastBurn = tier(value, keyPath, base: s.fastBurn)
                case "slow_burn": s.slowBurn = tier(value, keyPath, base: s.slowBurn)
                default:
                    var seen = Set<String>()
                    for (i, item) in list(value, keyPath).enumerated() {
                        let itemPath = "\(keyPath)[\(i)]"
                        guard !item.isNull else {
                            report(item.line, itemPath, "is empty (an SLO override needs match: and target:)")
                            continue
                        }
                        let entries = mapping(item, itemPath, allowed: ["match", "target"])
                        guard case .mapping = item.kind else { continue }
                        var itemTarget: Double?
                        var targetOK = true
                        var matchNode: Node?
                        for (k, v) in entries {
                            if k == "match" { matchNode = v } else {
                                itemTarget = target(v, Self.join(itemPath, k))
                                targetOK = itemTarget != nil
                            }
                        }
                        let matched = match(matchNode, itemPath, labels: ["agent"], alertName: "OrchInvocationErrorBudgetBurn", itemLine: item.line)
                        if targetOK, itemTarget == nil, matched != nil {
                            report(item.line, Self.join(itemPath, "target"), "missing (an SLO override sets the agent's own target)")
                        }
                        guard let (_, agent) = matched, let itemTarget else { continue }
                        guard seen.insert(agent).inserted else {
                            report(item.line, itemPath + ".match", "agent=\(agent) is already overridden above")
                            continue
                        }
                        s.overrides.append((agent, itemTarget))
                    }
                }
            }
            return s
        }

        mutating func target(_ node: Node, _ path: String) -> Double? {
            guard let v = number(node, path, unit: .nonNegative("a share of invocations")) else { return nil }
            guard v > 0, v < 1 else {
                var shown = RuleRenderer.number(v)
                if case let .scalar(text, _) = node.kind { shown = text }
                report(node.line, path, "\(shown) must be above 0 and below 1 (0.99 means 99% of invocations succeed)")
                return nil
            }
            return v
        }

        mutating func tier(_ node: Node, _ path: String, base: BurnTier) -> BurnTier {
            var t = base
            for (key, value) in mapping(node, path, allowed: ["for", "severity"]) {
                let keyPath = Self.join(path, key)
                if key == "for" { t.forDuration = duration(value, keyPath) ?? t.forDuration } else {
                    t.severity = severity(value, keyPath) ?? t.severity
                }
            }
            return t
        }
    }
}
