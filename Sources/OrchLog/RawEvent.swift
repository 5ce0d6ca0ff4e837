/// The fixed-size, allocation-free form of an event, as it sits in the writer's buffer and as
/// the block decoder produces it. Label slots hold string ids: writer label ids on the emit
/// side, indices into the block's string table on the read side.
package struct RawEvent: Sendable, Equatable {
    /// Label slots per event (the widest schema, `llm_request`, uses 4).
    package static let labelSlots = 4
    /// Number slots per event (the widest schema, `llm_request`, uses 13).
    package static let numberSlots = 13

    package var type: EventType
    /// Per-source sequence number, assigned by the writer as it takes events out of the emit
    /// buffers; until then (in an `EmitStripe` slot) it holds the event's stamp, the monotonic
    /// clock read inside `emit` that orders it (`StripeRegistry`).
    package var seq: UInt64
    /// Nanoseconds since the Unix epoch.
    package var timestamp: UInt64
    package var l0: UInt32 = 0, l1: UInt32 = 0, l2: UInt32 = 0, l3: UInt32 = 0
    package var n0: UInt64 = 0, n1: UInt64 = 0, n2: UInt64 = 0, n3: UInt64 = 0
    package var n4: UInt64 = 0, n5: UInt64 = 0, n6: UInt64 = 0, n7: UInt64 = 0
    package var n8: UInt64 = 0, n9: UInt64 = 0, n10: UInt64 = 0, n11: UInt64 = 0, n12: UInt64 = 0

    @inlinable
    package init(type: EventType, seq: UInt64 = 0, timestamp: UInt64 = 0) {
        self.type = type
        self.seq = seq
        self.timestamp = timestamp
    }

    /// Label slot `i` (0..<labelSlots).
    @inlinable
    package func label(_ i: Int) -> UInt32 {
        switch i {
        case 0: return l0
        case 1: return l1
        case 2: return l2
        default: return l3
        }
    }

    @inlinable
    package mutating func setLabel(_ i: Int, _ v: UInt32) {
        switch i {
        case 0: l0 = v
        case 1: l1 = v
        case 2: l2 = v
        default: l3 = v
        }
    }

    /// Number slot `i` (0..<numberSlots).
    @inlinable
    package func number(_ i: Int) -> UInt64 {
        switch i {
        case 0: return n0
        case 1: return n1
        case 2: return n2
        case 3: return n3
        case 4: return n4
        case 5: return n5
        case 6: return n6
        case 7: return n7
        case 8: return n8
        case 9: return n9
        case 10: return n10
        case 11: return n11
        default: return n12
        }
    }

    @inlinable
    package mutating func setNumber(_ i: Int, _ v: UInt64) {
        switch i {
        case 0: n0 = v
        case 1: n1 = v
        case 2: n2 = v
        case 3: n3 = v
        case 4: n4 = v
        case 5: n5 = v
        case 6: n6 = v
        case 7: n7 = v
        case 8: n8 = v
        case 9: n9 = v
        case 10: n10 = v
        case 11: n11 = v
        default: n12 = v
        }
    }
}
