import Foundation
@testable import OrchCLI
import OrchCollector
import Testing

/// The collector's status page flags failure modes with its own copy of the thresholds (the
/// collector cannot import OrchCLI): it must equal the table the shipped rules are rendered from.
@Suite struct StatusThresholdsTests {
    @Test func statusPageThresholdsAreTheRulesDefaults() {
        let rules = RuleThresholds.defaults, page = StatusThresholds.ruleDefaults
        func same(_ limit: StatusThresholds.Limit, _ key: RuleThresholds.AlertKey) {
            #expect(limit.threshold == rules[key].threshold, "\(key.rawValue)")
            #expect(limit.severity.rawValue == rules[key].severity.rawValue, "\(key.rawValue)")
        }
        same(page.lostUpdates, .stateLostUpdates)
        same(page.writeTimeouts, .memoryWriteTimeouts)
        same(page.circuitOpen, .toolsCircuitOpen)
        same(page.rateLimited, .llmRateLimitSaturation)
        same(page.queueNearCapacity, .queueNearCapacity)
        same(page.queueRejecting, .queueRejecting)
        same(page.queueGrowing, .queueGrowing)
        #expect(page.sloTarget == rules.slo.target)
    }

    /// The windows the page computes over and its burn-rate factors are the rules' own (read from
    /// the rendered rules).
    @Test func statusPageWindowsAndBurnRatesAreTheRules() {
        let text = RuleRenderer.render(RuleThresholds.defaults).text
        let page = StatusThresholds.ruleDefaults
        #expect(text.contains("increase(orch_state_lost_updates_total[\(Int(StatusThresholds.ruleDefaults.lostUpdatesWindow / 60))m])"))
        #expect(text.contains("rate(orch_state_writes_total{outcome=\"timeout\"}[\(Int(StatusThresholds.ruleDefaults.rateWindow / 60))m])"))
        #expect(text.contains("deriv(orch_queue_depth[\(Int(StatusThresholds.ruleDefaults.growthWindow / 60))m])"))
        // The fast-burn alert's factors, which the page's success rate is flagged by.
        for burn in [page.burnCritical, page.burnWarning] {
            #expect(text.contains("/ (1 - \(String(format: "%g", page.sloTarget))) > \(String(format: "%g", burn))"), "burn \(burn)")
        }
    }
}

/// docs/rules.md's table of knobs names every alert key of the thresholds file, its alert and
/// its second knob, as the parser knows them.
@Suite struct RulesDocTests {
    @Test func theKnobTableIsTheParsersKeys() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: repo.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        var rows: [String: (alert: String, second: String)] = [:]
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 5 else { continue }
            let key = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let second = cells[3].split(separator: "`").first.map(String.init) ?? ""
            rows[key] = (String(cells[2].split(separator: " ").first ?? ""), cells[3].isEmpty ? "" : second)
        }
        for key in RuleThresholds.AlertKey.allCases {
            let row = try #require(rows[key.rawValue], "docs/rules.md has no row for \(key.rawValue)")
            #expect(row.alert == key.alertName, "\(key.rawValue)")
            #expect(row.second == (key.secondKnob?.name ?? ""), "\(key.rawValue)")
        }
    }
}
