import Foundation
import OrchTestSupport
import Testing

/// `make install`/`uninstall` and the deploy/ files, each checked with the real tool:
/// systemd-analyze verify, promtool check config/rules, a YAML parser (PyYAML).
@Suite struct DeployTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The directory holding the already built binaries (the install test must not build).
    static var builtBinDir: String { URL(fileURLWithPath: binaryPath("orchlog")).deletingLastPathComponent().path }

    /// Runs `make TARGET …` in the repository, isolated from an outer make's jobserver.
    static func make(_ args: [String]) throws -> ProcessResult {
        try run("/usr/bin/env", ["make", "--no-print-directory", "-C", repoRoot] + args, environment: ["MAKEFLAGS": "", "MAKELEVEL": "", "MFLAGS": ""])
    }

    /// Installs into DESTDIR+PREFIX with the built binaries; returns the installed root.
    static func install(destdir: String, prefix: String) throws -> String {
        var args = ["install", "PREFIX=\(prefix)", "BIN_DIR=\(builtBinDir)"]
        if !destdir.isEmpty { args.append("DESTDIR=\(destdir)") }
        let r = try make(args)
        guard r.status == 0 else { throw TestFailure("make install failed: \(r.stdout)\(r.stderr)") }
        return destdir + prefix
    }

    /// Parses YAML files (all documents) with PyYAML; returns (file, document) pairs.
    static func loadYAML(_ paths: [String]) throws -> [(file: String, doc: [String: Any])] {
        let script = """
        import json, sys, yaml
        out = []
        for p in sys.argv[1:]:
            with open(p, encoding="utf-8") as f:
                for d in yaml.safe_load_all(f):
                    if d is not None:
                        out.append({"file": p, "doc": d})
        json.dump(out, sys.stdout)
        """
        let r = try run("/usr/bin/env", ["python3", "-c", script] + paths)
        guard r.status == 0 else { throw TestFailure("YAML did not parse: \(r.stderr)") }
        let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return list.map { (($0["file"] as? String) ?? "", ($0["doc"] as? [String: Any]) ?? [:]) }
    }

    static func files(_ dir: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: repoRoot + "/" + dir).filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// `Key=value` lines of a unit file (continuation lines joined), key → values.
    static func unitSettings(_ text: String) -> [String: [String]] {
        var settings: [String: [String]] = [:]
        var logical: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasSuffix("\\") { pending += line.dropLast() + " "; continue }
            logical.append(pending + line)
            pending = ""
        }
        for line in logical {
            guard let eq = line.firstIndex(of: "="), !line.hasPrefix("[") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].split(separator: " ").joined(separator: " ")
            settings[key, default: []].append(value)
        }
        return settings
    }

    @Test func makeInstallLaysOutEverythingAndUninstallRemovesIt() throws {
        let dir = TempDir("install")
        defer { dir.remove() }
        let stage = dir.sub("stage")
        let root = try DeployTests.install(destdir: stage, prefix: "/opt/orchlog")
        let fm = FileManager.default

        for bin in ["orchlog", "orchlog-collector", "reference-orchestrator"] {
            #expect(fm.isExecutableFile(atPath: "\(root)/bin/\(bin)"), "bin/\(bin)")
        }
        let help = try run("\(root)/bin/orchlog", ["--help"])
        #expect(help.status == 0 && help.stdout.contains("Usage: orchlog") && help.stdout.contains("ingest"), "\(help.stderr)")
        let collectorHelp = try run("\(root)/bin/orchlog-collector", ["--help"])
        #expect(collectorHelp.status == 0 && collectorHelp.stdout.contains("--log.dir"), "\(collectorHelp.stdout)\(collectorHelp.stderr)")

        // Rules, dashboards and docs are copies of the repository's.
        for (sub, installed, suffix) in [("alerts", "rules", ".rules.yml"), ("dashboards", "dashboards", ".json"), ("docs", "docs", ".md")] {
            let sources = try DeployTests.files(sub, suffix: suffix)
            #expect(!sources.isEmpty)
            for name in sources {
                let a = fm.contents(atPath: "\(DeployTests.repoRoot)/\(sub)/\(name)")
                let b = fm.contents(atPath: "\(root)/share/orchlog/\(installed)/\(name)")
                #expect(a != nil && a == b, "share/orchlog/\(installed)/\(name)")
            }
        }
        for doc in ["deploying.md", "instrumenting.md", "ndjson.md"] {
            #expect(fm.fileExists(atPath: "\(root)/share/orchlog/docs/\(doc)"), "\(doc)")
        }
        // Paths in installed configs point into PREFIX, not /usr/local.
        let unit = try String(contentsOfFile: "\(root)/lib/systemd/system/orchlog-collector.service", encoding: .utf8)
        #expect(DeployTests.unitSettings(unit)["ExecStart"]?.first?.hasPrefix("/opt/orchlog/bin/orchlog-collector ") == true, "\(unit)")
        let prometheus = try String(contentsOfFile: "\(root)/share/orchlog/deploy/prometheus/prometheus.yml", encoding: .utf8)
        #expect(prometheus.contains("- /opt/orchlog/share/orchlog/rules/*.rules.yml") && !prometheus.contains("/usr/local/"))
        let provider = try String(contentsOfFile: "\(root)/share/orchlog/deploy/grafana/provisioning/dashboards/orchlog.yml", encoding: .utf8)
        #expect(provider.contains("path: /opt/orchlog/share/orchlog/dashboards"))
        for extra in ["systemd/orchestrator-logdir.conf", "clients/python/pyproject.toml", "clients/python/src/orchlog/__init__.py", "deploy/kubernetes/prometheusrule.yaml",
                      "deploy/kubernetes/daemonset.yaml", "deploy/grafana/provisioning/datasources/orchlog.yml"] {
            #expect(fm.fileExists(atPath: "\(root)/share/orchlog/\(extra)"), "\(extra)")
        }

        let un = try DeployTests.make(["uninstall", "PREFIX=/opt/orchlog", "DESTDIR=\(stage)"])
        #expect(un.status == 0, "\(un.stderr)")
        let left = (fm.enumerator(atPath: stage)?.allObjects as? [String] ?? []).filter {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: stage + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }
        #expect(left.isEmpty, "uninstall leaves no files: \(left)")
        #expect(!fm.fileExists(atPath: "\(root)/share/orchlog"))
    }

    @Test func installRefusesMissingBinaries() throws {
        let dir = TempDir("install-missing")
        defer { dir.remove() }
        let r = try DeployTests.make(["install", "PREFIX=/opt/orchlog", "DESTDIR=\(dir.sub("stage"))", "BIN_DIR=\(dir.sub("nothing"))"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("nothing/orchlog is missing"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("stage/opt/orchlog/bin")))
    }

    @Test func systemdUnitIsHardenedAndVerifies() throws {
        let dir = TempDir("systemd")
        defer { dir.remove() }
        // Installed without DESTDIR, so ExecStart names a binary that exists, as verify requires.
        let root = try DeployTests.install(destdir: "", prefix: dir.sub("prefix"))
        let unitPath = "\(root)/lib/systemd/system/orchlog-collector.service"
        let verify = try run("/usr/bin/env", ["systemd-analyze", "verify", unitPath])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stderr.isEmpty && verify.stdout.isEmpty, "systemd-analyze must have nothing to say:\n\(verify.stdout)\(verify.stderr)")

        let s = DeployTests.unitSettings(try String(contentsOfFile: unitPath, encoding: .utf8))
        #expect(s["DynamicUser"] == ["yes"] || s["User"] != nil)
        for (key, value) in [("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                             ("Restart", "on-failure"), ("StateDirectory", "orchlog-collector")] {
            #expect(s[key] == [value], "\(key)=\(value)")
        }
        #expect(s["RestrictAddressFamilies"]?.first?.split(separator: " ").sorted() == ["AF_INET", "AF_INET6", "AF_UNIX"])
        #expect(s["CapabilityBoundingSet"] == [""], "no capabilities")
        // Under ProtectSystem=strict only the state directory is writable: the checkpoint
        // must live there. And the logs it reads are where the orchestrator drop-in puts them.
        let exec = try #require(s["ExecStart"]?.first)
        #expect(exec.contains("--checkpoint.file=/var/lib/orchlog-collector/"), "\(exec)")
        #expect(exec.contains("--log.dir=/var/log/orchestrator "), "\(exec)")
        #expect(exec.contains("--web.listen-address=:9478"), "\(exec)")
        let dropIn = DeployTests.unitSettings(try String(contentsOfFile: DeployTests.repoRoot + "/deploy/systemd/orchestrator-logdir.conf", encoding: .utf8))
        #expect(dropIn["LogsDirectory"] == ["orchestrator"])
        #expect(dropIn["Group"] == s["SupplementaryGroups"], "the orchestrator writes with the group the collector reads with")

        // The drop-in, applied to a stand-in orchestrator service, verifies too, and is read.
        try "[Unit]\nDescription=stand-in orchestrator\n[Service]\nExecStart=/bin/true\nUser=orchestrator\n[Install]\nWantedBy=multi-user.target\n"
            .write(toFile: dir.sub("my-orchestrator.service"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.sub("my-orchestrator.service.d"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(root)/share/orchlog/systemd/orchestrator-logdir.conf", toPath: dir.sub("my-orchestrator.service.d/orchlog.conf"))
        let dropInVerify = try run("/usr/bin/env", ["systemd-analyze", "verify", dir.sub("my-orchestrator.service")])
        #expect(dropInVerify.status == 0 && dropInVerify.stderr.isEmpty, "\(dropInVerify.stdout)\(dropInVerify.stderr)")
        let debug = try run("/usr/bin/env", ["systemd-analyze", "verify", dir.sub("my-orchestrator.service")], environment: ["SYSTEMD_LOG_LEVEL": "debug"])
        #expect((debug.stdout + debug.stderr).contains("DropIn Path: \(dir.sub("my-orchestrator.service.d/orchlog.conf"))"))

        // The check above is meaningful: verify reports a unit error on stderr.
        var broken = try String(contentsOfFile: unitPath, encoding: .utf8)
        broken = broken.replacingOccurrences(of: "ProtectSystem=strict", with: "ProtectSystem=very")
        try broken.write(toFile: dir.sub("broken.service"), atomically: true, encoding: .utf8)
        let bad = try run("/usr/bin/env", ["systemd-analyze", "verify", dir.sub("broken.service")])
        #expect(bad.stderr.contains("broken.service:") && bad.stderr.contains("very"), "\(bad.stderr)")
    }

    @Test func prometheusConfigPassesPromtoolAndLoadsTheRules() throws {
        let dir = TempDir("promconfig")
        defer { dir.remove() }
        // The repository file as is…
        let plain = try run("/usr/bin/env", ["promtool", "check", "config", DeployTests.repoRoot + "/deploy/prometheus/prometheus.yml"])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        // …and installed, where its rule_files glob finds the installed rules, which promtool checks too.
        let root = try DeployTests.install(destdir: "", prefix: dir.sub("prefix"))
        let r = try run("/usr/bin/env", ["promtool", "check", "config", "\(root)/share/orchlog/deploy/prometheus/prometheus.yml"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let output = r.stdout + r.stderr
        for rules in try DeployTests.files("alerts", suffix: ".rules.yml") {
            #expect(output.contains("Checking \(root)/share/orchlog/rules/\(rules)"), "rule file \(rules) loaded:\n\(output)")
        }
        #expect(output.contains("rules found"), "\(output)")

        let doc = try #require(DeployTests.loadYAML([DeployTests.repoRoot + "/deploy/prometheus/prometheus.yml"]).first?.doc)
        #expect(doc["rule_files"] as? [String] == ["/usr/local/share/orchlog/rules/*.rules.yml"])
        let jobs = doc["scrape_configs"] as? [[String: Any]] ?? []
        let local = try #require(jobs.first { $0["job_name"] as? String == "orchlog-collector" })
        let targets = ((local["static_configs"] as? [[String: Any]])?.first?["targets"] as? [String]) ?? []
        #expect(targets == ["localhost:9478"], "scrapes the port the unit listens on")
    }

    @Test func grafanaProvisioningPointsAtTheDashboards() throws {
        let dir = TempDir("grafana")
        defer { dir.remove() }
        let base = DeployTests.repoRoot + "/deploy/grafana/provisioning"
        let docs = try DeployTests.loadYAML([base + "/datasources/orchlog.yml", base + "/dashboards/orchlog.yml"])
        try #require(docs.count == 2)
        #expect(docs[0].doc["apiVersion"] as? Int == 1 && docs[1].doc["apiVersion"] as? Int == 1)
        let datasource = try #require((docs[0].doc["datasources"] as? [[String: Any]])?.first)
        #expect(datasource["type"] as? String == "prometheus")
        #expect(datasource["url"] as? String == "http://localhost:9090")
        let provider = try #require((docs[1].doc["providers"] as? [[String: Any]])?.first)
        #expect(provider["type"] as? String == "file")
        #expect((provider["options"] as? [String: Any])?["path"] as? String == "/usr/local/share/orchlog/dashboards")

        // Installed, the provider's path is a directory holding every dashboard.
        let root = try DeployTests.install(destdir: "", prefix: dir.sub("prefix"))
        let installed = try DeployTests.loadYAML(["\(root)/share/orchlog/deploy/grafana/provisioning/dashboards/orchlog.yml"])
        let path = try #require(((installed.first?.doc["providers"] as? [[String: Any]])?.first?["options"] as? [String: Any])?["path"] as? String)
        let dashboards = try DeployTests.files("dashboards", suffix: ".json")
        #expect(!dashboards.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".json") }.sorted() == dashboards)
        // The dashboards choose a datasource of the provisioned type.
        for name in dashboards {
            let json = try readJSON("\(path)/\(name)")
            let vars = (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
            #expect(vars.contains { $0["type"] as? String == "datasource" && $0["query"] as? String == "prometheus" }, "\(name)")
        }
    }

    /// Whether every key/value of `selector` is in `labels`.
    static func selects(_ selector: Any?, _ labels: Any?) -> Bool {
        guard let sel = selector as? [String: String], !sel.isEmpty, let labels = labels as? [String: String] else { return false }
        return sel.allSatisfy { labels[$0.key] == $0.value }
    }

    @Test func kubernetesManifestsParseAndFitTogether() throws {
        let dir = DeployTests.repoRoot + "/deploy/kubernetes"
        let paths = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted().map { dir + "/" + $0 }
        let docs = try DeployTests.loadYAML(paths).map(\.doc)
        func find(_ kind: String, _ name: String) throws -> [String: Any] {
            try #require(docs.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }, "\(kind)/\(name)")
        }
        for doc in docs {
            let meta = doc["metadata"] as? [String: Any] ?? [:]
            #expect(doc["apiVersion"] is String && doc["kind"] is String && meta["name"] is String, "\(doc)")
            if doc["kind"] as? String != "Namespace" { #expect(meta["namespace"] as? String == "orchlog", "\(meta)") }
        }

        // The DaemonSet: logs from a read-only hostPath, checkpoint on a writable volume.
        func checkCollector(_ podSpec: [String: Any], container name: String) throws {
            let containers = podSpec["containers"] as? [[String: Any]] ?? []
            let c = try #require(containers.first { $0["name"] as? String == name })
            let args = c["args"] as? [String] ?? []
            func arg(_ flag: String) -> String? { args.first { $0.hasPrefix(flag + "=") }.map { String($0.dropFirst(flag.count + 1)) } }
            let mounts = c["volumeMounts"] as? [[String: Any]] ?? []
            let logDir = try #require(arg("--log.dir"))
            let logMount = try #require(mounts.first { $0["mountPath"] as? String == logDir }, "--log.dir is a mounted volume")
            #expect(logMount["readOnly"] as? Bool == true)
            let checkpoint = try #require(arg("--checkpoint.file"))
            let stateMount = try #require(mounts.first { checkpoint.hasPrefix(($0["mountPath"] as? String ?? "") + "/") }, "checkpoint on a volume")
            #expect(stateMount["readOnly"] as? Bool != true)
            let volumes = podSpec["volumes"] as? [[String: Any]] ?? []
            for mount in [logMount, stateMount] {
                #expect(volumes.contains { $0["name"] as? String == mount["name"] as? String }, "volume \(mount["name"] ?? "")")
            }
            let port = try #require((c["ports"] as? [[String: Any]])?.first { $0["name"] as? String == "metrics" })
            #expect(port["containerPort"] as? Int == 9478 && arg("--web.listen-address") == ":9478")
            #expect(((c["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/-/healthy")
            #expect(((c["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/-/ready")
            let requests = (c["resources"] as? [String: Any])?["requests"] as? [String: Any]
            #expect(requests?["cpu"] != nil && requests?["memory"] != nil, "resource requests")
            let security = c["securityContext"] as? [String: Any] ?? [:]
            #expect(security["readOnlyRootFilesystem"] as? Bool == true && security["allowPrivilegeEscalation"] as? Bool == false)
        }
        let ds = try find("DaemonSet", "orchlog-collector")
        let dsSpec = ds["spec"] as? [String: Any] ?? [:]
        let dsTemplate = dsSpec["template"] as? [String: Any] ?? [:]
        let dsLabels = (dsTemplate["metadata"] as? [String: Any])?["labels"]
        #expect(DeployTests.selects((dsSpec["selector"] as? [String: Any])?["matchLabels"], dsLabels))
        let dsPod = dsTemplate["spec"] as? [String: Any] ?? [:]
        try checkCollector(dsPod, container: "collector")
        let hostVolumes = (dsPod["volumes"] as? [[String: Any]] ?? []).compactMap { ($0["hostPath"] as? [String: Any])?["path"] as? String }
        #expect(hostVolumes.contains("/var/log/orchestrator"))
        #expect((dsPod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)

        // Service → DaemonSet pods; ServiceMonitor → Service and its port name.
        let svc = try find("Service", "orchlog-collector")
        let svcSpec = svc["spec"] as? [String: Any] ?? [:]
        #expect(DeployTests.selects(svcSpec["selector"], dsLabels))
        let svcPorts = (svcSpec["ports"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let sm = try find("ServiceMonitor", "orchlog-collector")
        let smSpec = sm["spec"] as? [String: Any] ?? [:]
        #expect(DeployTests.selects((smSpec["selector"] as? [String: Any])?["matchLabels"], (svc["metadata"] as? [String: Any])?["labels"]))
        #expect((smSpec["endpoints"] as? [[String: Any]] ?? []).allSatisfy { svcPorts.contains($0["port"] as? String ?? "") })

        // The sidecar example: the collector shares the orchestrator's log volume.
        let deploy = try find("Deployment", "my-orchestrator")
        let template = (deploy["spec"] as? [String: Any])?["template"] as? [String: Any] ?? [:]
        let pod = template["spec"] as? [String: Any] ?? [:]
        try checkCollector(pod, container: "orchlog-collector")
        let containers = pod["containers"] as? [[String: Any]] ?? []
        #expect(containers.count == 2)
        let volumeSets = containers.map { Set(($0["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) }
        #expect(!volumeSets[0].intersection(volumeSets[1]).isEmpty, "a shared log volume")
        let sidecarSvc = try find("Service", "my-orchestrator-orchlog")
        #expect(DeployTests.selects((sidecarSvc["spec"] as? [String: Any])?["selector"], (template["metadata"] as? [String: Any])?["labels"]))
        let sidecarSM = try find("ServiceMonitor", "my-orchestrator-orchlog")
        #expect(DeployTests.selects(((sidecarSM["spec"] as? [String: Any])?["selector"] as? [String: Any])?["matchLabels"], (sidecarSvc["metadata"] as? [String: Any])?["labels"]))
    }

    @Test func prometheusRuleCarriesExactlyTheRulesOfAlerts() throws {
        let dir = TempDir("promrule")
        defer { dir.remove() }
        let ruleFiles = try DeployTests.files("alerts", suffix: ".rules.yml").map { DeployTests.repoRoot + "/alerts/" + $0 }
        let expected = try DeployTests.loadYAML(ruleFiles).flatMap { $0.doc["groups"] as? [Any] ?? [] }
        #expect(!expected.isEmpty)
        let rule = try #require(DeployTests.loadYAML([DeployTests.repoRoot + "/deploy/kubernetes/prometheusrule.yaml"]).first?.doc)
        #expect(rule["apiVersion"] as? String == "monitoring.coreos.com/v1" && rule["kind"] as? String == "PrometheusRule")
        let groups = (rule["spec"] as? [String: Any])?["groups"] as? [Any] ?? []
        #expect(NSArray(array: groups).isEqual(to: expected), "the PrometheusRule must carry exactly alerts/*.rules.yml's groups — run python3 scripts/gen-prometheusrule.py")
        func names(_ gs: [Any]) -> [String] {
            gs.flatMap { (($0 as? [String: Any])?["rules"] as? [[String: Any]] ?? []).map { ($0["alert"] ?? $0["record"]) as? String ?? "?" } }
        }
        #expect(names(groups) == names(expected))

        // Up to date with the generator, byte for byte.
        let check = try run("/usr/bin/env", ["python3", DeployTests.repoRoot + "/scripts/gen-prometheusrule.py", "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        // And promtool accepts the embedded groups as a rule file.
        let extract = try run("/usr/bin/env", ["python3", "-c", "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); yaml.safe_dump({'groups': d['spec']['groups']}, open(sys.argv[2], 'w'), sort_keys=False)",
                                               DeployTests.repoRoot + "/deploy/kubernetes/prometheusrule.yaml", dir.sub("embedded.rules.yml")])
        #expect(extract.status == 0, "\(extract.stderr)")
        let promtool = try run("/usr/bin/env", ["promtool", "check", "rules", dir.sub("embedded.rules.yml")])
        #expect(promtool.status == 0, "\(promtool.stdout)\(promtool.stderr)")
    }

    @Test func deployingGuideLinksOnlyToFilesThatExist() throws {
        let docPath = DeployTests.repoRoot + "/docs/deploying.md"
        let text = try String(contentsOfFile: docPath, encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"\]\(([^)#:]+)(#[^)]*)?\)"#)
        let links = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } }
        #expect(links.count >= 10)
        for link in links {
            let target = URL(fileURLWithPath: docPath).deletingLastPathComponent().appendingPathComponent(link).standardized.path
            #expect(FileManager.default.fileExists(atPath: target), "docs/deploying.md links to missing \(link)")
        }
        for file in ["deploy/systemd/orchlog-collector.service", "deploy/systemd/orchestrator-logdir.conf", "deploy/prometheus/prometheus.yml",
                     "deploy/kubernetes/daemonset.yaml", "deploy/kubernetes/sidecar-example.yaml", "deploy/kubernetes/prometheusrule.yaml"] {
            #expect(text.contains(file.split(separator: "/").last!), "docs/deploying.md mentions \(file)")
        }
    }
}
