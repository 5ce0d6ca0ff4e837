import OrchFlags

extension RulesCommand {
    /// `orchlog rules`'s flags and help (a new flag: one `Flag(…)` line).
    static let spec = CommandSpec(
        "orchlog rules", summary: "render the Prometheus alert rules from your thresholds; --check a file",
        synopsis: """
        Usage: orchlog rules [--config FILE] [--group-by LABELS] [--out DIR]
               orchlog rules --check FILE [--group-by LABELS]

        Renders orchlog's Prometheus rules: recording rules and alerts for every failure mode,
        the request queue, the invocation-success SLO (multi-window burn rates) and the log
        pipeline itself, with your deployment's thresholds. Load the result with `rule_files:`
        in prometheus.yml (docs/rules.md).
        """,
        flags: [
            Flag("--config", value: "FILE", """
                thresholds file: YAML, or JSON when FILE ends in .json. Every knob is optional; \
                alerts/thresholds.example.yml lists them with their defaults. Without --config the defaults \
                are rendered (alerts/orchlog.rules.yml).
                """),
            Flag("--group-by", value: "LABELS", repeatable: true, """
                labels your deployment adds to every series (relabelling, external_labels), comma-separated, \
                e.g. cluster,namespace: every rule keeps them, before `source`, when it aggregates, and the \
                alerts name them. Render the dashboards with the same list: python3 dashboards/generate.py \
                --group-by LABELS
                """),
            Flag("--out", value: "DIR", """
                write DIR/\(RuleRenderer.fileName) (atomically; DIR is created if missing) instead of \
                printing the rules to stdout
                """),
            Flag("--check", value: "FILE", """
                validate a thresholds file only: every problem on its own line (file:line: key: problem); \
                nothing is rendered
                """),
            .help,
        ],
        epilogue: """
        Every failure-mode rule keeps `source` (the service) and aggregates the hosts
        (`instance`) away; the pipeline alerts keep both.

        Knobs: per alert `threshold`, `for` and `severity`, and `overrides` (a label value with
        its own knobs, e.g. match: {model: gpt-4o}); slo.target and its burn tiers;
        runbook_base_url; extra_labels added to every alert. Alert names never change.

        An invalid file renders nothing and writes nothing.
        Exit status: 0 ok, 1 invalid thresholds file or cannot write, 2 usage.
        """,
        helpColumn: 20)
}
