import Foundation
import OrchTestSupport
import Testing

/// `reference-backends`, spoken to over HTTP as an OpenAI client and the orchestrator's tool
/// clients speak to it.
@Suite struct ReferenceBackendsTests {
    /// Starts the server at `speed` and returns it with its base URL.
    static func start(_ dir: TempDir, speed: String = "10", extra: [String] = []) throws -> (Daemon, String) {
        let d = try Daemon(binaryPath("reference-backends"), ["--speed", speed] + extra, dir: dir, name: "backends")
        var url = ""
        #expect(Daemon.waitUntil {
            url = d.stdout.components(separatedBy: "listening on ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return url.hasPrefix("http://")
        }, "\(d.stderr)")
        return (d, url)
    }

    static func chat(_ url: String, key: String, maxTokens: Int, stream: Bool = false) throws -> ProcessResult {
        try curl(["-i", "-X", "POST", url + "/v1/chat/completions", "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json",
                  "-d", #"{"model":"gpt-4o","messages":[{"role":"user","content":"where is my invoice?"}],"max_tokens":\#(maxTokens),"stream":\#(stream)}"#])
    }

    @Test func chatCompletionsAnswerAsOpenAIDoesWithUsageAndRateLimitHeaders() throws {
        let dir = TempDir("backends-chat")
        defer { dir.remove() }
        let (server, url) = try Self.start(dir)
        defer { _ = server.stop() }
        let ok = try Self.chat(url, key: "key-a", maxTokens: 12)
        #expect(ok.stdout.hasPrefix("HTTP/1.1 200"), "\(ok.stdout)")
        for header in ["x-ratelimit-limit-requests: 1000", "x-ratelimit-remaining-requests:", "x-ratelimit-reset-requests:",
                       "x-ratelimit-limit-tokens: 400000", "x-ratelimit-remaining-tokens:", "x-ratelimit-reset-tokens:"] {
            #expect(ok.stdout.contains(header), "\(header) in \(ok.stdout)")
        }
        #expect(ok.stdout.contains(#""object":"chat.completion""#))
        #expect(ok.stdout.contains(#""completion_tokens":12"#))
        let streamed = try Self.chat(url, key: "key-a", maxTokens: 40, stream: true)
        #expect(streamed.stdout.contains("Content-Type: text/event-stream"))
        #expect(streamed.stdout.contains(#"data: {"id":"#) && streamed.stdout.contains(#""object":"chat.completion.chunk""#))
        #expect(streamed.stdout.contains(#""usage":{"prompt_tokens":"#))
        #expect(streamed.stdout.hasSuffix("data: [DONE]\n\n"))
        #expect(streamed.stdout.contains("Transfer-Encoding: chunked"), "a real stream: chunks as they are generated")
        #expect(streamed.stdout.contains(#""prompt_tokens_details":{"cached_tokens":"#) && streamed.stdout.contains(#""reasoning_tokens":8"#),
                "usage says what the prompt cache served and what reasoning took (20% of 40)")
        let unknown = try Self.chat(url, key: "sk-nope", maxTokens: 5)
        #expect(unknown.stdout.hasPrefix("HTTP/1.1 401"))
    }

    /// A scripted quota cut makes the server answer 429 with Retry-After and the
    /// x-ratelimit headers showing the cut limits; clearing it restores them.
    @Test func aQuotaCutAnswers429WithRetryAfterAndTheCutLimits() throws {
        let dir = TempDir("backends-quota")
        defer { dir.remove() }
        // Real time, instant answers: the 1% token bucket (4,000/min, 667 burst) empties at once.
        let (server, url) = try Self.start(dir, speed: "1", extra: ["--latency-scale", "0"])
        defer { _ = server.stop() }
        let cut = try curl(["-X", "POST", url + "/admin/faults", "-d", #"{"fault":"llm_quota_cut","fraction":0.01}"#])
        #expect(cut.stdout.contains("ok"))
        var limited: ProcessResult?
        for _ in 0..<20 {
            let r = try Self.chat(url, key: "key-c", maxTokens: 500)
            if r.stdout.hasPrefix("HTTP/1.1 429") { limited = r; break }
        }
        let r = try #require(limited, "a 1% quota must run out within 20 requests")
        #expect(r.stdout.contains("Retry-After: "))
        #expect(r.stdout.contains("retry-after-ms: "))
        #expect(r.stdout.contains("x-ratelimit-limit-requests: 10\r"), "\(r.stdout)")
        #expect(r.stdout.contains(#""code":"rate_limit_exceeded""#))
        #expect(r.stdout.contains(#""type":"quota""#), "the error names the limit hit: the cut quota")
        let stats = try curl([url + "/admin/stats"])
        #expect(!stats.stdout.contains(#""key-c":{"concurrency_limit":20,"max_in_flight":0,"rate_limited":0"#), "\(stats.stdout)")
        _ = try curl(["-X", "POST", url + "/admin/faults", "-d", #"{"fault":"clear"}"#])
        #expect(try Self.chat(url, key: "key-d", maxTokens: 5).stdout.contains("x-ratelimit-limit-requests: 1000"))
    }

    /// A hung tool does not answer while the outage lasts; a client's timeout ends the call.
    @Test func aHungToolAnswersNothingUntilTheOutageEnds() throws {
        let dir = TempDir("backends-hang")
        defer { dir.remove() }
        let (server, url) = try Self.start(dir)
        defer { _ = server.stop() }
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/tools/crm"]).stdout == "200")
        _ = try curl(["-X", "POST", url + "/admin/faults", "-d", #"{"fault":"tool_hang","tool":"crm","seconds":30}"#])
        let hung = try run("/usr/bin/curl", ["-s", "--max-time", "1", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/tools/crm"])
        #expect(hung.status == 28, "curl's exit code for a timeout")  // CURLE_OPERATION_TIMEDOUT
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/tools/search"]).stdout == "200")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/tools/nope"]).stdout == "404")
    }
}
