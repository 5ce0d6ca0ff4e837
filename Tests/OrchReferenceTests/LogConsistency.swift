import OrchLog
@testable import OrchReference
import Testing

/// Checks that every count in the summary that stands for events equals what the log holds,
/// and that the orchestrator's ground truth on lost updates and stale reads equals what the
/// versions in the log show.
func expectLogMatches(_ s: RunSummary, _ a: LogAudit, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.problems.isEmpty, "\(a.problems)", sourceLocation: sourceLocation)
    #expect(a.dropped == 0, sourceLocation: sourceLocation)
    #expect(a.sequenceIsContiguous, sourceLocation: sourceLocation)
    #expect(UInt64(a.events) == s.events, sourceLocation: sourceLocation)

    #expect(a.count(InvocationOutcome.success) == s.invocations.success, sourceLocation: sourceLocation)
    #expect(a.count(InvocationOutcome.failure) == s.invocations.failure, sourceLocation: sourceLocation)
    #expect(a.count(InvocationOutcome.rejected) == s.invocations.rejected, sourceLocation: sourceLocation)
    #expect(a.count(InvocationOutcome.timeout) == s.invocations.timeout, sourceLocation: sourceLocation)
    #expect(a.count(.invocationFinished) == s.invocations.total, sourceLocation: sourceLocation)
    #expect(a.started == s.invocations.total - s.invocations.rejected + s.invocations.runningAtEnd, sourceLocation: sourceLocation)

    #expect(a.reads == s.state.reads, sourceLocation: sourceLocation)
    #expect(a.readsFromCache == s.state.readsFromCache, sourceLocation: sourceLocation)
    #expect(a.count(.stateWrite) == s.state.writes, sourceLocation: sourceLocation)
    #expect(a.count(WriteOutcome.committed) == s.state.committed, sourceLocation: sourceLocation)
    #expect(a.count(WriteOutcome.conflict) == s.state.conflicts, sourceLocation: sourceLocation)
    #expect(a.count(WriteOutcome.timeout) == s.state.timeouts, sourceLocation: sourceLocation)
    #expect(a.count(WriteOutcome.error) == s.state.errors, sourceLocation: sourceLocation)
    #expect(a.lostUpdates == s.state.lostUpdates, "lost updates: log \(a.lostUpdates), ground truth \(s.state.lostUpdates)", sourceLocation: sourceLocation)
    #expect(a.staleReads == s.state.staleReads, "stale reads: log \(a.staleReads), ground truth \(s.state.staleReads)", sourceLocation: sourceLocation)

    #expect(a.count(.memoryFlush) == s.memory.flushes, sourceLocation: sourceLocation)
    #expect(a.count(FlushOutcome.timeout) == s.memory.flushTimeouts, sourceLocation: sourceLocation)
    #expect(a.count(FlushOutcome.error) == s.memory.flushErrors, sourceLocation: sourceLocation)

    #expect(a.count(.toolCall) == s.tools.calls, sourceLocation: sourceLocation)
    #expect(a.count(ToolOutcome.timeout) == s.tools.timeouts, sourceLocation: sourceLocation)
    #expect(a.count(ToolOutcome.error) == s.tools.errors, sourceLocation: sourceLocation)
    #expect(a.count(ToolOutcome.shortCircuited) == s.tools.shortCircuited, sourceLocation: sourceLocation)
    #expect(a.fallbacks == s.tools.fallbacks, sourceLocation: sourceLocation)
    #expect(a.transitions.count == s.tools.breakerTransitions, sourceLocation: sourceLocation)
    #expect(a.transitions.filter { $0.to == .open }.count == s.tools.breakerOpens, sourceLocation: sourceLocation)

    #expect(a.count(.llmRequest) == s.llm.requests, sourceLocation: sourceLocation)
    #expect(a.count(LLMOutcome.rateLimited) == s.llm.rateLimited, sourceLocation: sourceLocation)
    #expect(a.count(LLMOutcome.error) == s.llm.errors, sourceLocation: sourceLocation)
    #expect(a.count(LLMOutcome.timeout) == s.llm.timeouts, sourceLocation: sourceLocation)
    #expect(a.tokensInput == UInt64(s.llm.tokensInput), sourceLocation: sourceLocation)
    #expect(a.tokensOutput == UInt64(s.llm.tokensOutput), sourceLocation: sourceLocation)
    #expect(a.keyRotations == s.llm.keyRotations, sourceLocation: sourceLocation)
    #expect(a.rejections.count == s.queue.rejections, sourceLocation: sourceLocation)

    // Samples never show more than the run's true maxima.
    #expect(a.queueSamples.allSatisfy { $0.a <= UInt64(s.queue.maxDepth) }, sourceLocation: sourceLocation)
    #expect(a.limiterSamples.allSatisfy { $0.a <= UInt64(s.llm.maxInflight) }, sourceLocation: sourceLocation)
    #expect(a.poolSamples.allSatisfy { $0.a <= UInt64(s.pool.maxBusy) && $0.b == UInt64(s.pool.size) }, sourceLocation: sourceLocation)
}
