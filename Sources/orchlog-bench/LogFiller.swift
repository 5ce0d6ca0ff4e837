import Foundation
import Glibc
import OrchLog

/// Emits a corpus into a log as fast as the writer takes it, without drops: like
/// `orchlog generate`, it pauses while the buffer is over three quarters full.
enum LogFiller {
    /// How events are stamped.
    enum Stamps {
        /// By `emit`, with the clock (the writer's default).
        case clock
        /// Exactly `ns` apart: timestamps carry no information.
        case constant(ns: UInt64)
        /// Poisson arrivals `meanNs` apart on average, at nanosecond resolution: what a real
        /// source at 1e9 / meanNs events/s looks like, written in bulk.
        case poisson(meanNs: Double)
    }

    /// Emits every event of `events`; returns when the last one is in the buffer.
    static func fill(_ log: EventLog, _ events: [Event], stamps: Stamps = .clock) {
        let highWater = log.options.bufferCapacity * 3 / 4
        var ts = Clock.realtimeNs()
        var rng = SplitMix64(seed: 7)
        var sinceCheck = 0
        for e in events {
            switch stamps {
            case .clock:
                log.emit(e)
            case .constant(let ns):
                ts &+= ns
                log.emit(e, at: ts)
            case .poisson(let mean):
                ts &+= UInt64(-log1p(-rng.unit()) * mean)
                log.emit(e, at: ts)
            }
            sinceCheck &+= 1
            if sinceCheck == 256 {
                sinceCheck = 0
                while log.bufferedCount > highWater { usleep(50) }
            }
        }
    }
}
