import Foundation
import OrchReference

/// A `reference-backends` process the live run starts (beside the running executable) on a
/// free loopback port, at the run's speed; `stop()` ends it.
final class ManagedBackends: Sendable {
    /// Its base URL (`http://127.0.0.1:PORT`).
    let url: String
    private let process: ManagedProcess

    /// Serves the scenario's world: its latency scale and its first key's limits for every key.
    init(directory: String, speed: Double, seed: UInt64, world: WorldConfig) throws(LiveError) {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        let exe = [own + "/reference-backends"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? Host.find("reference-backends")
        guard let exe else { throw LiveError(.process, "reference-backends not found beside \(own) or on PATH") }
        let log = directory + "/reference-backends.log"
        let key = world.llm.keys.first ?? ProviderKeyConfig(alias: "key-a")
        let p = try ManagedProcess(exe, ["--speed", String(speed), "--seed", String(seed), "--latency-scale", String(world.latencyScale),
                                         "--concurrency", String(key.concurrency), "--rpm", String(key.rpm), "--tpm", String(key.tpm)],
                                   logPath: log)
        var found: String?
        _ = Host.wait(timeout: 10) {
            found = p.logTail(400).components(separatedBy: "listening on ").dropFirst().first?
                .split(separator: "\n").first.map(String.init)
            return found != nil || !p.isRunning
        }
        guard let found else {
            p.stop()
            throw LiveError(.process, "reference-backends did not start: \(p.logTail(500))")
        }
        url = found
        process = p
    }

    func stop() { process.stop(grace: 5) }
}
