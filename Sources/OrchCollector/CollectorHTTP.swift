import Foundation
import OrchLog
import OrchMetrics

/// The collector's HTTP endpoints: `/metrics`, `/` (the status page), `/status.json`, `/-/healthy`, `/-/ready`.
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
                var response = HTTPResponse(status: 200, body: Array(collector.statusPage().utf8))
                response.headers.set("Content-Type", "text/html; charset=utf-8")
                response.headers.set("Content-Security-Policy", StatusPage.contentSecurityPolicy)
                return response.compressed(for: request)
            case "/status.json":
                var response = HTTPResponse(status: 200, body: StatusPage.json(collector.statusReport()))
                response.headers.set("Content-Type", "application/json")
                return response.compressed(for: request)
            default:
                return .text(404, "Not found. Try /metrics.\n")
            }
        }
    }
}
