import Glibc
import OrchLog
import OrchFlags

/// `orchlog verify`: checks every frame; `--repair` cuts torn tails.
enum VerifyCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
        guard args.positional.count == 1 else { throw CLIError.usage("verify: give exactly one PATH (see --help)") }
        let repair = args.has("--repair")
        let path = args.positional[0]
        let sources: [SourceDirectory]
        do { sources = try LogDirectory.sources(at: path) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
        // No sources yet (a new host, a root before its first writer): a warning, as in
        // `tail` and the collector; a path that is not a directory is an error above.
        if sources.isEmpty { Output.err("orchlog: warning: no orchlog sources under \(path) yet") }

        var remaining = 0
        var frames = 0, events = 0
        for source in sources {
            let live = LogDirectory.writerHoldsLock(source.path)
            let segments: [SegmentFile]
            do { segments = try LogDirectory.segments(in: source.path) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
            for segment in segments {
                let isNewest = segment.number == segments.last?.number
                let result = check(segment, liveTail: live && isNewest)
                frames += result.frames
                events += result.events
                for p in result.problems {
                    Output.out("\(segment.path):\(p.offset): \(p.reason)")
                }
                remaining += result.problems.filter { !$0.repairable }.count
                guard let cut = result.tornAt else { continue }
                if repair && !live {
                    if cut < Int64(LogFormat.segmentHeaderSize) {
                        if unlink(segment.path) == 0 {
                            Output.out("\(segment.path): repaired: removed (no complete header)")
                        } else {
                            remaining += 1
                            Output.out("\(segment.path): cannot remove: \(String(cString: strerror(errno)))")
                        }
                    } else {
                        let size = (try? LogDirectory.fileSize(segment.path)) ?? cut
                        if truncate(segment.path, off_t(cut)) == 0 {
                            Output.out("\(segment.path):\(cut): repaired: cut \(size - cut) bytes of torn tail")
                        } else {
                            remaining += 1
                            Output.out("\(segment.path):\(cut): cannot truncate: \(String(cString: strerror(errno)))")
                        }
                    }
                } else {
                    remaining += 1
                    if repair && live {
                        Output.out("\(segment.path): not repaired: a writer holds \(source.path)")
                    }
                }
            }
        }
        Output.err("orchlog: verified \(sources.count) source(s), \(frames) frames, \(events) events: " + (remaining == 0 ? "ok" : "\(remaining) problem(s)"))
        return remaining == 0 ? 0 : 1
    }

    struct Problem {
        let offset: Int64
        let reason: String
        /// Fixed by --repair (a torn tail).
        let repairable: Bool
    }

    struct Result {
        var problems: [Problem] = []
        var tornAt: Int64?
        var frames = 0
        var events = 0
    }

    static func check(_ segment: SegmentFile, liveTail: Bool) -> Result {
        var result = Result()
        let reader: SegmentReader
        do {
            reader = try SegmentReader(path: segment.path)
        } catch let e as OrchLogError {
            let size = (try? LogDirectory.fileSize(segment.path)) ?? 0
            if size < Int64(LogFormat.segmentHeaderSize) && !liveTail {
                result.problems.append(Problem(offset: 0, reason: "torn header (\(size) bytes)", repairable: true))
                result.tornAt = 0
            } else if !(liveTail && size < Int64(LogFormat.segmentHeaderSize)) {
                result.problems.append(Problem(offset: 0, reason: e.reason(at: segment.path, offset: 0), repairable: false))
            }
            return result
        } catch {
            result.problems.append(Problem(offset: 0, reason: "\(error)", repairable: false))
            return result
        }
        if reader.header.segmentNumber != segment.number {
            result.problems.append(Problem(offset: 0, reason: "header says segment \(reader.header.segmentNumber), file name says \(segment.number)", repairable: false))
        }
        var offset = SegmentReader.firstFrameOffset
        while true {
            let read: FrameRead
            do { read = try reader.readFrame(at: offset) } catch {
                result.problems.append(Problem(offset: offset, reason: "\(error)", repairable: false))
                return result
            }
            switch read {
            case let .frame(h, at):
                do {
                    try reader.decode(h, offset: at)
                    result.frames += 1
                    result.events += Int(h.eventCount)
                } catch let e as OrchLogError {
                    result.problems.append(Problem(offset: at, reason: "bad block: \(e.reason(at: segment.path, offset: at))", repairable: false))
                } catch {
                    result.problems.append(Problem(offset: at, reason: "\(error)", repairable: false))
                }
                offset = at + Int64(h.frameLength)
            case let .corrupt(at, reason, resumeAt):
                result.problems.append(Problem(offset: at, reason: reason, repairable: false))
                offset = resumeAt
            case .end:
                return result
            case let .incomplete(at, available):
                if !liveTail {
                    result.problems.append(Problem(offset: at, reason: "torn tail: incomplete last frame (\(available) bytes)", repairable: true))
                    result.tornAt = at
                }
                return result
            }
        }
    }
}
