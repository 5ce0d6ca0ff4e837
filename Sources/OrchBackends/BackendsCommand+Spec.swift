import OrchFlags

extension BackendsCommand {
    /// `reference-backends`' flags and help: parsing, `--help` and the README's table
    /// (`--help-markdown`) come from here. A new flag is one `Flag(…)` line and a `case` in `main`.
    public static let spec = CommandSpec(
        "reference-backends", summary: "the reference orchestrator's LLM provider and tools over real HTTP",
        synopsis: """
        reference-backends — the reference orchestrator's LLM provider and tools over real HTTP

        USAGE
          reference-backends [--listen HOST:PORT] [--speed K] [--seed S] [--latency-scale X]
        """,
        groups: [
            .init("OPTIONS", [
                Flag("--listen", value: "HOST:PORT", default: "127.0.0.1:0", """
                    where to listen (port 0: a free loopback port); the address is printed on stdout as \
                    "listening on http://HOST:PORT"
                    """),
                Flag("--speed", value: "K", default: "1", "time runs K× faster: latencies and retry-afters ÷ K, quotas refill K× faster"),
                Flag("--seed", value: "S", default: "1", "random seed of latencies and errors"),
                Flag("--latency-scale", value: "X", default: "1", "multiply every latency (0: instant backends)"),
                Flag("--concurrency", value: "N", default: "20", "every key's concurrency limit"),
                Flag("--rpm", value: "N", default: "1000", "every key's requests per minute"),
                Flag("--tpm", value: "N", default: "400000", "every key's tokens per minute"),
                .version,
                .helpMarkdown,
                .help,
            ]),
        ],
        epilogue: """
        ENDPOINTS
          POST /v1/chat/completions   OpenAI-compatible (stream: true for server-sent events); Authorization:
                                      Bearer KEY with KEY one of key-a … key-p; per key a concurrency limit
                                      (20) and requests/tokens-per-minute buckets (1,000 / 400,000): past them
                                      429 with Retry-After, retry-after-ms and x-ratelimit-* headers
          POST /tools/NAME            crm, billing, search, ticketing: latency, errors (500), outages
          POST /admin/faults          {"fault":"tool_hang"|"tool_down"|"tool_slow"|"llm_quota_cut"|"clear",
                                       "tool":NAME, "fraction":F, "factor":X, "seconds":S}
          GET  /admin/stats           per key: requests, rate_limited, max_in_flight; per tool: calls, errors, hung
          GET  /-/healthy

        Exit status: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 usage error.
        """,
        width: 100, helpColumn: 23)
}
