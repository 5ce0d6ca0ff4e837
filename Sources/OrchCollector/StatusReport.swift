import Foundation

/// What the status page shows: per source, one indicator per failure mode with its value
/// now, whether it crosses the alert rule's threshold, and a sparkline of the history.
/// Built by `StatusReport.evaluate` from a source's ring and a sample taken at the moment the
/// page is asked for; rendered as HTML by `StatusPage` and as JSON at `/status.json`.
public struct StatusReport: Sendable, Codable, Equatable {
    /// One indicator of one source.
    public struct Indicator: Sendable, Codable, Equatable {
        /// Stable key: `success_rate`, `queue`, `lost_updates`, `write_timeouts`,
        /// `open_breakers`, `rate_limited`.
        public var key: String
        /// What a person reads: "Success rate", "Lost updates", …
        public var title: String
        /// The headline number (a ratio 0–1, a count, a depth); nil without data.
        public var value: Double?
        /// The headline as shown ("71.2%", "34", "4,200").
        public var text: String
        /// How it was measured ("2,310 of 3,245 invocations, last 5m").
        public var detail: String
        public var severity: StatusThresholds.Severity
        /// Why it is flagged (the threshold crossed); empty when ok.
        public var reason: String
        /// The sparkline: one value per history interval, oldest first; nil where there was
        /// nothing to measure (no requests in that interval).
        public var points: [Double?]
        /// Where the sparkline draws the threshold (same scale as `points`), if anywhere.
        public var threshold: Double?
    }

    /// One source's row.
    public struct Source: Sendable, Codable, Equatable {
        public var name: String
        public var indicators: [Indicator]
        /// The worst indicator's severity.
        public var severity: StatusThresholds.Severity
        /// Seconds of history the sparklines cover.
        public var historySeconds: Double
    }

    /// When the report was made, seconds since the epoch.
    public var time: Double
    /// Seconds between samples (`--status.sample-interval`).
    public var sampleInterval: Double
    /// Samples kept per source.
    public var capacity: Int
    public var sources: [Source]
    /// Sources beyond `--status.max-sources`, followed but not on the page.
    public var unsampledSources: Int

