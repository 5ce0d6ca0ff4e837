import Foundation
import OrchTestSupport
import Testing

/// `orchlog rules`: the checked-in rules are the rendering of the defaults; custom thresholds,
/// overrides and extra labels change when alerts fire (proven with `promtool test rules`);
/// invalid thresholds files are refused, every problem named, nothing written.
@Suite struct RulesTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let promtool = "/usr/bin/promtool"

    static func repoFile(_ path: String) throws -> String {
        try String(contentsOfFile: repo + "/" + path, encoding: .utf8)
    }

    @Test func defaultRenderingIsTheCheckedInRuleFileByteForByte() throws {
        let checkedIn = try Self.repoFile("alerts/orchlog.rules.yml")
        let rendered = try runTool("orchlog", ["rules"])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stderr.isEmpty)
        #expect(rendered.stdout == checkedIn, "alerts/orchlog.rules.yml differs from `orchlog rules`: regenerate it with `orchlog rules --out alerts`")

        // The example documents every knob at its default: it must render the same bytes.
        let example = Self.repo + "/alerts/thresholds.example.yml"
        let fromExample = try runTool("orchlog", ["rules", "--config", example])
        #expect(fromExample.status == 0, "\(fromExample.stderr)")
        #expect(fromExample.stdout == checkedIn, "alerts/thresholds.example.yml no longer states the defaults")
        let check = try runTool("orchlog", ["rules", "--check", example])
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test func defaultRulesPassPromtoolCheckAndTheAlertUnitTests() throws {
        let dir = TempDir("rules-default")
        defer { dir.remove() }
        let r = try runTool("orchlog", ["rules", "--out", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rules = dir.sub("orchlog.rules.yml")
        let check = try run(Self.promtool, ["check", "rules", "--lint-fatal", rules])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        // alerts/tests/*.yml read ../orchlog.rules.yml: run them against the rendering.
        try FileManager.default.createDirectory(atPath: dir.sub("tests"), withIntermediateDirectories: true)
        let testsDir = Self.repo + "/alerts/tests"
        let names = try FileManager.default.contentsOfDirectory(atPath: testsDir).filter { $0.hasSuffix(".yml") }.sorted()
        #expect(names.count >= 7)
        for name in names {
            try FileManager.default.copyItem(atPath: testsDir + "/" + name, toPath: dir.sub("tests/" + name))
        }
        let tests = try run(Self.promtool, ["test", "rules"] + names.map { dir.sub("tests/" + $0) })
        #expect(tests.status == 0, "\(tests.stdout)\(tests.stderr)")
    }

    static let customYAML = """
    runbook_base_url: https://runbooks.example.com/orchlog
    extra_labels:
      team: payments
      environment: production
    llm:
      rate_limit_saturation:
        threshold: 0.05
        overrides:
          - match: {model: gpt-4o}
            threshold: 0.30
    state:
      conflict_rate:
        overrides:
          - match: {shard: s1}
            threshold: 0.3
            severity: info
    tools:
      circuit_open:
        for: 10m
    slo:
      target: 0.995

    """

    /// The same thresholds as `customYAML`, as JSON.
    static let customJSON = """
    {"runbook_base_url": "https://runbooks.example.com/orchlog",
     "extra_labels": {"team": "payments", "environment": "production"},
     "llm": {"rate_limit_saturation": {"threshold": 0.05, "overrides": [{"match": {"model": "gpt-4o"}, "threshold": 0.30}]}},
     "state": {"conflict_rate": {"overrides": [{"match": {"shard": "s1"}, "threshold": 0.3, "severity": "info"}]}},
     "tools": {"circuit_open": {"for": "10m"}},
     "slo": {"target": 0.995}}
    """

    /// Lines at an absolute indentation (promtool test files nest deeply).
    static func yaml(_ indent: Int, _ lines: [String]) -> String {
        lines.map { String(repeating: " ", count: indent) + $0 + "\n" }.joined()
    }

    static func llmSeries(_ model: String, success: Int, limited: Int, source: String) -> String {
        let labels = #"job="orchlog", instance="host-a:9464", source="\#(source)", provider="openai", model="\#(model)", key="k1""#
        return yaml(6, [
            "- series: 'orch_llm_requests_total{\(labels), outcome=\"success\"}'",
            "  values: '0+\(success)x20'",
            "- series: 'orch_llm_requests_total{\(labels), outcome=\"rate_limited\"}'",
            "  values: '0+\(limited)x20'",
        ])
    }

    static func writeSeries(_ shard: String, committed: Int, conflicts: Int) -> String {
        let labels = #"job="orchlog", instance="host-a:9464", source="orch-1", shard="\#(shard)""#
        return yaml(6, [
            "- series: 'orch_state_writes_total{\(labels), outcome=\"committed\"}'",
            "  values: '0+\(committed)x20'",
            "- series: 'orch_state_writes_total{\(labels), outcome=\"conflict\"}'",
            "  values: '0+\(conflicts)x20'",
        ])
    }

    static func llmAlert(_ model: String, _ percent: Int, source: String) -> String {
        yaml(10, [
            "- exp_labels:",
            "    severity: warning",
            "    source: \(source)",
            "    provider: openai",
            "    model: \(model)",
            "    team: payments",
            "    environment: production",
            "  exp_annotations:",
            "    summary: 'LLM requests from \(source) to openai/\(model) are being rate limited'",
            "    description: '\(percent)% of LLM requests from \(source) to openai model \(model) got HTTP 429 (outcome=\"rate_limited\") over the last 2 minutes (at least 5 of them), across all API keys, for 1 minute.'",
            "    runbook_url: https://runbooks.example.com/orchlog#orchllmratelimitsaturation",
        ])
    }

    /// orch-1 starts `perMinute` invocations a minute (the conflict alert's denominator).
    static func invocationSeries(_ perMinute: Int) -> String {
        yaml(6, [
            #"- series: 'orch_invocations_started_total{job="orchlog", instance="host-a:9464", source="orch-1", agent="support"}'"#,
            "  values: '0+\(perMinute)x20'",
        ])
    }

    static func conflictAlert(_ shard: String, _ severity: String, _ perInvocation: String) -> String {
        yaml(10, [
            "- exp_labels:",
            "    severity: \(severity)",
            "    source: orch-1",
            "    shard: \(shard)",
            "    team: payments",
            "    environment: production",
            "  exp_annotations:",
            "    summary: 'High optimistic-concurrency conflict rate on shard \(shard) of orch-1'",
            "    description: 'On shard \(shard) of orch-1, \(perInvocation) state writes per invocation started failed a version check (outcome=\"conflict\") over the last 2 minutes (at least 8 conflicts), for 1 minute: hot keys are contended and retries add load and latency.'",
            "    runbook_url: https://runbooks.example.com/orchlog#orchstateconflictratehigh",
        ])
    }

    /// promtool unit tests of the custom rendering: the override moves gpt-4o's and s1's
    /// thresholds, and no other series'; an overridden series fires under one rule only.
    static let customUnitTests = """
    rule_files:
      - orchlog.rules.yml
    evaluation_interval: 1m

    tests:
      # 10% 429s: above the default 5%, below gpt-4o's 30%.
      - name: a 10% 429 ratio fires for gpt-4o-mini but not for gpt-4o
        interval: 1m
        input_series:
    \(llmSeries("gpt-4o", success: 90, limited: 10, source: "orch-1"))\(llmSeries("gpt-4o-mini", success: 90, limited: 10, source: "orch-2"))    alert_rule_test:
          - eval_time: 20m
            alertname: OrchLLMRateLimitSaturation
            exp_alerts:
    \(llmAlert("gpt-4o-mini", 10, source: "orch-2"))
      # 35% is above gpt-4o's own 30%: it fires, once (the default rule excludes gpt-4o).
      - name: a 35% 429 ratio fires for gpt-4o, once
        interval: 1m
        input_series:
    \(llmSeries("gpt-4o", success: 65, limited: 35, source: "orch-1"))    alert_rule_test:
          - eval_time: 20m
            alertname: OrchLLMRateLimitSaturation
            exp_alerts:
    \(llmAlert("gpt-4o", 35, source: "orch-1"))      # Still under for: 1m.
          - eval_time: 1m
            alertname: OrchLLMRateLimitSaturation
            exp_alerts: []

      # 0.28 conflicts per invocation: above the default 0.25, below s1's 0.3.
      - name: 0.28 conflicts per invocation fire for s2 but not for s1
        interval: 1m
        input_series:
    \(invocationSeries(100))\(writeSeries("s1", committed: 72, conflicts: 28))\(writeSeries("s2", committed: 72, conflicts: 28))    alert_rule_test:
          - eval_time: 20m
            alertname: OrchStateConflictRateHigh
            exp_alerts:
    \(conflictAlert("s2", "warning", "0.28"))
      # 0.4 on s1 fires with the override's own severity.
      - name: 0.4 conflicts per invocation on s1 fire with its own severity
        interval: 1m
        input_series:
    \(invocationSeries(100))\(writeSeries("s1", committed: 60, conflicts: 40))    alert_rule_test:
          - eval_time: 20m
            alertname: OrchStateConflictRateHigh
            exp_alerts:
    \(conflictAlert("s1", "info", "0.40"))
    """

    /// `dir/orchlog.rules.yml` passes promtool's lint and the promtool unit tests `tests`;
    /// the same tests fail against the default rules (written over it), so they can fail.
    static func expectUnitTestsPassThenFailAgainstTheDefaults(_ tests: String, name: String, in dir: TempDir) throws {
        let lint = try run(promtool, ["check", "rules", "--lint-fatal", dir.sub("orchlog.rules.yml")])
        #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
        try tests.write(toFile: dir.sub(name), atomically: true, encoding: .utf8)
        let passed = try run(promtool, ["test", "rules", dir.sub(name)])
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        let defaults = try runTool("orchlog", ["rules"])
        try defaults.stdout.write(toFile: dir.sub("orchlog.rules.yml"), atomically: true, encoding: .utf8)
        let againstDefaults = try run(promtool, ["test", "rules", dir.sub(name)])
        #expect(againstDefaults.status != 0, "\(name) must fail against the default rules")
    }

    @Test func overridesAndExtraLabelsChangeWhichSeriesFire() throws {
        let dir = TempDir("rules-custom")
        defer { dir.remove() }
        try Self.customYAML.write(toFile: dir.sub("thresholds.yml"), atomically: true, encoding: .utf8)
        let check = try runTool("orchlog", ["rules", "--check", dir.sub("thresholds.yml")])
        #expect(check.status == 0, "\(check.stderr)")

        let r = try runTool("orchlog", ["rules", "--config", dir.sub("thresholds.yml"), "--out", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rules = try String(contentsOfFile: dir.sub("orchlog.rules.yml"), encoding: .utf8)
        #expect(rules.contains(#"(increase(orch_llm_requests_total{outcome="rate_limited", model!="gpt-4o"}[2m])) >= 5"# + "\n          ) > 0.05\n"))
        #expect(rules.contains(#"(increase(orch_llm_requests_total{outcome="rate_limited", model="gpt-4o"}[2m])) >= 5"# + "\n          ) > 0.3\n"))
        #expect(rules.contains("has been open or half-open in {{ $value }} process(es) for 10 minutes:"), "the description follows for:")
        #expect(rules.contains("(1 - 0.995) > 14.4") && rules.contains("its 99.5% invocation-success SLO"))
        #expect(!rules.contains("github.com/orchlog"), "every runbook_url uses the configured base")

        // Failing proof that the unit tests can fail: against the defaults, gpt-4o's 10% fires.
        try Self.expectUnitTestsPassThenFailAgainstTheDefaults(Self.customUnitTests, name: "custom.test.yml", in: dir)

        // JSON says the same thing and renders the same bytes.
        try Self.customJSON.write(toFile: dir.sub("thresholds.json"), atomically: true, encoding: .utf8)
        let fromJSON = try runTool("orchlog", ["rules", "--config", dir.sub("thresholds.json")])
        #expect(fromJSON.status == 0, "\(fromJSON.stderr)")
        #expect(fromJSON.stdout == rules)
    }

    /// promtool unit tests of `--group-by cluster,namespace`: service checkout in two clusters,
    /// with the same shard, tool and pool names. Each cluster's series are compared on their
    /// own (eu fires, us does not, though summed they would not fire / would fire), and the
    /// alerts carry and name the cluster.
    static let groupByUnitTests = """
    rule_files:
      - orchlog.rules.yml
    evaluation_interval: 1m

    tests:
      - name: write timeouts are per cluster and namespace
        interval: 1m
        input_series:
          - series: 'orch_state_writes_total{cluster="eu", namespace="agents", instance="a:9464", source="checkout", shard="s1", outcome="committed"}'
            values: '0+82x30'
          - series: 'orch_state_writes_total{cluster="eu", namespace="agents", instance="a:9464", source="checkout", shard="s1", outcome="timeout"}'
            values: '0+18x30'
          - series: 'orch_state_writes_total{cluster="us", namespace="agents", instance="a:9464", source="checkout", shard="s1", outcome="committed"}'
            values: '0+900x30'
        alert_rule_test:
          - eval_time: 30m
            alertname: OrchMemoryWriteTimeouts
            exp_alerts:
              - exp_labels:
                  severity: critical
                  cluster: eu
                  namespace: agents
                  source: checkout
                  shard: s1
                exp_annotations:
                  summary: 'State writes timing out on shard s1 of checkout (cluster eu, namespace agents)'
                  description: '18% of state writes on shard s1 of checkout (cluster eu, namespace agents) timed out over the last 2 minutes (at least 3 timeouts), for 1 minute: the memory layer cannot keep up and the work of those invocations is not persisted.'
                  runbook_url: https://github.com/orchlog/orchlog/blob/main/docs/runbooks.md#orchmemorywritetimeouts
      # crm times out on 20% in both clusters; only eu's pool is exhausted.
      - name: the cascade's busy pool is the same cluster's
        interval: 1m
        input_series:
          - series: 'orch_tool_calls_total{cluster="eu", namespace="agents", instance="a:9464", source="checkout", tool="crm", outcome="success"}'
            values: '0+80x20'
          - series: 'orch_tool_calls_total{cluster="eu", namespace="agents", instance="a:9464", source="checkout", tool="crm", outcome="timeout"}'
            values: '0+20x20'
          - series: 'orch_workers_busy{cluster="eu", namespace="agents", instance="a:9464", source="checkout", pool="agents"}'
            values: '10x20'
          - series: 'orch_workers{cluster="eu", namespace="agents", instance="a:9464", source="checkout", pool="agents"}'
            values: '10x20'
          - series: 'orch_tool_calls_total{cluster="us", namespace="agents", instance="a:9464", source="checkout", tool="crm", outcome="success"}'
            values: '0+80x20'
          - series: 'orch_tool_calls_total{cluster="us", namespace="agents", instance="a:9464", source="checkout", tool="crm", outcome="timeout"}'
            values: '0+20x20'
          - series: 'orch_workers_busy{cluster="us", namespace="agents", instance="a:9464", source="checkout", pool="agents"}'
            values: '4x20'
          - series: 'orch_workers{cluster="us", namespace="agents", instance="a:9464", source="checkout", pool="agents"}'
            values: '10x20'
        alert_rule_test:
          - eval_time: 20m
            alertname: OrchToolTimeoutCascade
            exp_alerts:
              - exp_labels:
                  severity: critical
                  cluster: eu
                  namespace: agents
                  source: checkout
                  tool: crm
                exp_annotations:
                  summary: 'Tool crm timeouts are exhausting the worker pool of checkout (cluster eu, namespace agents)'
                  description: '20% of calls to tool crm in checkout (cluster eu, namespace agents) timed out over the last 5 minutes while its busiest worker pool is 100% busy: workers wait on the timeouts and new work is about to fail.'
                  runbook_url: https://github.com/orchlog/orchlog/blob/main/docs/runbooks.md#orchtooltimeoutcascade

    """

    @Test func groupByLabelsAreKeptByEveryRuleAndNamedByEveryAlert() throws {
        let dir = TempDir("rules-group-by")
        defer { dir.remove() }
        let r = try runTool("orchlog", ["rules", "--group-by", "cluster,namespace", "--out", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rules = try String(contentsOfFile: dir.sub("orchlog.rules.yml"), encoding: .utf8)
        #expect(rules.contains("# Rendered by `orchlog rules --group-by cluster,namespace` from the default thresholds"))
        // Every aggregation keeps the labels first; the pipeline's keep instance after them.
        let bys = rules.matches(of: /(sum|max) by \(([^)]*)\)/).map { String($0.output.2) }
        #expect(bys.count > 30)
        for labels in bys {
            #expect(labels.hasPrefix("cluster, namespace, instance, source") || labels.hasPrefix("cluster, namespace, source"), "by (\(labels))")
        }
        #expect(rules.contains("and on (cluster, namespace, source)"))
        let expressions = rules.split(separator: "\n").filter { !$0.contains("summary:") && !$0.contains("description:") }.joined(separator: "\n")
        #expect(!expressions.contains("and on ()") && !expressions.contains("max(") && !expressions.contains("sum("), "no aggregation without by")
        #expect(rules.contains(#"printf "max(pool:orch_workers_busy:max_ratio{cluster=%q, namespace=%q, source=%q})" $labels.cluster $labels.namespace $labels.source | query"#))
        // Every summary names the source and the labels.
        // (OrchCollectorAbsent excepted: no collector at all has no source to name.)
        let summaries = rules.split(separator: "\n").filter { $0.contains("summary:") && !$0.contains("No orchlog collector is reporting") }
        #expect(summaries.count == 25)
        for s in summaries {
            #expect(s.contains("{{ $labels.source }} (cluster {{ $labels.cluster }}, namespace {{ $labels.namespace }})"), "\(s)")
        }
        // Failing proof: the default rules (no cluster in their grouping) fail these tests.
        try Self.expectUnitTestsPassThenFailAgainstTheDefaults(Self.groupByUnitTests, name: "group-by.test.yml", in: dir)

        // Repeated flags add up; --check takes them too (an extra label of the same name is refused).
        let repeated = try runTool("orchlog", ["rules", "--group-by", "cluster", "--group-by=namespace"])
        #expect(repeated.status == 0 && repeated.stdout == rules, "\(repeated.stderr)")
        try "extra_labels:\n  cluster: eu\n".write(toFile: dir.sub("t.yml"), atomically: true, encoding: .utf8)
        for args in [["--group-by", "source"], ["--group-by", "shard"], ["--group-by", "cluster,cluster"], ["--group-by", "bad-name"],
                     ["--group-by", ""], ["--group-by", "outcome"], ["--check", dir.sub("t.yml"), "--group-by", "cluster"],
                     ["--config", dir.sub("t.yml"), "--group-by", "cluster"]] {
            let bad = try runTool("orchlog", ["rules"] + args)
            #expect(bad.status == 2, "\(args): \(bad.stderr)")
            #expect(bad.stdout.isEmpty && bad.stderr.hasPrefix("orchlog: rules: --group-by: "), "\(args): \(bad.stderr)")
        }
    }

    /// Each bad thresholds file and what the error must name.
    static let badFiles: [(name: String, content: String, expected: [String])] = [
        ("unknown-key.yml", "llm:\n  rate_limit_saturation:\n    thresold: 0.1\n",
         ["unknown-key.yml:3: llm.rate_limit_saturation.thresold: unknown key"]),
        ("ratio.yml", "memory:\n  write_timeouts:\n    threshold: 1.5\n",
         ["ratio.yml:3: memory.write_timeouts.threshold: 1.5 is outside 0 to 1"]),
        ("negative-for.yml", "memory:\n  write_timeouts:\n    for: -5m\n",
         ["negative-for.yml:3: memory.write_timeouts.for: -5m is a negative duration"]),
        ("slo.yml", "slo:\n  target: 1.0\n",
         ["slo.yml:2: slo.target: 1.0 must be above 0 and below 1"]),
        ("slo-zero.yml", "slo:\n  target: 0\n",
         ["slo-zero.yml:2: slo.target: 0 must be above 0 and below 1"]),
        ("severity.yml", "queue:\n  growing:\n    severity: page\n",
         ["severity.yml:3: queue.growing.severity: page is not a severity"]),
        ("malformed.yml", "llm:\n  rate_limit_saturation:\n    threshold: [0.1\n",
         ["malformed.yml:4: invalid YAML"]),
        ("bad-override.yml", "tools:\n  timeout_cascade:\n    overrides:\n      - match: {model: gpt-4o}\n        threshold: 0.2\n",
         ["bad-override.yml:4: tools.timeout_cascade.overrides[0].match.model: OrchToolTimeoutCascade has no label model"]),
        ("two.yml", "memory:\n  write_timeouts:\n    threshold: 1.5\nslo:\n  target: 1.0\n",
         ["two.yml:3: memory.write_timeouts.threshold: 1.5 is outside 0 to 1", "two.yml:5: slo.target: 1.0 must be above 0 and below 1",
          "two.yml: 2 problems"]),
        ("bound.yml", "latency:\n  slo:\n    bound: 45\n",
         ["bound.yml:3: latency.slo.bound: 45 is not a bucket bound of orch_invocation_duration_seconds (one of 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)"]),
        ("bound-override.yml", "latency:\n  slo:\n    overrides:\n      - match: {agent: planner}\n        bound: 30\n",
         ["bound-override.yml:5: latency.slo.overrides[0].bound: unknown key"]),
        ("headroom.yml", "llm:\n  limiter_misconfigured:\n    headroom_threshold: 20\n",
         ["headroom.yml:3: llm.limiter_misconfigured.headroom_threshold: 20 is outside 0 to 1"]),
        ("bad.json", #"{"slo": {"target": 1.5}, "pipeline": {"collector_lagging": {"for": "-1m"}}}"#,
         ["bad.json: pipeline.collector_lagging.for: -1m is a negative duration", "bad.json: slo.target: 1.5 must be above 0 and below 1"]),
    ]

    @Test func theLatencyBoundAndTheLimiterHeadroomAreKnobs() throws {
        let dir = TempDir("rules-second-knobs")
        defer { dir.remove() }
        let config = dir.sub("t.yml")
        try "latency:\n  slo:\n    bound: 30\nllm:\n  limiter_misconfigured:\n    headroom_threshold: 0.35\n    overrides:\n      - match: {model: gpt-4o}\n        headroom_threshold: 0.5\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let r = try runTool("orchlog", ["rules", "--config", config])
        #expect(r.status == 0, "\(r.stderr)")
        let defaults = try Self.repoFile("alerts/orchlog.rules.yml")
        // Every window's slow ratio reads the 30 s bucket (both spellings), none the 60 s one.
        #expect(r.stdout.components(separatedBy: #"orch_invocation_duration_seconds_bucket{le=~"30(\\.0)?"}"#).count == 5, "\(r.stdout)")
        #expect(!r.stdout.contains(#"le=~"60"#) && defaults.contains(#"le=~"60(\\.0)?"}"#))
        #expect(r.stdout.contains("within 30 s latency SLO") && !r.stdout.contains("within 60 s"))
        // The limiter's headroom, and the override's own.
        #expect(r.stdout.contains("source:orch_llm_ratelimit_headroom:min_ratio > 0.35") && r.stdout.contains("source:orch_llm_ratelimit_headroom:min_ratio > 0.5"))
        #expect(!r.stdout.contains("min_ratio > 0.2") && defaults.contains("min_ratio > 0.2"))
        try r.stdout.write(toFile: dir.sub("orchlog.rules.yml"), atomically: true, encoding: .utf8)
        let check = try run(Self.promtool, ["check", "rules", "--lint-fatal", dir.sub("orchlog.rules.yml")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func checkNamesEveryProblemAndExitsOne() throws {
        let dir = TempDir("rules-check")
        defer { dir.remove() }
        for bad in Self.badFiles {
            let path = dir.sub(bad.name)
            try bad.content.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runTool("orchlog", ["rules", "--check", path])
            #expect(r.status == 1, "\(bad.name): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(bad.name): nothing rendered: \(r.stdout)")
            let lines = r.stderr.split(separator: "\n").map(String.init)
            for expected in bad.expected {
                #expect(lines.contains { $0.hasPrefix("orchlog: ") && $0.contains(dir.path + "/" + expected) }, "\(bad.name): wanted \(expected) in:\n\(r.stderr)")
            }
            // One line per problem, then the count.
            let problems = bad.expected.filter { !$0.contains(" problems") }.count
            #expect(lines.count == problems + 1, "\(bad.name):\n\(r.stderr)")
        }
    }

    @Test func anInvalidConfigWritesNothing() throws {
        let dir = TempDir("rules-out")
        defer { dir.remove() }
        try "slo:\n  target: 1.0\nbogus: 1\n".write(toFile: dir.sub("bad.yml"), atomically: true, encoding: .utf8)

        // A directory that does not exist yet is not even created.
        let fresh = try runTool("orchlog", ["rules", "--config", dir.sub("bad.yml"), "--out", dir.sub("new/rules")])
        #expect(fresh.status == 1)
        #expect(fresh.stderr.contains("nothing written"))
        #expect(fresh.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("new")))

        // An existing rule file is left exactly as it was, and no temporary file remains.
        try FileManager.default.createDirectory(atPath: dir.sub("prom"), withIntermediateDirectories: true)
        try "# the old rules\n".write(toFile: dir.sub("prom/orchlog.rules.yml"), atomically: true, encoding: .utf8)
        let existing = try runTool("orchlog", ["rules", "--config", dir.sub("bad.yml"), "--out", dir.sub("prom")])
        #expect(existing.status == 1)
        #expect(try String(contentsOfFile: dir.sub("prom/orchlog.rules.yml"), encoding: .utf8) == "# the old rules\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("prom")) == ["orchlog.rules.yml"])

        // A valid one replaces it whole.
        let ok = try runTool("orchlog", ["rules", "--out", dir.sub("prom")])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try String(contentsOfFile: dir.sub("prom/orchlog.rules.yml"), encoding: .utf8) == Self.repoFile("alerts/orchlog.rules.yml"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("prom")) == ["orchlog.rules.yml"])
    }

    @Test func usageErrorsExitTwo() throws {
        for args in [["rules", "extra"], ["rules", "--check"], ["rules", "--check", "a.yml", "--out", "d"], ["rules", "--bogus"],
                     ["rules", "--out", "rules.yml"]] {
            let r = try runTool("orchlog", args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("orchlog: ") && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        let help = try runTool("orchlog", ["rules", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--check FILE"))
    }
}
