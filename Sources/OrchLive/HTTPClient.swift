import COrchCurl
import Foundation
import Synchronization

/// How an HTTP request ended.
enum HTTPResult: Sendable {
    /// An answer: status, headers (names lowercased), body.
    case response(status: Int, headers: [String: String], body: [UInt8])
    /// No answer within the connect or total timeout.
    case timeout
    /// Could not connect, or the connection broke.
    case failed(String)
}

/// A blocking HTTP client on libcurl's easy interface, with real connect and total
/// timeouts; safe from many threads (each call takes an easy handle of its own from a pool,
/// so connections are kept alive between calls). Run it on a thread that may block (the
/// live orchestrator's `ThreadPoolExecutor`).
final class HTTPClient: Sendable {
    private struct Handle: @unchecked Sendable {  // an easy handle is used by one caller at a time: taken from and given back to `idle` under its mutex
        let curl: UnsafeMutableRawPointer
    }

    private let idle = Locked<[Handle]>([])
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    init() {
        _ = Self.globalInit
    }

    deinit {
        for h in idle.withLock({ $0 }) { curl_easy_cleanup(h.curl) }
    }

    /// POSTs `body` to `url` with `headers` ("Name: value").
    func post(_ url: String, headers: [String] = [], body: [UInt8], connectTimeoutMs: Int, timeoutMs: Int) -> HTTPResult {
        postTimed(url, headers: headers, body: body, connectTimeoutMs: connectTimeoutMs, timeoutMs: timeoutMs).result
    }

    /// `post`, and when the first byte of the response body arrived (ns after the request
    /// was started; nil: no body): a streamed response's time to first chunk.
    func postTimed(_ url: String, headers: [String] = [], body: [UInt8], connectTimeoutMs: Int, timeoutMs: Int) -> (result: HTTPResult, firstByteNs: UInt64?) {
        guard let handle = idle.withLock({ $0.popLast() }) ?? curl_easy_init().map({ Handle(curl: $0) }) else {
            return (.failed("curl_easy_init failed"), nil)
        }
        let h = handle.curl
        curl_easy_reset(h)
        let buffer = ResponseBuffer()
        let context = Unmanaged.passRetained(buffer)
        defer { context.release() }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Content-Type: application/json", "Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        _ = COrchCurl_setString(h, CURLOPT_URL, url)
        _ = COrchCurl_setLong(h, CURLOPT_NOSIGNAL, 1)
        _ = COrchCurl_setLong(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, connectTimeoutMs))
        _ = COrchCurl_setLong(h, CURLOPT_TIMEOUT_MS, max(1, timeoutMs))
        _ = COrchCurl_setLong(h, CURLOPT_POST, 1)
        _ = COrchCurl_setList(h, CURLOPT_HTTPHEADER, list)
        _ = COrchCurl_setDataCallback(h, CURLOPT_WRITEFUNCTION, orchLiveCurlWrite)
        _ = COrchCurl_setPointer(h, CURLOPT_WRITEDATA, context.toOpaque())
        _ = COrchCurl_setDataCallback(h, CURLOPT_HEADERFUNCTION, orchLiveCurlHeader)
        _ = COrchCurl_setPointer(h, CURLOPT_HEADERDATA, context.toOpaque())
        let rc: CURLcode = body.withUnsafeBytes { raw in
            _ = COrchCurl_setLong(h, CURLOPT_POSTFIELDSIZE, raw.count)
            _ = COrchCurl_setPointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            buffer.startedAt = monotonicNs()
            return curl_easy_perform(h)
        }
        let firstByte = buffer.firstByteAt.map { $0 &- buffer.startedAt }
        var status = 0
        _ = COrchCurl_getLong(h, CURLINFO_RESPONSE_CODE, &status)
        idle.withLock { $0.append(handle) }
        switch rc {
        case CURLE_OK:
            return (.response(status: status, headers: buffer.headers, body: buffer.body), firstByte)
        case CURLE_OPERATION_TIMEDOUT:
            return (.timeout, firstByte)
        default:
            return (.failed("\(url): \(String(cString: curl_easy_strerror(rc)))"), firstByte)
        }
    }
}

/// What libcurl's callbacks collect for one request.
final class ResponseBuffer {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    /// Monotonic ns: the request's start, and the first body bytes' arrival.
    var startedAt: UInt64 = 0
    var firstByteAt: UInt64?
}

/// CLOCK_MONOTONIC in ns.
func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

// MARK: - C callbacks (free functions: libcurl calls them on the calling thread)

private func orchLiveCurlWrite(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let n = size * count
    let buffer = Unmanaged<ResponseBuffer>.fromOpaque(context).takeUnretainedValue()
    if buffer.firstByteAt == nil, n > 0 { buffer.firstByteAt = monotonicNs() }
    data.withMemoryRebound(to: UInt8.self, capacity: n) { buffer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
    return n
}

private func orchLiveCurlHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let n = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
        let line = UnsafeBufferPointer(start: p, count: n)
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        // ASCII bytes: the name lowercased, the value without surrounding blanks and CRLF.
        let name = String(decoding: line[..<colon].map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a }
        var lo = colon + 1, hi = n
        while lo < hi, blank(line[lo]) { lo += 1 }
        while hi > lo, blank(line[hi - 1]) { hi -= 1 }
        Unmanaged<ResponseBuffer>.fromOpaque(context).takeUnretainedValue().headers[name] = String(decoding: line[lo..<hi], as: UTF8.self)
    }
    return n
}
