import Testing
@testable import OrchCollector

/// `KeyTable` (the state tracker's open-addressing map) against `Dictionary`.
@Suite struct KeyTableTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func randomSetsRemovesAndLookupsMatchADictionary(seed: UInt64) {
        var rng = HTTPTestRNG(seed: seed)
        var table = KeyTable<UInt64>()
        var model: [UInt64: UInt64] = [:]
        // Few distinct keys, many of them sharing a home slot (multiples of a large power of
        // two hash alike in their high bits), plus 0, which marks empty slots.
        let keys: [UInt64] = [0, UInt64.max] + (1...300).map { $0 << 40 } + (1...300).map { _ in rng.next() }
        for step in 0..<60_000 {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            switch rng.next() % 3 {
            case 0:
                table.set(key, UInt64(step))
                model[key] = UInt64(step)
            case 1:
                #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key), "step \(step)")
            default:
                #expect(table[key] == model[key], "step \(step)")
                #expect(table.contains(key) == (model[key] != nil), "step \(step)")
            }
            #expect(table.count == model.count)
        }
        for key in keys { #expect(table[key] == model[key]) }
        #expect(Dictionary(uniqueKeysWithValues: table.entries()) == model)
    }

    @Test func aTableSizedUpFrontHoldsThatManyAndGrowsPastIt() {
        var table = KeyTable<Int>(minimumCapacity: 1_000)
        for i in 0..<5_000 { table.set(UInt64(i) &* 0x9E37_79B9_7F4A_7C15, i) }
        #expect(table.count == 5_000)
        for i in 0..<5_000 { #expect(table[UInt64(i) &* 0x9E37_79B9_7F4A_7C15] == i) }
    }
}
