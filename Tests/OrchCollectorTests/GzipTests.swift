import Foundation
@testable import OrchCollector
import OrchTestSupport
import Testing

@Suite struct GzipTests {
    private func sample(_ count: Int, compressible: Bool, seed: UInt64) -> [UInt8] {
        var rng = HTTPTestRNG(seed: seed)
        if compressible {
            let line = Array("orch_invocations_total{agent=\"planner\",outcome=\"ok\",source=\"a\"} 12345\n".utf8)
            return (0..<count).map { line[$0 % line.count] }
        }
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    @Test func roundTripsAllSizes() throws {
        for (i, size) in [0, 1, 100, 65_535, 65_536, 1_000_000].enumerated() {
            for compressible in [true, false] {
                let input = sample(size, compressible: compressible, seed: UInt64(i))
                let gz = try Gzip.compress(input)
                #expect(Array(gz.prefix(3)) == [0x1f, 0x8b, 0x08], "gzip magic and deflate method")
                #expect(try Gzip.decompress(gz) == input, "size \(size)")
                if compressible && size > 1000 { #expect(gz.count < size / 10) }
            }
        }
    }

    @Test func theRealGzipToolReadsOurOutput() throws {
        let dir = TempDir("gzip"); defer { dir.remove() }
        let input = sample(300_000, compressible: true, seed: 1) + sample(10_000, compressible: false, seed: 2)
        try Data(Gzip.compress(input, level: 9)).write(to: URL(fileURLWithPath: dir.sub("x.gz")))
        let r = try run("/bin/sh", ["-c", "gzip -t \(dir.sub("x.gz")) && gzip -dc \(dir.sub("x.gz")) | cksum"])
        #expect(r.status == 0, "\(r.stderr)")
        try Data(input).write(to: URL(fileURLWithPath: dir.sub("x")))
        let expected = try run("/bin/sh", ["-c", "cksum < \(dir.sub("x"))"])
        #expect(r.stdout == expected.stdout)
    }

    @Test func levelsAreChecked() throws {
        #expect(throws: CollectorError.self) { try Gzip.compress([1, 2, 3], level: 10) }
        #expect(throws: CollectorError.self) { try Gzip.compress([1, 2, 3], level: -2) }
        let stored = try Gzip.compress(sample(10_000, compressible: true, seed: 3), level: 0)
        #expect(stored.count > 10_000)
    }

    @Test func decompressRejectsCorruptTruncatedAndOversizedInput() throws {
        let input = sample(200_000, compressible: true, seed: 4)
        let gz = try Gzip.compress(input)
        #expect(throws: CollectorError.self) { try Gzip.decompress(Array(gz.prefix(gz.count / 2))) }
        #expect(throws: CollectorError.self) { try Gzip.decompress([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]) }
        #expect(throws: CollectorError.self) { try Gzip.decompress(Array("not gzip at all".utf8)) }
        var flipped = gz
        flipped[gz.count - 6] ^= 0xff  // CRC-32
        #expect(throws: CollectorError.self) { try Gzip.decompress(flipped) }
        #expect(throws: CollectorError.self) { try Gzip.decompress(gz, maxOutput: 100_000) }
        #expect(try Gzip.decompress(gz, maxOutput: 200_000) == input)
    }

    @Test func concurrentCompressionIsIndependent() async throws {
        let inputs = (0..<8).map { sample(50_000 + $0 * 1000, compressible: $0 % 2 == 0, seed: UInt64($0)) }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for input in inputs {
                group.addTask { try Gzip.decompress(Gzip.compress(input)) == input }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
