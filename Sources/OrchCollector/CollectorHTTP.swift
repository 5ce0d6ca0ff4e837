import Foundation
import OrchLog
import OrchMetrics

/// The collector's HTTP endpoints: `/metrics`, `/`, `/-/healthy`, `/-/ready`.
public enum CollectorHTTP {
    /// Builds the request handler for `collector`.
    public static func handler(_ collector: Collector) -> @Sendable (HTTPRequest) -> HTTPResponse {
        { request in
            switch request.path {
            case "/metrics":
                let format: ExpositionFormat = ContentNegotiation.format(accept: request.headers["Accept"]) == .openMetrics ? .openMetrics : .prometheusText
                var response = HTTPResponse(status: 200, body: collector.render(format: format))
                response.headers.set("Content-Type", format.contentType)
                return response.compressed(for: request)
            case "/-/healthy":
                return .text(200, "Healthy.\n")
            case "/-/ready":
                return collector.isReady ? .text(200, "Ready.\n") : .text(503, "Not ready: first pass over the logs in progress.\n")
            case "/":
                var response = HTTPResponse(status: 200, body: Array(landingPage(collector).utf8))
                response.headers.set("Content-Type", "text/html; charset=utf-8")
                return response.compressed(for: request)
            default:
                return .text(404, "Not found. Try /metrics.\n")
            }
        }
    }

    static func landingPage(_ collector: Collector) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var rows = ""
        for s in collector.sourceStatus() {
            let last = s.lastEventTs == 0 ? "—" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(s.lastEventTs) / 1e9))
            rows += "<tr><td>\(esc(s.name))</td><td><code>\(esc(s.path))</code></td><td>\(last)</td><td>\(s.position.segment):\(s.position.offset)</td><td>\(s.position.lastSeq)</td></tr>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>orchlog collector</title>
        <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>
        </head><body>
        <h1>orchlog collector</h1>
        <p>Version \(Collector.version). Aggregates orchestrator event logs into Prometheus metrics.</p>
        <ul>
        <li><a href="/metrics">/metrics</a> — the metrics (Prometheus text 0.0.4, or OpenMetrics 1.0.0 by Accept)</li>
        <li><a href="/-/healthy">/-/healthy</a> — liveness</li>
        <li><a href="/-/ready">/-/ready</a> — readiness (after the first pass over the logs)</li>
        </ul>
        <h2>Sources</h2>
        <table><tr><th>source</th><th>directory</th><th>last event</th><th>position (segment:offset)</th><th>last seq</th></tr>
        \(rows)</table>
        </body></html>

        """
    }
}
