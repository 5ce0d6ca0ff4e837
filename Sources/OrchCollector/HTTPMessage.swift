/// HTTP header fields in order, with case-insensitive lookup.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields as received or added, names with their original case.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates headers from name/value pairs, keeping their order.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// Creates headers from a literal such as `["Content-Type": "text/plain"]`, in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of the field `name` (compared case-insensitively), or nil.
    public subscript(_ name: String) -> String? {
        fields.first { Self.sameName($0.name, name) }?.value
    }

    /// Every value of the field `name` (compared case-insensitively), in order.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// Appends a field (keeping existing fields of the same name).
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Replaces every field named `name` with one field holding `value`.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { Self.sameName($0.name, name) }
        fields.append((name, value))
    }

    /// Iterates over the fields in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// Same fields, same order, names compared exactly.
    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// ASCII case-insensitive comparison, as HTTP field names require.
    static func sameName(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (c, d) in zip(x, y) where c != d {
            let lc = (c >= 65 && c <= 90) ? c + 32 : c
            let ld = (d >= 65 && d <= 90) ? d + 32 : d
            if lc != ld { return false }
        }
        return true
    }
}

/// A request as the `HTTPServer` hands it to its handler (headers only: the server
/// serves GET and HEAD, and answers other methods itself).
public struct HTTPRequest: Sendable {
    /// "GET" or "HEAD". For HEAD the server sends the response's headers without its body.
    public var method: String
    /// The path, percent-decoded, without the query string ("/metrics").
    public var path: String
    /// The request's header fields.
    public var headers: HTTPHeaders

    /// Creates a request.
    public init(method: String, path: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.path = path
        self.headers = headers
    }
}

/// A response: status, header fields, body bytes. `Content-Length` is added by the server.
public struct HTTPResponse: Sendable {
    /// The status code (200, 404…).
    public var status: Int
    /// Header fields to send (`Content-Type` should be among them).
    public var headers: HTTPHeaders
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// The gzip level of compressed responses: 1, not zlib's default 6. On an exposition it
    /// costs a third of level 6 for ~20% more bytes (measured in RELIABILITY.md, "Bugs found"),
    /// and Prometheus asks for gzip on every scrape.
    public static let gzipLevel: Int32 = 1

    /// This response with its body gzip-compressed (at `gzipLevel`) and `Content-Encoding:
    /// gzip` set, when `request`'s `Accept-Encoding` allows gzip, the body has at least
    /// `minimumSize` bytes and is not already encoded. Always adds
    /// `Vary: Accept-Encoding` when it could have compressed. Returns the response
    /// unchanged if zlib fails.
    public func compressed(for request: HTTPRequest, minimumSize: Int = 256) -> HTTPResponse {
        guard headers["Content-Encoding"] == nil else { return self }
        var r = self
        r.headers.set("Vary", "Accept-Encoding")
        guard body.count >= minimumSize,
              ContentNegotiation.acceptsGzip(acceptEncoding: request.headers["Accept-Encoding"]),
              let gz = try? Gzip.compress(body, level: Self.gzipLevel)
        else { return r }
        r.body = gz
        r.headers.set("Content-Encoding", "gzip")
        return r
    }
}
