import Glibc
import OrchLog

/// Emits a corpus into a log as fast as the writer takes it, without drops: like
/// `orchlog generate`, it pauses while the buffer is over three quarters full.
enum LogFiller {
    /// Emits every event of `events`; returns when the last one is in the buffer.
    static func fill(_ log: EventLog, _ events: [Event]) {
        let highWater = log.options.bufferCapacity * 3 / 4
        var sinceCheck = 0
        for e in events {
            log.emit(e)
            sinceCheck &+= 1
            if sinceCheck == 256 {
                sinceCheck = 0
                while log.bufferedCount > highWater { usleep(50) }
            }
        }
    }
}
