import OrchLog
import OrchMetrics

/// The feeds of one event type compiled against its schema, once, when the catalog is built:
/// the bundle key (the label fields and enumeration values that tell the type's series apart)
/// and, per feed, where its series sit in a bundle and which columns it reads. The aggregator's
/// loops run on these offsets (`Aggregator+Apply.swift`).
///
/// A *bundle* is every series one combination of key values touches, made together on first
/// sight; its slots are back to back in `SourceAggregation.slots`.
struct FeedPlan: Sendable {
    /// One part of the bundle key.
    enum Component: Sendable, Equatable {
        /// The interned id of label slot `slot`.
        case label(slot: Int)
        /// Number slot `slot`, an enumeration of `count` known values; codes past them are
        /// one value, `unknown`.
        case code(slot: Int, count: Int)
    }

    /// A label value of a feed's series, resolved against the key.
    enum LabelValue: Sendable {
        /// The text of key component `component` (a label), or `empty` for "".
        case text(component: Int, empty: String?)
        case constant(String)
        /// The name of key component `component`'s code (an enumeration).
        case name(component: Int, names: [String])
        /// The feed's `each` label: one series per name, `unknown` last.
        case each
    }

    struct Feed: Sendable {
        let family: MetricFamilyID
        /// The family's type, which the record assumes.
        let familyType: MetricType
        /// Index of the feed's first series in a bundle.
        let offset: Int
        /// The feed's label values after `source`.
        let labels: [LabelValue]
        /// The `each` label's number slot, value names (renamed) and count of known values;
        /// the feed has `count + 1` series (the last for unknown codes, made when first seen).
        let each: (slot: Int, names: [String])?
        let record: Record
        let condition: Condition
        /// Histograms and gauges: the field is in nanoseconds (observed or set as seconds).
        let seconds: Bool
        /// Gauges: how a group's instances combine.
        let combine: MetricFeed.Combine

        /// Series the feed has in a bundle.
        var width: Int { each.map { $0.names.count + 1 } ?? 1 }
    }

    enum RecordKind: Sendable { case count, sum, set, observe, oneHot }

    struct Record: Sendable {
        let kind: RecordKind
        /// The number slot read (sum, set, observe).
        let slot: Int
        let atLeast: UInt64
    }

    enum ConditionKind: Sendable { case always, nonzero, greater, equals, notEquals, flagged }

    struct Condition: Sendable {
        let kind: ConditionKind
        let slot: Int
        let value: UInt64
    }

    /// Most key components (the key is 128 bits: the type and four 24-bit or 32-bit parts).
    static let maxComponents = 4

    let type: EventType
    let components: [Component]
    let feeds: [Feed]
    /// Series per bundle.
    let bundleSize: Int

