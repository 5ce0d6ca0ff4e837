import OrchReference

/// The live orchestrator's lock for state many threads share: a pthread mutex whose waiters
/// sleep at once (`BlockingLock`), in a class, so that several can sit in an array.
typealias Locked = BlockingLock
