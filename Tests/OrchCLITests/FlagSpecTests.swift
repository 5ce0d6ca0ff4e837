import Foundation
import OrchBackends
import OrchCollector
@testable import OrchFlags
import OrchReference
import Testing
@testable import OrchCLI

/// The flag specs: every command parses exactly the flags its spec declares, `--help` and the
/// README's tables list exactly those, and the parser takes every spelling the issue names.
@Suite struct FlagSpecTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Every command's spec, with the source files that read its flags (the spec's own file
    /// aside).
    static let commands: [(specs: [CommandSpec], files: [String])] = [
        ([TailCommand.spec], ["OrchCLI/TailCommand.swift", "OrchCLI/EventFilter.swift"]),
        ([InspectCommand.spec], ["OrchCLI/InspectCommand.swift"]),
        ([VerifyCommand.spec], ["OrchCLI/VerifyCommand.swift"]),
        ([GenerateCommand.spec], ["OrchCLI/GenerateCommand.swift"]),
        ([RulesCommand.spec], ["OrchCLI/RulesCommand.swift"]),
        ([IngestCommand.spec], ["OrchCLI/IngestCommand.swift", "OrchCLI/RelayCommand.swift"]),
        ([SchemaCommand.spec], ["OrchCLI/SchemaCommand.swift"]),
        ([OrchlogCLI.spec, OrchlogCLI.helpSpec], ["OrchCLI/OrchlogCLI.swift"]),
        ([CollectorCommand.spec], ["OrchCollector/CollectorCommand.swift"]),
        ([RunOptions.spec], ["OrchReference/RunOptions.swift", "OrchReference/ReferenceCLI.swift"]),
        ([BackendsCommand.spec], ["OrchBackends/BackendsCommand.swift"]),
    ]

    static var allSpecs: [CommandSpec] { commands.flatMap(\.specs) }

    /// String literals in `source` that are a flag and nothing else: `"--lines"`, `"-n"`.
    static func flagLiterals(_ source: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: #""(--?[A-Za-z][A-Za-z0-9.-]*)""#)
        return Set(regex.matches(in: source, range: NSRange(source.startIndex..., in: source)).map {
            String(source[Range($0.range(at: 1), in: source)!])
        })
    }

    @Test func everySpecIsWellFormed() {
        #expect(Self.allSpecs.count == 12)
        for spec in Self.allSpecs {
            #expect(spec.clashingSpellings.isEmpty, "\(spec.name): \(spec.clashingSpellings)")
            #expect(spec.flag("--help") != nil && spec.flag("-h") != nil, "\(spec.name) has -h, --help")
            #expect(!spec.summary.isEmpty)
            for f in spec.flags {
                #expect(f.name.hasPrefix("--") && f.name.count > 3 && !f.name.contains("="), "\(spec.name): \(f.name)")
                #expect(f.aliases.allSatisfy { $0.hasPrefix("--") }, "\(spec.name): \(f.aliases)")
                if let s = f.short { #expect(s.count == 2 && s.hasPrefix("-") && s != "--", "\(spec.name): \(s)") }
                #expect(!f.help.isEmpty && !f.help.contains("\n"), "\(spec.name) \(f.name): one paragraph of help")
                #expect(f.defaultValue == nil || f.takesValue, "\(spec.name) \(f.name): a switch has no default")
            }
        }
    }

    /// The help a command prints lists every spelling of every flag its parser accepts, each
    /// flag on a row of its own, and nothing that looks like a flag of its own besides.
    @Test func everyCommandsHelpListsEveryFlagItsParserAccepts() {
        for spec in Self.allSpecs {
            let help = spec.help
            let rows = help.split(separator: "\n").map(String.init)
            for f in spec.flags {
                #expect(rows.contains { $0.hasPrefix("  " + f.synopsis) }, "\(spec.name): no help row for \(f.synopsis)")
                for s in f.spellings {
                    #expect(rows.contains { $0.hasPrefix("  ") && $0.contains(s) }, "\(spec.name): \(s) not in --help")
                }
            }
        }
    }

    /// Each command's code reads exactly the flags of its spec: a flag literal in its code
    /// that the spec lacks (parsed but undocumented: the parser would refuse it, and --help
    /// would not list it) fails, and so does a spec flag no code reads.
    @Test func theCodeReadsEveryFlagOfItsSpecAndNoOther() throws {
        for (specs, files) in Self.commands {
            var literals = Set<String>()
            for file in files {
                literals.formUnion(Self.flagLiterals(try String(contentsOfFile: Self.repoRoot + "/Sources/" + file, encoding: .utf8)))
            }
            let spellings = Set(specs.flatMap(\.flags).flatMap(\.spellings))
            let names = specs.map(\.name).joined(separator: ", ")
            #expect(literals.subtracting(spellings).isEmpty, "\(names): read but not in the spec: \(literals.subtracting(spellings).sorted())")
            for f in specs.flatMap(\.flags) {
                #expect(!literals.isDisjoint(with: f.spellings), "\(names): \(f.name) is in the spec but no code reads it")
            }
        }
    }

    @Test func theScanFindsAFlagReadButNotDeclared() {
        let code = #"let x = args.value("--lines"); if args.has("--secret") {}; print("use --lines N")"#
        #expect(Self.flagLiterals(code) == ["--lines", "--secret"])
    }

    /// The README's generated sections are what the generators print now.
    @Test func theReadmesFlagTablesAreTheSpecs() throws {
        let readme = try String(contentsOfFile: Self.repoRoot + "/README.md", encoding: .utf8)
        let generated: [String: String] = [
            "orchlog help --markdown": OrchlogCLI.markdown,
            "orchlog-collector --help-markdown": CollectorCommand.spec.markdownTable,
            "reference-orchestrator --help-markdown": RunOptions.spec.markdownTable,
            "reference-backends --help-markdown": BackendsCommand.spec.markdownTable,
        ]
        let regex = try NSRegularExpression(pattern: "<!-- generated by `([^`]+)`: do not edit by hand -->\n(.*?)<!-- end of generated section -->\n",
                                            options: .dotMatchesLineSeparators)
        var seen: [String] = []
        for m in regex.matches(in: readme, range: NSRange(readme.startIndex..., in: readme)) {
            let command = String(readme[Range(m.range(at: 1), in: readme)!])
            let section = String(readme[Range(m.range(at: 2), in: readme)!])
            seen.append(command)
            let expected = try #require(generated[command], "README section generated by an unknown command \(command)")
            #expect(section == expected, "README section of `\(command)` is stale: run scripts/readme-flags.py")
        }
        #expect(seen.sorted() == generated.keys.sorted())
        // Every orchlog command has its table, under its name.
        for (_, spec) in OrchlogCLI.commands { #expect(OrchlogCLI.markdown.contains("\n#### `\(spec.name)`\n\n| flag |")) }
    }

    @Test func markdownCellsEscapeWhatMarkdownWouldRead() {
        #expect(CommandSpec.escape("a|b <x> *_ns __overflow__ snake_case `a|b <c>`", code: false)
                == #"a\|b &lt;x> \*\_ns \_\_overflow\_\_ snake_case `a\|b <c>`"#)
        let spec = CommandSpec("t", summary: "s", synopsis: "Usage: t", flags: [
            Flag("--mode", value: "a|b", default: "a", "pick"), Flag("--keep", short: "-k", value: "RE", repeatable: true, "keep (names)"),
        ])
        #expect(spec.markdownTable == """
            | flag | default | meaning |
            |---|---|---|
            | `--mode` `a\\|b` | `a` | pick |
            | `-k`, `--keep` `RE` |  | keep (names; repeatable) |

            """)
        #expect(spec.help.contains("  -k, --keep RE  keep (names; repeatable)") && spec.help.contains("  --mode a|b     pick (default a)"), "\(spec.help)")
    }
}

/// The parser the specs drive.
@Suite struct ParsedFlagsTests {
    static let spec = CommandSpec("t", summary: "test", synopsis: "Usage: t", flags: [
        Flag("--follow", short: "-f", "follow"),
        Flag("--lines", short: "-n", value: "N", default: "10", "lines"),
        Flag("--where", value: "K=V", repeatable: true, "where"),
        Flag("--invocations-per-day", aliases: ["--rate"], value: "N", "rate"),
        .help,
    ])

    @Test func longShortAttachedAndInlineValues() throws {
        let p = try ParsedFlags(["-n5", "--where=a=b", "--where", "c<1", "-f", "x", "--rate", "7", "--", "-n", "y"], spec: Self.spec)
        #expect(p.value("--lines") == "5" && p.value("-n") == "5")
        #expect(p.all("--where") == ["a=b", "c<1"])
        #expect(p.has("--follow") && p.has("-f") && !p.has("--help"))
        #expect(p.value("--invocations-per-day") == "7" && p.value("--rate") == "7")
        #expect(p.positional == ["x", "-n", "y"])
        #expect(p.given.map(\.name) == ["--lines", "--where", "--where", "--follow", "--invocations-per-day"])
        #expect(try ParsedFlags(["-n", "5"], spec: Self.spec).value("--lines") == "5")
        let grouped = try ParsedFlags(["-fn5", "-hf", "-fn", "7"], spec: Self.spec)
        #expect(grouped.given.map(\.name) == ["--follow", "--lines", "--help", "--follow", "--follow", "--lines"] && grouped.all("-n") == ["5", "7"])
        #expect(try ParsedFlags(["--lines=5", "--lines", "6"], spec: Self.spec).value("--lines") == "6", "the last one counts")
        // A value may start with a dash: `--since -15m`.
        #expect(try ParsedFlags(["--lines", "-15m"], spec: Self.spec).value("--lines") == "-15m")
    }

    @Test func whatTheSpecDoesNotAllowIsAnError() {
        for (argv, message) in [
            (["--bogus"], "unknown flag --bogus (see --help)"), (["-x"], "unknown flag -x (see --help)"),
            (["--lines"], "--lines needs a value"), (["-n"], "-n needs a value"),
            (["--follow=yes"], "--follow takes no value"), (["-fx"], "unknown flag -x (see --help)"),
            (["-fn"], "-n needs a value"), (["-f=1"], "-f takes no value"), (["-f-n"], "unknown flag -f-n (see --help)"),
            (["--Lines", "1"], "unknown flag --Lines (see --help)"),
        ] {
            #expect { _ = try ParsedFlags(argv, spec: Self.spec) } throws: { ($0 as? FlagError)?.message == message }
        }
    }

    @Test func helpWrapsAndShowsDefaults() {
        let spec = CommandSpec("t", summary: "s", synopsis: "Usage: t", flags: [
            Flag("--lines", short: "-n", value: "N", default: "10", "show the last N events"),
            Flag("--segment.bytes", value: "N", default: "64", "rotate past N bytes (at least 4096)"),
            Flag("--a-very-long-flag-name-indeed", value: "PLACEHOLDER", String(repeating: "word ", count: 30).trimmingCharacters(in: .whitespaces)),
        ], epilogue: "Exit status: 0.", width: 90)
        let lines = spec.help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Usage: t" && lines[2] == "Options:")
        #expect(lines[3].hasPrefix("  -n, --lines N") && lines[3].hasSuffix("show the last N events (default 10)"))
        #expect(lines[4].hasSuffix("rotate past N bytes (at least 4096; default 64)"))
        #expect(lines[5] == "  --a-very-long-flag-name-indeed PLACEHOLDER", "a long synopsis has its own line")
        let column = lines[3].range(of: "show")!.lowerBound.utf16Offset(in: lines[3])
        #expect(lines[6].hasPrefix(String(repeating: " ", count: column) + "word"))
        #expect(lines.allSatisfy { $0.count <= 90 } && lines.count == 11, "wrapped to the width")
        #expect(lines.last == "Exit status: 0.")
    }
}

/// Each executable's parser on the spellings users type, and every spec flag changes what
/// the parser returns (a flag declared but ignored fails).
@Suite struct CommandParserTests {
    /// Arguments for `flag` that differ from its default and pass validation: the flag's name
    /// and "1", or a sample here. A new flag that "1" does not suit needs a sample.
    static let samples: [String: [String]] = [
        "--log.dir": ["--log.dir", "other"], "--web.listen-address": ["--web.listen-address", ":9999"],
        "--source.group": ["--source.group", "^(a)-x$"], "--metrics.keep": ["--metrics.keep", "orch_.*"],
        "--metrics.drop": ["--metrics.drop", "gen_ai_.*"], "--checkpoint.interval": ["--checkpoint.interval", "7"],
        "--metrics.max-series-per-family": ["--metrics.max-series-per-family", "5"], "--state.tracked-keys": ["--state.tracked-keys", "10"],
        "--status.sample-interval": ["--status.sample-interval", "2"],
        "--scenario": ["--scenario", "tool-outage"], "--speed": ["--speed", "2"], "--seed": ["--seed", "2"],
        "--naive": ["--naive", "queue"], "--protect": ["--protect", "queue"], "--profile": ["--profile", "flat"],
        "--start-hour": ["--start-hour", "9"], "--latency-scale": ["--latency-scale", "0"],
        "--state-store": ["--state-store", "postgres"], "--redis": ["--redis", "redis://h:1"], "--postgres": ["--postgres", "dbname=x"],
        "--tool-url": ["--tool-url", "http://h:1"], "--llm-url": ["--llm-url", "http://h:1/v1"],
        "--listen": ["--listen", "127.0.0.1:5"], "--concurrency": ["--concurrency", "3"],
        "--fault-start": ["--fault-start", "60"], "--fault-duration": ["--fault-duration", "60"],
    ]

    /// What a flag needs beside it to be valid: the live-only flags `--live`.
    static let contexts: [String: [String]] = [
        "--state-store": ["--live"], "--redis": ["--live"], "--postgres": ["--live", "--state-store", "postgres"],
        "--tool-url": ["--live"], "--llm-url": ["--live"], "--llm-key": ["--live"], "--llm-model": ["--live"],
        "--fault-start": ["--scenario", "tool-outage"], "--fault-duration": ["--scenario", "tool-outage"],
    ]

    static func probe(_ f: Flag) -> [String] { samples[f.name] ?? (f.takesValue ? [f.name, "1"] : [f.name]) }

    @Test func everyCollectorFlagIsParsed() throws {
        let base = ["--log.dir", "d"]
        let plain = try CollectorCommand.parse(base)
        for f in CollectorCommand.spec.flags {
            let with = try CollectorCommand.parse(base + Self.probe(f))
            #expect(with != plain, "\(f.name) changes nothing")
        }
        guard case .run(let o) = try CollectorCommand.parse(["--log.dir=a", "--log.dir", "b", "--checkpoint.interval=7", "--once"]) else {
            Issue.record("not a run"); return
        }
        #expect(o.logDirs == ["a", "b"] && o.checkpointInterval == 7 && o.once)
        #expect(try CollectorCommand.parse(["--help"]) == .print(CollectorCommand.spec.help + "\n"))
        #expect(try CollectorCommand.parse(["--log.dir", "d", "--help-markdown"]) == .print(CollectorCommand.spec.markdownTable))
        for (argv, message) in [(["--log.dir", "d", "--bogus"], "unknown flag --bogus"), (["--log.dir", "d", "extra"], "unexpected argument extra"),
                                (["--log.dir", "d", "--once=yes"], "--once takes no value"), (["--once"], "--log.dir is required")] {
            #expect { _ = try CollectorCommand.parse(argv) } throws: { "\($0)".contains(message) }
        }
    }

    @Test func everyReferenceOrchestratorFlagIsParsed() throws {
        let base = ["--scenario", "pilot", "--out", "d"]
        for f in RunOptions.spec.flags {
            let context = base + (Self.contexts[f.name] ?? [])
            #expect(try RunOptions.parse(context + Self.probe(f)) != RunOptions.parse(context), "\(f.name) changes nothing")
        }
        let inline = try RunOptions.parse(["--scenario=pilot", "--out=d", "--rate=600", "-q", "--naive=queue,occ"])
        #expect(inline.invocationsPerDay == 600 && inline.quiet && inline.naive == ["queue", "occ"])
        #expect(try RunOptions.parse(["--version"]).version && RunOptions.help == RunOptions.spec.help)
        #expect { _ = try RunOptions.parse(base + ["--live=1"]) } throws: { "\($0)".contains("--live takes no value") }
        #expect { _ = try RunOptions.parse(base + ["--state-store=postgres"]) } throws: { "\($0)".contains("--state-store needs --live") }
    }

    @Test func everyReferenceBackendsFlagIsParsed() throws {
        let plain = try BackendsCommand.parse([])
        for f in BackendsCommand.spec.flags {
            #expect(try BackendsCommand.parse(Self.probe(f)) != plain, "\(f.name) changes nothing")
        }
        guard case .run(let o) = try BackendsCommand.parse(["--listen=127.0.0.1:0", "--rpm=5", "--tpm", "6"]) else {
            Issue.record("not a run"); return
        }
        #expect(o.host == "127.0.0.1" && o.rpm == 5 && o.tpm == 6)
        #expect { _ = try BackendsCommand.parse(["--listen"]) } throws: { ($0 as? FlagError)?.message == "--listen needs a value" }
    }

    /// `orchlog`'s commands on their own specs: attached short values, `--flag=value`.
    @Test func orchlogCommandsTakeEverySpelling() throws {
        let tail = try Arguments(["-n1", "-ojson", "--where=latency>1s", "--since=-15m", "--type", "tool_call", "p"], spec: TailCommand.spec)
        #expect(tail.value("-n") == "1" && tail.value("--output") == "json" && tail.all("--where") == ["latency>1s"])
        #expect(tail.value("--since") == "-15m" && tail.positional == ["p"])
        #expect(try Arguments(["--lines", "5"], spec: TailCommand.spec).value("-n") == "5")
        #expect(try Arguments(["--repair"], spec: VerifyCommand.spec).has("--repair"))
        let generate = try Arguments(["--out=d", "--segment.bytes=4096", "--report-durable"], spec: GenerateCommand.spec)
        #expect(generate.value("--out") == "d" && generate.value("--segment.bytes") == "4096" && generate.has("--report-durable"))
        #expect { _ = try Arguments(["--repair"], spec: TailCommand.spec) } throws: {
            ($0 as? CLIError).map { $0.isUsage && $0.message == "unknown flag --repair (see --help)" } ?? false
        }
    }
}
