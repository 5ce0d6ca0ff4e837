import COrchYAML

/// A YAML node tree loaded with libyaml's document loader, copied into Swift values.
///
/// Loading is bounded: aliases can make a tiny file describe a huge or cyclic graph
/// ("billion laughs", `&a [*a]`), so the copy stops with an error past `maxDepth`
/// levels or `maxNodes` visited nodes.
public struct YAMLNode: Sendable {
    /// What a node holds.
    public enum Kind: Sendable {
        /// A scalar's text; `plain` when it was unquoted (only plain scalars can be
        /// null or booleans).
        case scalar(String, plain: Bool)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    /// The node's content.
    public var kind: Kind
    /// 1-based line where the node starts.
    public var line: Int

    /// True for a plain `~`, `null` or empty scalar, which YAML reads as null.
    public var isNull: Bool {
        if case .scalar(let s, plain: true) = kind {
            return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL"
        }
        return false
    }

    /// A short name for the node's kind, for error messages.
    public var kindName: String {
        switch kind {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a sequence"
        }
    }

    public static let maxDepth = 32
    public static let maxNodes = 10_000
    public static let maxInputBytes = 1 << 20

    /// Parses `bytes` as a single YAML document. Returns nil for an empty stream.
    /// Throws `YAMLError` `.config` naming `name` and the line for syntax errors, more than one
    /// document, or a document past the size limits.
    public static func load(_ bytes: [UInt8], name: String) throws -> YAMLNode? {
        guard bytes.count <= maxInputBytes else {
            throw YAMLError(.config, "\(name): file is larger than \(maxInputBytes) bytes")
        }
        // libyaml keeps pointers into the parser and document structs: heap storage.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let document = UnsafeMutablePointer<yaml_document_t>.allocate(capacity: 1)
        defer {
            parser.deallocate()
            document.deallocate()
        }
        guard yaml_parser_initialize(parser) == 1 else {
            throw YAMLError(.library, "\(name): libyaml could not initialize a parser")
        }
        defer { yaml_parser_delete(parser) }

        return try bytes.withUnsafeBufferPointer { buf -> YAMLNode? in
            // An empty array may have no storage; an empty stream has no document.
            guard let base = buf.baseAddress, buf.count > 0 else { return nil }
            yaml_parser_set_input_string(parser, base, buf.count)

            guard yaml_parser_load(parser, document) == 1 else { throw parserError(parser, name: name) }
            var root: YAMLNode? = nil
            do {
                defer { yaml_document_delete(document) }
                if let r = yaml_document_get_root_node(document) {
                    var budget = maxNodes
                    root = try copy(r, document: document, depth: 0, budget: &budget, name: name)
                }
            }
            guard root != nil else { return nil }
            // A second document would be silently ignored by a one-document reader.
            guard yaml_parser_load(parser, document) == 1 else { throw parserError(parser, name: name) }
            let hasSecond = yaml_document_get_root_node(document) != nil
            let secondLine = Int(document.pointee.start_mark.line) + 1
            yaml_document_delete(document)
            if hasSecond {
                throw YAMLError(.config, "\(name): line \(secondLine): more than one YAML document")
            }
            return root
        }
    }

    private static func parserError(_ parser: UnsafeMutablePointer<yaml_parser_t>, name: String) -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        var msg = "\(name): line \(p.problem_mark.line + 1) column \(p.problem_mark.column + 1): invalid YAML: \(problem)"
        if let ctx = p.context {
            msg += " (\(String(cString: ctx)) at line \(p.context_mark.line + 1))"
        }
        return YAMLError(.config, msg)
    }

    private static func copy(_ node: UnsafeMutablePointer<yaml_node_t>, document: UnsafeMutablePointer<yaml_document_t>,
                             depth: Int, budget: inout Int, name: String) throws -> YAMLNode {
        let line = Int(node.pointee.start_mark.line) + 1
        budget -= 1
        guard budget >= 0 else {
            throw YAMLError(.config, "\(name): line \(line): document has more than \(maxNodes) nodes (alias expansion?)")
        }
        guard depth < maxDepth else {
            throw YAMLError(.config, "\(name): line \(line): nesting deeper than \(maxDepth) levels (recursive alias?)")
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let s = node.pointee.data.scalar
            let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            return YAMLNode(kind: .scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE), line: line)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var p = node.pointee.data.sequence.items.start
            let top = node.pointee.data.sequence.items.top
            while let cur = p, cur != top {
                guard let child = yaml_document_get_node(document, cur.pointee) else {
                    throw YAMLError(.config, "\(name): line \(line): dangling YAML node")
                }
                items.append(try copy(child, document: document, depth: depth + 1, budget: &budget, name: name))
                p = cur + 1
            }
            return YAMLNode(kind: .sequence(items), line: line)
        case YAML_MAPPING_NODE:
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var p = node.pointee.data.mapping.pairs.start
            let top = node.pointee.data.mapping.pairs.top
            while let cur = p, cur != top {
                guard let k = yaml_document_get_node(document, cur.pointee.key),
                      let v = yaml_document_get_node(document, cur.pointee.value)
                else {
                    throw YAMLError(.config, "\(name): line \(line): dangling YAML node")
                }
                let key = try copy(k, document: document, depth: depth + 1, budget: &budget, name: name)
                let value = try copy(v, document: document, depth: depth + 1, budget: &budget, name: name)
                pairs.append((key, value))
                p = cur + 1
            }
            return YAMLNode(kind: .mapping(pairs), line: line)
        default:
            throw YAMLError(.config, "\(name): line \(line): empty YAML node")
        }
    }
}

/// What `YAMLNode.load` throws: a code and a message naming the file (as the caller named
/// it), the line and the column at fault.
public struct YAMLError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        /// The document is not valid YAML, or is past the size limits.
        case config
        /// libyaml failed in a way that is not the document's fault.
        case library
    }

    public let code: Code
    /// "name: line 3 column 5: invalid YAML: …" and the like.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
