@testable import OrchCollector
import Testing

@Suite struct ContentNegotiationTests {
    typealias CN = ContentNegotiation

    @Test func prometheusScrapersGetOpenMetrics() {
        // Prometheus 2.x default scrape_protocols.
        let p2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        #expect(CN.format(accept: p2) == .openMetrics)
        // Prometheus 3.x (with escaping and a UTF-8 text variant we do not produce).
        let p3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        #expect(CN.format(accept: p3) == .openMetrics)
        #expect(CN.format(accept: "application/openmetrics-text") == .openMetrics)
        #expect(CN.format(accept: "Application/OpenMetrics-Text; Version=\"1.0.0\"; charset=utf-8") == .openMetrics)
    }

    @Test func everythingElseGetsText004() {
        for accept: String? in [nil, "", "*/*", "text/plain", "text/plain;version=0.0.4", "text/*", "application/json",
                                "garbage", ",,,;;;", "application/openmetrics-text;version=2.0.0",
                                "application/openmetrics-text;version=0.0.1",
                                "application/openmetrics-text;q=0", "application/openmetrics-text;q=0.000",
                                "application/openmetrics-text;q=bogus",
                                "application/openmetrics-text;q=1.5",
                                "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"] {
            #expect(CN.format(accept: accept) == .prometheusText, "\(String(describing: accept))")
        }
    }

    @Test func qualityOrdersChoicesAndTiesKeepHeaderOrder() {
        #expect(CN.format(accept: "text/plain;q=0.5,application/openmetrics-text;q=0.9") == .openMetrics)
        #expect(CN.format(accept: "text/plain;q=0.9,application/openmetrics-text;q=0.5") == .prometheusText)
        #expect(CN.format(accept: "text/plain,application/openmetrics-text") == .prometheusText)
        #expect(CN.format(accept: "application/openmetrics-text,text/plain") == .openMetrics)
        // An unusable top choice falls through to the next acceptable one.
        #expect(CN.format(accept: "application/json,application/openmetrics-text;q=0.2") == .openMetrics)
        #expect(CN.format(accept: "text/plain;version=1.0.0,application/openmetrics-text;q=0.2") == .openMetrics)
    }

    @Test func parseAcceptKeepsParametersAndQuality() {
        let r = CN.parseAccept(#"application/openmetrics-text; version="1.0.0"; q=0.750; x="a,b;c\"d", TEXT/Plain ;q=1, bad, /x, a/, */*;q=0.1"#)
        #expect(r.count == 3)
        #expect(r[0].type == "application" && r[0].subtype == "openmetrics-text")
        #expect(r[0].quality == 0.75)
        #expect(r[0].parameter("VERSION") == "1.0.0")
        #expect(r[0].parameter("x") == "a,b;c\"d")
        #expect(r[1].type == "text" && r[1].subtype == "plain" && r[1].quality == 1)
        #expect(r[2].type == "*" && r[2].quality == 0.1)
    }

    @Test func gzipAcceptance() {
        let yes = ["gzip", "GZIP", "x-gzip", "deflate, gzip", "gzip;q=0.001", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*", "identity, *;q=0.5", " gzip ; q=1 "]
        let no: [String?] = [nil, "", "identity", "deflate", "br", "gzip;q=0", "gzip;q=0.0", "*;q=0", "gzip;q=0, *", "gzip;q=2", "gzip;q=abc", "gzipx"]
        for h in yes { #expect(CN.acceptsGzip(acceptEncoding: h), "\(h)") }
        for h in no { #expect(!CN.acceptsGzip(acceptEncoding: h), "\(String(describing: h))") }
    }

    @Test func contentTypesAreTheCanonicalOnes() {
        #expect(CN.Format.prometheusText.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(CN.Format.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test func arbitraryHeadersNeverCrash() {
        var rng = HTTPTestRNG(seed: 7)
        let alphabet = Array("application/openmetrics-text;version=1.0.0,q=0.5\"\\ *gzip\t;,=".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 60)
            let bytes = (0..<n).map { _ in rng.next() % 8 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let s = String(decoding: bytes, as: UTF8.self)
            _ = CN.format(accept: s)
            _ = CN.acceptsGzip(acceptEncoding: s)
            for r in CN.parseAccept(s) { #expect((0...1).contains(r.quality)) }
        }
    }
}
