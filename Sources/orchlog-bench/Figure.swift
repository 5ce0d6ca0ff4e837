/// One measured figure of a benchmark: its median and spread, the target for it, and
/// a stricter goal of our own where we hold ourselves to more than the issue asks.
struct Figure: Codable {
    /// A bound the figure's median must respect.
    struct Target: Codable {
        enum Direction: String, Codable {
            case atMost = "<="
            case atLeast = ">="
        }

        let direction: Direction
        let value: Double

        static func atMost(_ v: Double) -> Target { Target(direction: .atMost, value: v) }
        static func atLeast(_ v: Double) -> Target { Target(direction: .atLeast, value: v) }

        func holds(_ x: Double) -> Bool {
            switch direction {
            case .atMost: return x <= value
            case .atLeast: return x >= value
            }
        }
    }

    /// Stable machine name (`ns_per_emit_1_thread`).
    let name: String
    /// Unit of the figure (`ns`, `events/s`, `bytes`, `ratio`, …).
    let unit: String
    let stats: Stats
    let target: Target?
    /// Whether the median meets `target` (nil without a target).
    let met: Bool?
    /// A bound stricter than the (for example the same ratio against a faster limit).
    let goal: Target?
    /// Whether the median meets `goal` (nil without one).
    let goalMet: Bool?
    /// True for counts whose expected value is 0 (allocations); other figures are positive.
    let zeroAllowed: Bool
    /// What the figure is measured against or how, when the name does not say.
    let note: String?

    init(_ name: String, _ unit: String, _ samples: [Double], target: Target? = nil, goal: Target? = nil,
         zeroAllowed: Bool = false, note: String? = nil) {
        self.name = name
        self.unit = unit
        let stats = Stats(samples)
        self.stats = stats
        self.target = target
        met = target.map { $0.holds(stats.median) }
        self.goal = goal
        goalMet = goal.map { $0.holds(stats.median) }
        self.zeroAllowed = zeroAllowed
        self.note = note
    }

    /// The figure as one aligned text line.
    var line: String {
        let spread = stats.runs > 1
            ? "  [p10 \(Self.format(stats.p10)) p90 \(Self.format(stats.p90)); min \(Self.format(stats.min)) max \(Self.format(stats.max)); \(stats.runs) runs]"
            : "  [1 run]"
        var text = "  " + Self.pad(name, 44) + Self.pad(Self.format(stats.median) + " " + unit, 22) + spread
        if let target {
            text += "  target \(target.direction.rawValue) \(Self.format(target.value)): " + (met == true ? "MET" : "MISSED")
        }
        if let goal {
            text += "  goal (stricter than the issue) \(goal.direction.rawValue) \(Self.format(goal.value)): " + (goalMet == true ? "MET" : "MISSED")
        }
        if let note { text += "  (\(note))" }
        return text
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    /// Three significant digits, plain notation.
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        let a = abs(x)
        if a == 0 { return "0" }
        if a >= 1e6 { return String(format3(x / 1e6)) + "M" }
        if a >= 1000 { return String(Int(x.rounded())) }
        return format3(x)
    }

    private static func format3(_ x: Double) -> String {
        let a = abs(x)
        let decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.1 ? 3 : a >= 0.01 ? 4 : 6
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (x * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        var s = String(rounded)
        if let dot = s.firstIndex(of: "."), s.contains("e") == false {
            let have = s.distance(from: dot, to: s.endIndex) - 1
            if have < decimals { s += String(repeating: "0", count: decimals - have) }
        }
        return s
    }
}
