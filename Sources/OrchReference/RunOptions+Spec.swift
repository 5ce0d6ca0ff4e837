import OrchFlags

extension RunOptions {
    /// `reference-orchestrator`'s flags and help: `parse`, `--help` and the README's tables
    /// (`--help-markdown`) all come from here. A new flag is one `Flag(…)` line in its group
    /// and a `case` in `parse` that sets its field.
    public static let spec = CommandSpec(
        "reference-orchestrator",
        summary: "a reference AI-agent orchestrator on simulated (or, with --live, real) backends, instrumented with OrchLog",
        synopsis: """
        reference-orchestrator — a reference AI-agent orchestrator on simulated backends, instrumented with OrchLog

        USAGE
          reference-orchestrator --scenario NAME --out ROOT [options]
          reference-orchestrator --list-scenarios
        """,
        groups: [
            .init("OPTIONS", [
                Flag("--scenario", value: "NAME", required: true, "the scenario to run (see --list-scenarios)"),
                Flag("--out", value: "ROOT", "write the event log to ROOT/<source>/ (required unless --no-log)"),
                Flag("--source", value: "NAME", "the source directory's name (default: the scenario's name)"),
                Flag("--speed", value: "K|max", """
                    simulated time runs K× faster than real time (1: real time; default max); live: every \
                    backend latency and timeout ÷ K, arrival rates × K (default 1)
                    """),
                Flag("--invocations-per-day", aliases: ["--rate"], value: "N", "mean arrival rate (default: the scenario's)"),
                Flag("--duration", value: "D", """
                    simulated time to run: seconds, or 90m, 6h, 1d (default: the scenario's); live: wall-clock \
                    time to run (default 60s), covering D × K of traffic
                    """),
                Flag("--fault-start", value: "D", """
                    fault scenarios: when the fault begins, seconds or 10m into the run (simulated time; live: \
                    of traffic, wall × K; default: a third of the duration)
                    """),
                Flag("--fault-duration", value: "D", """
                    fault scenarios: how long the fault lasts (default: a third of the duration; it ends with \
                    the run at the latest). Fault scenarios run at any rate: --invocations-per-day 120000 is \
                    the fault at ten times production traffic
                    """),
                Flag("--seed", value: "S", default: "1", "random seed; the same seed gives the same run"),
                Flag("--summary-json", value: "FILE", "also write the summary as JSON to FILE"),
                Flag("--naive", value: "LIST", repeatable: true, "switch components off: queue, occ, cache, breaker, limiter, all"),
                Flag("--protect", value: "LIST", repeatable: true, "switch components on (applied after --naive)"),
                Flag("--start-hour", value: "H", default: "8", "hour of the simulated day to start at (8: the working day's ramp)"),
                Flag("--start-time", value: "UNIX_SECONDS", "wall-clock time of the simulation's start (default: now)"),
                Flag("--profile", value: "working-hours|flat", default: "working-hours", """
                    arrivals follow the working day (peak ≈ 3× the mean) or a flat rate
                    """),
                Flag("--latency-scale", value: "X", "multiply every simulated backend latency (0: instant backends, for benchmarks)"),
                Flag("--no-log", "run without writing events (the uninstrumented baseline)"),
                Flag("--quiet", short: "-q", "no progress bar and no summary table"),
                Flag("--list-scenarios", "list the scenarios and exit"),
                .version,
                .helpMarkdown,
                .help,
            ]),
            .init("LIVE MODE", [
                Flag("--live", """
                    run the scenario for real: agent tasks on real threads, wall-clock time, a real state store \
                    (the summary gains mode "live", state.store and state.lost_updates counted by the store itself)
                    """),
                Flag("--state-store", value: "redis|postgres", default: "redis", "the state store"),
                Flag("--redis", value: "URL", repeatable: true, """
                    a Redis server (redis://HOST:PORT), one per shard, repeatable; without it throwaway \
                    redis-server processes on free loopback ports. Keys orch:rec:* on it are deleted at the \
                    start of the run
                    """),
                Flag("--postgres", value: "DSN", """
                    a libpq connection string; without it a throwaway cluster (initdb as an unprivileged user, \
                    a free loopback port). Table orch_state is emptied at the start of the run
                    """),
                Flag("--tool-url", value: "URL", """
                    the tools over HTTP at URL/tools/NAME (default: a reference-backends the run starts on a \
                    free loopback port; faults are scripted on its admin endpoint)
                    """),
                Flag("--llm-url", value: "URL", """
                    an OpenAI-compatible API (URL/chat/completions, e.g. http://127.0.0.1:8000/v1 for vLLM or \
                    Ollama) instead of the run's reference-backends
                    """),
                Flag("--llm-key", value: "KEY", repeatable: true, """
                    an API key (Authorization: Bearer KEY), repeatable: the limiter rotates over them (default: \
                    reference-backends' key-a … key-p)
                    """),
                Flag("--llm-model", value: "NAME", """
                    the model to ask for (default gpt-4o, which reference-backends serves); the model label of \
                    the LLM metrics
                    """),
            ]),
        ],
        epilogue: """
        SIGINT (Ctrl-C) or SIGTERM stops the run early: the log is closed and the summary, marked
        interrupted, printed and written as usual.

        Exit status: 0 done (or stopped by SIGINT/SIGTERM), 1 the run failed (log or summary not writable), 2 usage error.
        """,
        width: 110, helpColumn: 30)
}
