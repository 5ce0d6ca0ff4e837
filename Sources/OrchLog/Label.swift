/// A handle to a label value (an agent, tool, model, shard, key name) interned once by
/// `EventLog.label(_:)`. Emitting with handles keeps `emit` free of allocation.
public struct Label: Sendable, Hashable {
    /// The writer-wide id of the string.
    public let id: UInt32

    @inlinable
    public init(id: UInt32) { self.id = id }

    /// No value: written as the empty string.
    public static let none = Label(id: UInt32.max)
}
