import Foundation
import OrchLog

/// The collector's page at `/`: per source, one cell per failure mode with its value now,
/// its state in words and colour (the alert rules' thresholds, `StatusThresholds`) and a
/// sparkline of the page's history as inline SVG. Plain HTML and CSS: no script, no external
/// asset; the page reloads itself (`<meta http-equiv="refresh">`).
///
/// Every string that comes from outside (source names are directory names, paths) goes
/// through `escape`.
public enum StatusPage {
    /// What the page says about a source's reader, beside its indicators (`Collector.sourceStatus()`).
    public typealias SourceInfo = (name: String, path: String, lastEventTs: UInt64, position: LogPosition)

    /// The page's `Content-Security-Policy`: its own inline style, nothing else — no script,
    /// no outside request — should an escape ever be missed.
    public static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

    /// Sparkline size in CSS pixels.
    static let sparkWidth = 120.0, sparkHeight = 28.0

    /// `text` safe inside HTML text and quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            if let entity = entities[c] { out += entity } else { out.unicodeScalars.append(c) }
        }
        return out
    }

    /// What `escape` replaces.
    static let entities: [Unicode.Scalar: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

    /// The sparkline's line segments in SVG coordinates (y down): point `i` of `n` at
    /// x = i × width / (n − 1), y from 0 (bottom) to the larger of the highest point and
    /// `threshold` (top); nil points break the line.
    static func sparkSegments(_ points: [Double?], threshold: Double?, width: Double = sparkWidth,
                              height: Double = sparkHeight) -> [[(x: Double, y: Double)]] {
        let top = max(points.compactMap { $0 }.filter(\.isFinite).max() ?? 0, threshold ?? 0)
        let step = points.count > 1 ? width / Double(points.count - 1) : 0
        var segments: [[(x: Double, y: Double)]] = []
        var current: [(x: Double, y: Double)] = []
        for (i, p) in points.enumerated() {
            guard let p, p.isFinite else {
                if !current.isEmpty { segments.append(current) }
                current = []
                continue
            }
            let y = top > 0 ? height - 1 - (height - 2) * min(1, max(0, p / top)) : height - 1
            current.append((x: points.count > 1 ? Double(i) * step : width, y: y))
        }
        if !current.isEmpty { segments.append(current) }
        return segments
    }

    /// The sparkline as an inline `<svg>`; the threshold as a dashed line.
    static func sparkline(_ points: [Double?], threshold: Double?, label: String) -> String {
        let w = sparkWidth, h = sparkHeight
        let segments = sparkSegments(points, threshold: threshold)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = "<svg class=\"spark\" role=\"img\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\"><title>\(escape(label))</title>"
        if let threshold, threshold > 0 {
            let top = max(points.compactMap { $0 }.filter(\.isFinite).max() ?? 0, threshold)
            let y = h - 1 - (h - 2) * threshold / top
            svg += "<line class=\"limit\" x1=\"0\" x2=\"\(Int(w))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
        }
        for s in segments {
            if s.count == 1 {
                svg += "<circle cx=\"\(f(s[0].x))\" cy=\"\(f(s[0].y))\" r=\"1.5\"/>"
            } else {
                svg += "<polyline points=\"\(s.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " "))\"/>"
            }
        }
        return svg + "</svg>"
    }

    /// The report as JSON (`/status.json`): keys sorted, non-finite numbers as strings.
    public static func json(_ report: StatusReport) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return ((try? encoder.encode(report)).map { Array($0) } ?? Array("{}".utf8)) + [10]
    }

    /// "Lost updates" → "lost updates"; "LLM 429 share" stays (an initialism).
    static func lowercasedFirst(_ title: String) -> String {
        guard let first = title.first, title.dropFirst().first?.isLowercase ?? true else { return title }
        return first.lowercased() + title.dropFirst()
    }

    static let stateWords: [StatusThresholds.Severity: String] = [.ok: "ok", .warning: "WARNING", .critical: "CRITICAL"]

    /// The whole page.
    public static func render(_ report: StatusReport, sources: [SourceInfo], version: String) -> String {
        let refresh = Int(max(2, min(30, report.sampleInterval)).rounded(.up))
        let stamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: report.time))
        let troubled = report.sources.filter { $0.severity != .ok }
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="\(refresh)">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(troubled.isEmpty ? "" : "(\(troubled.count)) ")orchlog collector</title>
        <style>\(css)</style>
        </head><body>
        <h1>orchlog collector</h1>
        <p class="meta">Version \(escape(version)) · \(stamp) · history: \(report.capacity) samples, one every \(StatusReport.duration(report.sampleInterval)) (\(StatusReport.duration(Double(report.capacity) * report.sampleInterval))), kept in the collector's memory · thresholds: the shipped alert rules' defaults</p>
        <nav><a href="/metrics">/metrics</a> the metrics (Prometheus text 0.0.4, or OpenMetrics 1.0.0 by Accept) ·
        <a href="/status.json">/status.json</a> this page as JSON ·
        <a href="/-/healthy">/-/healthy</a> liveness · <a href="/-/ready">/-/ready</a> readiness (after the first pass over the logs)</nav>

        """
        if report.sources.isEmpty {
            html += "<p class=\"summary\">No sources sampled yet.</p>\n"
        } else if troubled.isEmpty {
            html += "<p class=\"summary sev-ok\" id=\"summary\">All \(report.sources.count) source\(report.sources.count == 1 ? "" : "s") healthy: no failure mode over its alert threshold.</p>\n"
        } else {
            let names = troubled.map { s in
                "<b>\(escape(s.name))</b> (\(s.indicators.filter { $0.severity != .ok }.map { escape(lowercasedFirst($0.title)) }.joined(separator: ", ")))"
            }
            html += "<p class=\"summary sev-\(troubled.map(\.severity).max()!.rawValue)\" id=\"summary\">\(troubled.count) of \(report.sources.count) source\(report.sources.count == 1 ? "" : "s") in trouble: \(names.joined(separator: "; ")).</p>\n"
        }
        if report.unsampledSources > 0 {
            html += "<p class=\"summary\">\(report.unsampledSources) more source\(report.unsampledSources == 1 ? " is" : "s are") followed but not on this page (the page keeps history for at most --status.max-sources sources).</p>\n"
        }
        if let first = report.sources.first {
            html += "<table class=\"status\"><thead><tr><th>source</th>"
            for ind in first.indicators { html += "<th>\(escape(ind.title))</th>" }
            html += "</tr></thead><tbody>\n"
            for s in report.sources { html += row(s) }
            html += "</tbody></table>\n"
        }
        html += "<h2>Readers</h2>\n<table class=\"readers\"><tr><th>source</th><th>directory</th><th>last event</th><th>position (segment:offset)</th><th>last seq</th></tr>\n"
        for s in sources {
            let last = s.lastEventTs == 0 ? "—" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(s.lastEventTs) / 1e9))
            html += "<tr><td>\(escape(s.name))</td><td><code>\(escape(s.path))</code></td><td>\(last)</td><td>\(s.position.segment):\(s.position.offset)</td><td>\(s.position.lastSeq)</td></tr>\n"
        }
        return html + "</table>\n</body></html>\n"
    }

    /// One source's row: its name and overall state, then a cell per indicator.
    static func row(_ s: StatusReport.Source) -> String {
        let sev = s.severity.rawValue
        var html = "<tr class=\"source sev-\(sev)\" data-source=\"\(escape(s.name))\" data-severity=\"\(sev)\">"
        html += "<th scope=\"row\"><span class=\"name\">\(escape(s.name))</span><span class=\"state\">\(stateWords[s.severity]!)</span><span class=\"detail\">\(StatusReport.duration(s.historySeconds)) of history</span></th>"
        for ind in s.indicators {
            let isev = ind.severity.rawValue
            html += "<td class=\"indicator sev-\(isev)\" data-indicator=\"\(ind.key)\" data-severity=\"\(isev)\" data-value=\"\(ind.value.map { String($0) } ?? "")\">"
            html += "<span class=\"value\">\(escape(ind.text))</span> <span class=\"state\">\(stateWords[ind.severity]!)</span>"
            html += sparkline(ind.points, threshold: ind.threshold, label: "\(ind.title) of \(s.name), oldest to newest")
            html += "<span class=\"detail\">\(escape(ind.detail))</span>"
            if !ind.reason.isEmpty { html += "<span class=\"reason\">\(escape(ind.reason))</span>" }
            html += "</td>"
        }
        return html + "</tr>\n"
    }

    static let css = """
    body{font-family:system-ui,sans-serif;margin:1.5em;color:#1a1a1a;background:#fafafa}
    h1{margin:0 0 .2em}.meta{color:#555;margin:.2em 0}nav{margin:.5em 0 1em}
    table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}
    .summary{font-size:1.1em;padding:.5em .8em;border-left:.4em solid #888;background:#fff}
    .status td,.status th[scope]{min-width:9em}.value{font-size:1.4em;font-weight:600}
    .state{font-size:.75em;font-weight:700;letter-spacing:.05em;margin-left:.3em}.name{display:block;font-weight:700}
    .detail,.reason{display:block;font-size:.8em;color:#555}.reason{color:inherit;font-weight:600}
    svg.spark{display:block;margin:.3em 0}svg.spark polyline{fill:none;stroke:#3a6ea5;stroke-width:1.5}
    svg.spark circle{fill:#3a6ea5}svg.spark line.limit{stroke:#999;stroke-dasharray:3 2;stroke-width:1}
    .sev-ok .state{color:#2e7d32}
    td.sev-warning,tr.sev-warning th[scope],.summary.sev-warning{background:#fff4d6;border-color:#e0a800;color:#6b4a00}
    td.sev-critical,tr.sev-critical th[scope],.summary.sev-critical{background:#fde2e1;border-color:#c62828;color:#8e0000}
    .summary.sev-ok{border-color:#2e7d32}
    td.sev-warning svg.spark polyline{stroke:#b07d00}td.sev-critical svg.spark polyline{stroke:#c62828}
    td.sev-warning svg.spark circle{fill:#b07d00}td.sev-critical svg.spark circle{fill:#c62828}
    """
}