    /// The indicators of one source: `history` oldest first, `now` taken just now.
    public static func evaluate(name: String, history: [StatusSample], now: StatusSample,
                                thresholds t: StatusThresholds) -> Source {
        let series = history + [now]
        let span = history.first.map { now.time - $0.time } ?? 0
        /// The oldest sample within `window` seconds of now (the window, clipped to the history).
        func base(_ window: Double) -> StatusSample? { history.first { $0.time >= now.time - window - 1e-9 } }
        func delta(_ a: StatusSample, _ b: StatusSample, _ f: KeyPath<StatusSample, Double>) -> Double { max(0, b[keyPath: f] - a[keyPath: f]) }
        func intervals(_ f: (StatusSample, StatusSample) -> Double?) -> [Double?] {
            zip(series, series.dropFirst()).map { f($0, $1) }
        }
        func ratioPoints(_ num: KeyPath<StatusSample, Double>, _ den: KeyPath<StatusSample, Double>) -> [Double?] {
            intervals { a, b in
                let d = delta(a, b, den)
                return d > 0 ? delta(a, b, num) / d : nil
            }
        }
        func windowText(_ from: StatusSample) -> String { "last " + duration(now.time - from.time) }

        var out: [Indicator] = []

        // Invocation success, flagged by how fast the SLO's error budget burns.
        do {
            var ind = Indicator(key: "success_rate", title: "Success rate", value: nil, text: "—", detail: "no invocations yet",
                                severity: .ok, reason: "", points: ratioPoints(\.successes, \.invocations), threshold: t.sloTarget)
            if let b = base(t.rateWindow), case let total = delta(b, now, \.invocations), total > 0 {
                let ok = delta(b, now, \.successes)
                let ratio = ok / total
                let burn = (1 - ratio) / (1 - t.sloTarget)
                ind.value = ratio
                ind.text = percent(ratio)
                ind.detail = "\(count(ok)) of \(count(total)) invocations, \(windowText(b))"
                if burn > t.burnCritical || burn > t.burnWarning {
                    ind.severity = burn > t.burnCritical ? .critical : .warning
                    ind.reason = "below the \(percent(t.sloTarget)) SLO: the error budget burns \(number(burn))× too fast"
                }
            } else if let b = base(t.rateWindow) {
                ind.detail = "no invocations, \(windowText(b))"
            }
            out.append(ind)
        }

        // The request queue: depth, how full, growth, rejections.
        do {
            var ind = Indicator(key: "queue", title: "Queue depth", value: now.queueDepth, text: count(now.queueDepth), detail: "",
                                severity: .ok, reason: "", points: series.dropFirst().map { $0.queueDepth }, threshold: nil)
            var details: [String] = []
            var reasons: [(StatusThresholds.Severity, String)] = []
            if now.queueCapacity > 0 {
                details.append("\(percent(now.queueFill)) of capacity (fullest queue)")
                ind.threshold = t.queueNearCapacity.threshold * now.queueCapacity
                if now.queueFill > t.queueNearCapacity.threshold {
                    reasons.append((t.queueNearCapacity.severity, "over \(percent(t.queueNearCapacity.threshold)) full"))
                }
            }
            let grow = series.filter { $0.time >= now.time - t.growthWindow - 1e-9 }
            if grow.count >= 2, let slope = slope(grow.map { ($0.time, $0.queueDepth) }) {
                details.append("backlog \(slope >= 0 ? "+" : "")\(number(slope))/s")
                if slope > t.queueGrowing.threshold {
                    reasons.append((t.queueGrowing.severity, "growing \(number(slope)) items/s"))
                }
            }
            if let b = base(t.rateWindow), now.time > b.time {
                let rate = delta(b, now, \.rejections) / (now.time - b.time)
                if rate > 0 { details.append("\(number(rate)) rejections/s") }
                if rate > t.queueRejecting.threshold {
                    reasons.append((t.queueRejecting.severity, "rejecting callers"))
                }
            }
            ind.detail = details.isEmpty ? "no queue capacity reported" : details.joined(separator: "; ")
            ind.severity = reasons.map(\.0).max() ?? .ok
            ind.reason = reasons.map(\.1).joined(separator: "; ")
            out.append(ind)
        }

        // Lost updates and stale reads (from versions): any is corrupted data.
        do {
            var ind = Indicator(key: "lost_updates", title: "Lost updates", value: nil, text: "—", detail: "total \(count(now.lostUpdates))",
                                severity: .ok, reason: "", points: intervals { delta($0, $1, \.lostUpdates) }, threshold: nil)
            if let b = base(t.lostUpdatesWindow) {
                let n = delta(b, now, \.lostUpdates)
                ind.value = n
                ind.text = count(n)
                ind.detail = "lost updates and stale reads, \(windowText(b)); total \(count(now.lostUpdates))"
                if n > t.lostUpdates.threshold {
                    ind.severity = t.lostUpdates.severity
                    ind.reason = "updates silently overwritten: shared state is inconsistent"
                }
            }
            out.append(ind)
        }

        // The ratios of the memory layer and the LLM.
        func ratio(_ key: String, _ title: String, _ num: KeyPath<StatusSample, Double>, _ den: KeyPath<StatusSample, Double>,
                   _ what: String, _ limit: StatusThresholds.Limit, _ why: String) -> Indicator {
            var ind = Indicator(key: key, title: title, value: nil, text: "—", detail: "no \(what) yet", severity: .ok, reason: "",
                                points: ratioPoints(num, den), threshold: limit.threshold)
            if let b = base(t.rateWindow) {
                let total = delta(b, now, den)
                ind.detail = "no \(what), \(windowText(b))"
                if total > 0 {
                    let r = delta(b, now, num) / total
                    ind.value = r
                    ind.text = percent(r)
                    ind.detail = "\(count(delta(b, now, num))) of \(count(total)) \(what), \(windowText(b))"
                    if r > limit.threshold {
                        ind.severity = limit.severity
                        ind.reason = "over \(percent(limit.threshold)): \(why)"
                    }
                }
            }
            return ind
        }
        out.append(ratio("write_timeouts", "Write timeouts", \.writeTimeouts, \.writes, "state writes", t.writeTimeouts,
                         "the memory layer cannot keep up"))

        // Circuit breakers open now.
        do {
            var ind = Indicator(key: "open_breakers", title: "Open breakers", value: now.openBreakers, text: count(now.openBreakers),
                                detail: "tools whose breaker is open or half-open now", severity: .ok, reason: "",
                                points: series.dropFirst().map { $0.openBreakers }, threshold: nil)
            if now.openBreakers > t.circuitOpen.threshold {
                ind.severity = t.circuitOpen.severity
                ind.reason = "a tool is failing: its fallback is answering"
            }
            out.append(ind)
        }

        out.append(ratio("rate_limited", "LLM 429 share", \.rateLimited, \.llmRequests, "LLM requests", t.rateLimited,
                         "requests are being rate limited"))

        return Source(name: name, indicators: out, severity: out.map(\.severity).max() ?? .ok, historySeconds: span)
    }

    /// The least-squares slope of `points` (x: seconds, y: value), per second; nil when every x is equal.
    static func slope(_ points: [(Double, Double)]) -> Double? {
        let n = Double(points.count)
        let mx = points.reduce(0) { $0 + $1.0 } / n, my = points.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0
        for (x, y) in points {
            sxy += (x - mx) * (y - my)
            sxx += (x - mx) * (x - mx)
        }
        return sxx > 0 ? sxy / sxx : nil
    }

    // MARK: Formatting

    /// "71.2%", "100%", "0.05%".
    static func percent(_ r: Double) -> String {
        let p = r * 100
        if p == p.rounded() { return "\(Int(p))%" }
        return (p >= 10 ? String(format: "%.1f", p) : String(format: "%.2g", p)) + "%"
    }

    /// A count with thousands separators: "4,200".
    static func count(_ v: Double) -> String {
        guard v.isFinite else { return "—" }
        let n = Int(v.rounded())
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// Two or three significant digits: "0.31", "29", "1200".
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "—" }
        if abs(v) >= 100 { return count(v) }
        return String(format: abs(v) >= 10 ? "%.0f" : "%.2g", v)
    }

    /// "0.5s", "45s", "5m", "2m30s".
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 && seconds != seconds.rounded() { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s"
    }
}
