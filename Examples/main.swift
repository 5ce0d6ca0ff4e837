// orchlog-example: the instrumenting guide's code (docs/instrumenting.md), run end to end
// against simulated backends. Usage: orchlog-example [ROOT]  (default /tmp/orchlog-example)
// Writes ROOT/example-orchestrator and ROOT/overload-demo; `orchlog tail ROOT` shows them.
import Glibc
import OrchLog

struct Request: Sendable {
    let id: UInt64
    let agent: Int
    let account: Int
}

let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/orchlog-example"
let log: EventLog
do {
    log = try openEventLog(root: root, processName: "example-orchestrator")
} catch {
    print("orchlog-example: \(error)")
    exit(1)
}

let queue = RequestQueue<Request>(log: log, name: "requests", capacity: 8)
let pool = WorkerPool(log: log, name: "agents", size: 4)
let shard = StateShard(log: log, name: "shard-0")
let crm = CircuitBreaker(log: log, tool: "crm", threshold: 3, cooldownNs: 1_000_000_000)
// A simulated provider: key-1 is saturated (HTTP 429), key-2 answers.
let llm = LLMClient(log: log, provider: "openai", model: "gpt-4o", keyAliases: ["key-1", "key-2"],
                    concurrencyLimit: 4) { key, prompt in
    key == 0 ? .rateLimited : .completion(text: "answer to " + prompt, inputTokens: UInt64(prompt.utf8.count) * 4, outputTokens: 120)
}
let agents = ["support", "billing"].map(log.label)
let sampler = Sampler(every: 1, [queue.sample, pool.sample, llm.sample])

// Ten requests against a queue of eight: two are turned away.
var rejected = 0
for id in 1...10 where !queue.offer(Request(id: UInt64(id), agent: id % 2, account: id % 3)) { rejected += 1 }
queue.sample()

var outcomes: [InvocationOutcome] = []
func handle(_ request: Request, waitedNs: UInt64, toolFails: Bool) -> InvocationOutcome {
    pool.withWorker {
        runInvocation(log: log, id: request.id, agent: agents[request.agent], queue: queue.name, waitedNs: waitedNs) {
            let account = "account:\(request.account)"
            _ = shard.read(account)
            // One retry: a 429 rotates the key.
            guard let answer = llm.complete("request \(request.id)") ?? llm.complete("request \(request.id)") else {
                throw InvocationError.failed("no LLM answer")
            }
            let customer = callTool(log: log, breaker: crm, {
                if toolFails { throw ToolError.timedOut }
                return "customer \(request.account)"
            }, fallback: { "customer (cached)" })
            guard shard.update(account, { _ in answer + " for " + customer }) else { throw InvocationError.failed("state") }
            if request.id == 8 { throw InvocationError.timedOut }
        }
    }
}

while let (request, waited) = queue.take() {
    // The CRM times out for requests 3...5: the breaker opens, 6...8 are short-circuited.
    outcomes.append(handle(request, waitedNs: waited, toolFails: (3...5).contains(request.id)))
}

// Two invocations racing on one key: the second write conflicts and retries.
let first = shard.read("account:0")
let second = shard.read("account:0")
_ = shard.write("account:0", value: "first", base: first.version, attempt: 1)
if !shard.write("account:0", value: "second", base: second.version, attempt: 1) {
    _ = shard.write("account:0", value: "second", base: shard.read("account:0").version, attempt: 2)
}
shard.flush { _, _ in }

// After the cool-down a trial call closes the breaker again.
usleep(1_100_000)
outcomes.append(handle(Request(id: 11, agent: 0, account: 1), waitedNs: 0, toolFails: false))

queue.sample()
pool.sample()
llm.sample()
print("example-orchestrator: \(outcomes.count) invocations, \(rejected) rejected, \(eventLogHealth(log))")
shutDown(log: log, sampler: sampler)
print("example-orchestrator: closed: \(eventLogHealth(log))")

print("test-double: breaker test \(breakerOpensAfterThreeFailures() ? "passed" : "FAILED")")
do {
    print("reader: tool timeouts \(try toolTimeouts(root: root))")
} catch {
    print("orchlog-example: \(error)")
    exit(1)
}

do {
    let stats = try demonstrateOverload(root: root)
    print("overload-demo: emitted 100000 events, dropped \(stats.dropped) (buffer_full=\(stats.droppedBufferFull))")
} catch {
    print("orchlog-example: \(error)")
    exit(1)
}
