import OrchLog
import OrchMetrics

/// One way an event type feeds a metric family, declared in `MetricCatalog` next to the
/// family: which event type, where each label value comes from, what the event records, and
/// when. The aggregator compiles these declarations once (`FeedPlan`) and runs one tight loop
/// per feed over a block's column of that type; nothing else in the collector names an event
/// type's fields.
///
/// Fields are named as in `EventSchema` (and so in NDJSON and `orchlog tail`). A declaration
/// that names a field its type lacks, or a kind that does not fit, is refused when the
/// catalog is built (`MetricCatalog.init` throws): a programming error every test catches.
package struct MetricFeed: Sendable {
    /// Where one label value (after `source`) comes from.
    package enum Label: Sendable, Equatable {
        /// A label field's string.
        case field(String)
        /// A label field's string, or `empty` when the event left it out (`""`).
        case fieldOr(String, empty: String)
        /// A fixed value (`"input"` of `orch_llm_tokens_total{type}`).
        case constant(String)
        /// The name of an enumeration field's value (`from`/`to` of a breaker transition);
        /// `unknown` for a code this collector does not know.
        case value(String)
        /// One series per value of an enumeration field, made together when the other labels
        /// are first seen (so every outcome starts at 0); the event updates the series of its
        /// value. A code this collector does not know is counted under `unknown`, a series
        /// made when first needed. `rename` replaces value names (`success` → `""`).
        case each(String, rename: [String: String] = [:])
    }

    /// What one event does to its series.
    package enum Record: Sendable, Equatable {
        /// Counter: adds 1.
        case count
        /// Counter: adds the field's value.
        case sum(String)
        /// Gauge: set to the field's value (a duration in seconds).
        case set(String)
        /// Histogram: observes the field (nanoseconds as seconds), at least `atLeast`.
        case observe(String, atLeast: UInt64 = 0)
        /// Gauge of an `each` label: 1 for the event's value, 0 for every other.
        case oneHot
    }

    /// When an event updates the series at all.
    package enum Condition: Sendable, Equatable {
        case always
        /// The field is not 0 (a flag is set, a count is positive).
        case nonzero(String)
        /// The field is greater than `value`.
        case greater(String, UInt64)
        /// The enumeration field has the value named.
        case equals(String, String)
        /// The enumeration field has any value but the one named (an unknown one included).
        case notEquals(String, String)
        /// The state tracker flagged the event: a stale read (`state_read`) or a lost update
        /// (a committed `state_write`).
        case flaggedByTracker
    }

    /// How a gauge's value combines the values of a source group's instances (one per
    /// directory): each instance's last value, summed (depths, in flight, pool sizes; a
    /// one-hot state gauge becomes the count of instances in each state) or their maximum
    /// (ages, lags).
    package enum Combine: String, Sendable, Equatable {
        case sum, max
    }

    package let family: MetricFamilyID
    package let type: EventType
    package let labels: [Label]
    package let record: Record
    package let condition: Condition
    /// Gauges (`.set`, `.oneHot`) must say; nil for counters and histograms.
    package let instances: Combine?

    package init(_ family: MetricFamilyID, _ type: EventType, _ labels: [Label], _ record: Record, when condition: Condition = .always,
                 instances: Combine? = nil) {
        self.family = family
        self.type = type
        self.labels = labels
        self.record = record
        self.condition = condition
        self.instances = instances
    }

    /// The fields the feed reads, for the metric reference.
    var fieldNames: [String] {
        var names: [String] = []
        func note(_ n: String) { if !names.contains(n) { names.append(n) } }
        for l in labels {
            switch l {
            case .field(let n), .fieldOr(let n, _), .value(let n), .each(let n, _): note(n)
            case .constant: break
            }
        }
        switch record {
        case .sum(let n), .set(let n), .observe(let n, _): note(n)
        case .count, .oneHot: break
        }
        switch condition {
        case .nonzero(let n), .greater(let n, _), .equals(let n, _), .notEquals(let n, _): note(n)
        case .always, .flaggedByTracker: break
        }
        return names
    }

    /// How the feed reads, one phrase for the metric reference (`llm_request: +input_tokens
    /// when input_tokens ≠ 0`), with the labels (`labelNames`, after `source`) that do not
    /// simply take the field of their name.
    func summary(labelNames: [String]) -> String {
        var text = "`\(type.name)`"
        var mapped: [String] = []
        for (name, label) in zip(labelNames, labels) {
            switch label {
            case .field(let f) where f != name, .value(let f) where f != name: mapped.append("\(name) ← `\(f)`")
            case .fieldOr(let f, let empty): mapped.append("\(name) ← `\(f)` (\"\" → `\(empty)`)")
            case .constant(let v): mapped.append("\(name)=\"\(v)\"")
            case .each(let f, let rename):
                let renamed = rename.sorted { $0.key < $1.key }.map { "`\($0.key)` → \"\($0.value)\"" }
                if f != name || !renamed.isEmpty {
                    mapped.append("\(name) ← each `\(f)`" + (renamed.isEmpty ? "" : " (\(renamed.joined(separator: ", ")))"))
                }
            default: break
            }
        }
        if !mapped.isEmpty { text += " {\(mapped.joined(separator: ", "))}" }
        switch record {
        case .count: text += ": +1"
        case .sum(let f): text += ": +`\(f)`"
        case .set(let f): text += ": = `\(f)`"
        case .observe(let f, let least): text += least > 0 ? ": `max(\(f), \(least))`" : ": `\(f)`"
        case .oneHot: text += ": 1 for the current value"
        }
        switch condition {
        case .always: break
        case .nonzero(let f): text += " when `\(f)` ≠ 0"
        case .greater(let f, let v): text += " when `\(f)` > \(v)"
        case .equals(let f, let v): text += " when `\(f)` = `\(v)`"
        case .notEquals(let f, let v): text += " when `\(f)` ≠ `\(v)`"
        case .flaggedByTracker: text += " when the state tracker flags it"
        }
        if let instances { text += "; instances: \(instances.rawValue)" }
        return text
    }
}
