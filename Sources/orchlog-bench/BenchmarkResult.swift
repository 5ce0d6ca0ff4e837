/// What one benchmark produced: its figures and notes on how they were measured.
struct BenchmarkResult: Codable {
    let name: String
    var figures: [Figure] = []
    var notes: [String] = []
    /// Wall seconds the benchmark took, set-up included.
    var seconds: Double = 0

    init(name: String) { self.name = name }

    mutating func add(_ figure: Figure) { figures.append(figure) }

    mutating func note(_ text: String) { notes.append(text) }
}
