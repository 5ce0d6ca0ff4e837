import Testing
@testable import OrchCollector

/// `PairKeyTable` (the invocation tracker's and LLM spend's open-addressing map over raw
/// storage) against `Dictionary`, with values that hold references (so a value copied, moved or
/// released twice, or never, shows up as a wrong value or a leak count that does not return).
@Suite struct PairKeyTableTests {
    /// Live boxes of one test run (each argument runs in parallel with its own).
    final class Counter { var live = 0 }
    final class Box {
        let counter: Counter
        init(_ counter: Counter) { self.counter = counter; counter.live += 1 }
        deinit { counter.live -= 1 }
    }

    struct Pair: Hashable { let hi, lo: UInt64 }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomSetsUpdatesRemovesAndLookupsMatchADictionary(seed: UInt64) {
        var rng = HTTPTestRNG(seed: seed)
        var model: [Pair: UInt64] = [:]
        let counter = Counter()
        do {
            let table = PairKeyTable<(Box, UInt64)>()
            // Pairs that differ in one word only, pairs of zeros, and random ones: long probe runs
            // through the backward shift of `remove` and several `grow`s.
            let keys: [Pair] = [Pair(hi: 0, lo: 0), Pair(hi: .max, lo: .max)] + (1...200).map { Pair(hi: 7, lo: $0) }
                + (1...200).map { Pair(hi: $0, lo: 7) } + (1...300).map { _ in Pair(hi: rng.next(), lo: rng.next()) }
            for step in 0..<40_000 {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                switch rng.next() % 4 {
                case 0:
                    table.set(key.hi, key.lo, (Box(counter), UInt64(step)))
                    model[key] = UInt64(step)
                case 1:
                    let removed = table.remove(key.hi, key.lo)
                    #expect(removed?.1 == model.removeValue(forKey: key), "step \(step)")
                case 2:
                    let updated = table.update(key.hi, key.lo) { $0.1 &+= 1 }
                    #expect(updated == (model[key] != nil), "step \(step)")
                    if updated { model[key]! &+= 1 }
                default:
                    #expect(table.get(key.hi, key.lo)?.1 == model[key], "step \(step)")
                    #expect(table.contains(key.hi, key.lo) == (model[key] != nil), "step \(step)")
                }
                #expect(table.count == model.count)
            }
            for key in keys { #expect(table.get(key.hi, key.lo)?.1 == model[key]) }
            let entries = table.entries()
            #expect(Dictionary(uniqueKeysWithValues: entries.map { (Pair(hi: $0.0, lo: $0.1), $0.2.1) }) == model)
            #expect(counter.live == model.count + 0, "one box per stored value (entries() holds copies, not new boxes)")
        }
        // The table is gone: every value it held was released exactly once.
        #expect(counter.live == 0)
    }
}
