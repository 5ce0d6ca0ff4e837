import Foundation

/// The whole run: machine, mode, every benchmark's figures.
struct BenchReport: Codable {
    let machine: MachineInfo
    let quick: Bool
    let arguments: [String]
    var benchmarks: [BenchmarkResult] = []

    var targetsMet: Int { benchmarks.flatMap(\.figures).filter { $0.met == true }.count }
    var targetsMissed: Int { benchmarks.flatMap(\.figures).filter { $0.met == false }.count }
    var goalsMet: Int { benchmarks.flatMap(\.figures).filter { $0.goalMet == true }.count }
    var goalsMissed: Int { benchmarks.flatMap(\.figures).filter { $0.goalMet == false }.count }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    var header: String {
        "orchlog-bench\(quick ? " --quick (smoke run: figures not for quoting)" : ""): \(machine.line)\n"
    }

    /// One benchmark's figures and notes as text.
    static func section(_ b: BenchmarkResult) -> String {
        var out = "\n\(b.name) (\(Figure.format(b.seconds)) s)\n"
        for f in b.figures { out += f.line + "\n" }
        for n in b.notes { out += "  - \(n)\n" }
        return out
    }

    var footer: String {
        "\ntargets: \(targetsMet) met, \(targetsMissed) missed" + (goalsMet + goalsMissed > 0 ? "; stricter goals: \(goalsMet) met, \(goalsMissed) missed" : "") + "\n"
    }
}