    /// Compiles `feeds` (all of type `type`, in declaration order).
    /// - Throws: `CollectorError` naming the feed and field when a declaration does not fit
    ///   the schema (a programming error).
    init(_ type: EventType, _ feeds: [MetricFeed], registry: MetricRegistry) throws {
        let schema = EventSchema.of(type)
        func fail(_ feed: MetricFeed, _ why: String) -> CollectorError {
            CollectorError(.invalidArgument, "metric feed \(registry.family(feed.family).name) from \(type.name): \(why)")
        }
        func field(_ feed: MetricFeed, _ name: String) throws -> FieldSpec {
            guard let f = schema.field(named: name) else { throw fail(feed, "no field \(name)") }
            return f
        }
        func number(_ feed: MetricFeed, _ name: String) throws -> FieldSpec {
            let f = try field(feed, name)
            if case .label = f.kind { throw fail(feed, "\(name) is a label, not a number") }
            if case .traceID = f.kind { throw fail(feed, "\(name) is a trace id, not a number") }
            return f
        }
        func names(_ feed: MetricFeed, _ name: String) throws -> (FieldSpec, [String]) {
            let f = try field(feed, name)
            guard case .enumeration(let values) = f.kind else { throw fail(feed, "\(name) is not an enumeration") }
            return (f, values)
        }
        func code(_ feed: MetricFeed, _ name: String, _ value: String) throws -> (Int, UInt64) {
            let (f, values) = try names(feed, name)
            guard let i = values.firstIndex(of: value) else { throw fail(feed, "\(name) has no value \(value)") }
            return (f.slot, UInt64(i))
        }
        var components: [Component] = []
        func component(_ c: Component) -> Int {
            if let i = components.firstIndex(of: c) { return i }
            components.append(c)
            return components.count - 1
        }
        var compiled: [Feed] = []
        var offset = 0
        for feed in feeds {
            let family = registry.family(feed.family)
            guard family.labelNames.count == feed.labels.count + 1, family.labelNames.first == "source" else {
                throw fail(feed, "labels \(family.labelNames) do not match the \(feed.labels.count) declared after source")
            }
            var labels: [LabelValue] = []
            var each: (slot: Int, names: [String])?
            for label in feed.labels {
                switch label {
                case .field(let n), .fieldOr(let n, _):
                    let f = try field(feed, n)
                    guard case .label = f.kind else { throw fail(feed, "\(n) is not a label field") }
                    var empty: String?
                    if case .fieldOr(_, let e) = label { empty = e }
                    labels.append(.text(component: component(.label(slot: f.slot)), empty: empty))
                case .constant(let v):
                    labels.append(.constant(v))
                case .value(let n):
                    let (f, values) = try names(feed, n)
                    labels.append(.name(component: component(.code(slot: f.slot, count: values.count)), names: values))
                case .each(let n, let rename):
                    guard each == nil else { throw fail(feed, "two each labels") }
                    let (f, values) = try names(feed, n)
                    each = (f.slot, values.map { rename[$0] ?? $0 })
                    labels.append(.each)
                }
            }
            let record: Record
            var seconds = false
            switch feed.record {
            case .count:
                record = Record(kind: .count, slot: 0, atLeast: 0)
            case .sum(let n):
                record = Record(kind: .sum, slot: try number(feed, n).slot, atLeast: 0)
            case .set(let n):
                let f = try number(feed, n)
                if case .nanoseconds = f.kind { seconds = true }
                record = Record(kind: .set, slot: f.slot, atLeast: 0)
            case .observe(let n, let least):
                let f = try number(feed, n)
                if case .nanoseconds = f.kind { seconds = true }
                record = Record(kind: .observe, slot: f.slot, atLeast: least)
            case .oneHot:
                guard each != nil else { throw fail(feed, "oneHot needs an each label") }
                record = Record(kind: .oneHot, slot: 0, atLeast: 0)
            }
            let wanted: MetricType = switch record.kind {
            case .count, .sum: .counter
            case .set, .oneHot: .gauge
            case .observe: .histogram
            }
            guard family.type == wanted else { throw fail(feed, "records into a \(family.type), not a \(wanted)") }
            guard (wanted == .gauge) == (feed.instances != nil) else {
                throw fail(feed, wanted == .gauge ? "a gauge must say how instances combine (instances: .sum or .max)" : "only gauges combine instances")
            }
            let condition: Condition
            switch feed.condition {
            case .always: condition = Condition(kind: .always, slot: 0, value: 0)
            case .nonzero(let n): condition = Condition(kind: .nonzero, slot: try number(feed, n).slot, value: 0)
            case .greater(let n, let v): condition = Condition(kind: .greater, slot: try number(feed, n).slot, value: v)
            case .equals(let n, let v):
                let (slot, c) = try code(feed, n, v)
                condition = Condition(kind: .equals, slot: slot, value: c)
            case .notEquals(let n, let v):
                let (slot, c) = try code(feed, n, v)
                condition = Condition(kind: .notEquals, slot: slot, value: c)
            case .flaggedByTracker:
                guard type == .stateRead || type == .stateWrite else { throw fail(feed, "only state reads and writes are tracked") }
                condition = Condition(kind: .flagged, slot: 0, value: 0)
            }
            let made = Feed(family: feed.family, familyType: family.type, offset: offset, labels: labels, each: each,
                            record: record, condition: condition, seconds: seconds, combine: feed.instances ?? .sum)
            compiled.append(made)
            offset += made.width
        }
        guard components.count <= Self.maxComponents else {
            throw CollectorError(.invalidArgument, "metric feeds from \(type.name): \(components.count) key labels, at most \(Self.maxComponents)")
        }
        self.type = type
        self.components = components
        self.feeds = compiled
        bundleSize = offset
    }

    /// Plans for every event type that feeds a metric, by type code (nil: no feed).
    static func plans(_ feeds: [MetricFeed], registry: MetricRegistry) throws -> [FeedPlan?] {
        var plans = [FeedPlan?](repeating: nil, count: Int(EventType.allCases.map(\.rawValue).max() ?? 0) + 1)
        for type in EventType.allCases {
            let mine = feeds.filter { $0.type == type }
            if !mine.isEmpty { plans[Int(type.rawValue)] = try FeedPlan(type, mine, registry: registry) }
        }
        return plans
    }
}

/// The key of a bundle: the event type and up to four key components (interned label ids,
/// below 2^24, or enumeration codes). Exact: two bundles never share a key.
struct BundleKey: Hashable, Sendable {
    let hi: UInt64
    let lo: UInt64

    @inline(__always)
    init(type: UInt64, _ c0: UInt64, _ c1: UInt64, _ c2: UInt64, _ c3: UInt64) {
        hi = type << 48 | (c0 & 0xFF_FFFF) << 24 | (c1 & 0xFF_FFFF)
        lo = (c2 & 0xFFFF_FFFF) << 32 | (c3 & 0xFFFF_FFFF)
    }

    /// No bundle has this key (the direct-mapped cache's empty slot).
    static let empty = BundleKey(hi: .max, lo: .max)

    /// The key whose two halves are `hi` and `lo` (as `init(type:…)` packs them).
    @inline(__always)
    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// The four components, as `init(type:…)` stored them.
    var components: [UInt64] {
        [hi >> 24 & 0xFF_FFFF, hi & 0xFF_FFFF, lo >> 32, lo & 0xFFFF_FFFF]
    }
}
