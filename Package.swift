// swift-tools-version:6.0
import PackageDescription

// No target here uses unsafe build flags: SwiftPM refuses a package depended on by version whose
// library targets carry them. The emit, ingest and render paths keep state in classes whose
// dynamic exclusivity checks cost ~16% of ingest (callgrind); the hot stored properties are
// marked `@exclusivity(unchecked)` in the source instead (BENCHMARKS.md, run K).

/// The commit being built (`-dirty` with uncommitted changes), for --version; "unknown"
/// outside a git checkout.
let buildRevision: String = {
    guard let git = Context.gitInformation else { return "unknown" }
    return git.currentCommit + (git.hasUncommittedChanges ? "-dirty" : "")
}()

let package = Package(
    name: "orchlog",
    // Linux only: the library and tools import Glibc and link Debian's C libraries. (No
    // `platforms:` entry can say "Linux only"; an Apple platform is not claimed.)
    products: [
        .library(name: "OrchLog", targets: ["OrchLog"]),
        .executable(name: "orchlog", targets: ["orchlog"]),
        .executable(name: "orchlog-collector", targets: ["orchlog-collector"]),
        .executable(name: "reference-orchestrator", targets: ["reference-orchestrator"]),
        .executable(name: "reference-backends", targets: ["reference-backends"]),
        .executable(name: "orchlog-bench", targets: ["orchlog-bench"]),
    ],
    targets: [
        // C libraries from Debian.
        .systemLibrary(name: "COrchZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COrchDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // Header-only C: CPU hints (prefetch) Swift cannot spell.
        .systemLibrary(name: "COrchSys"),
        .systemLibrary(name: "COrchMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // The GnuTLS that libmicrohttpd serves HTTPS with: client certificates, cipher checks.
        .systemLibrary(name: "COrchGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),
        .systemLibrary(name: "COrchYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COrchCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        // Clients of the live reference orchestrator (Redis, PostgreSQL, HTTP).
        .systemLibrary(name: "COrchHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "COrchPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COrchCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Header-only: glibc's posix_spawn_file_actions_addclosefrom_np (a _GNU_SOURCE declaration).
        .systemLibrary(name: "COrchSpawn"),

        // The revision and build date the executables report (--version, build_info): a C
        // define (a safe setting) carrying the commit SwiftPM read from the checkout.
        .target(name: "COrchBuildInfo", cSettings: [.define("ORCHLOG_REVISION", to: "\"\(buildRevision)\"")]),
        .target(name: "OrchVersion", dependencies: ["COrchBuildInfo"]),
        // Every command's flag spec: parsing, --help and the README's flag tables.
        .target(name: "OrchFlags"),

        // Layers: OrchLog → OrchMetrics → OrchCollector; OrchReference → OrchLog.
        .target(name: "OrchLog", dependencies: ["COrchDeflate", "COrchSys"]),
        .target(name: "OrchMetrics"),
        .target(name: "OrchYAML", dependencies: ["COrchYAML"]),
        .target(name: "OrchPricing", dependencies: ["OrchYAML"]),
        .target(name: "OrchCollector", dependencies: ["OrchLog", "OrchMetrics", "OrchVersion", "OrchFlags", "OrchYAML", "OrchPricing", "COrchZlib", "COrchDeflate", "COrchMicroHTTPD", "COrchGnuTLS", "COrchCrypt"]),
        .target(name: "OrchReference", dependencies: ["OrchLog", "OrchVersion", "OrchFlags", "OrchPricing"]),
        // The reference orchestrator's live mode: real Redis / PostgreSQL stores and HTTP.
        .target(name: "OrchLive", dependencies: ["OrchReference", "OrchLog", "COrchHiredis", "COrchPQ", "COrchCurl", "COrchSpawn"]),
        // The live mode's LLM provider and tools over real HTTP (libmicrohttpd).
        .target(name: "OrchBackends", dependencies: ["OrchReference", "OrchFlags", "OrchVersion", "COrchMicroHTTPD"]),
        .target(name: "OrchCLI", dependencies: ["OrchLog", "OrchCollector", "OrchVersion", "OrchFlags", "OrchYAML"]),

        // Thin executables.
        .executableTarget(name: "orchlog", dependencies: ["OrchCLI"]),
        .executableTarget(name: "orchlog-collector", dependencies: ["OrchCollector"]),
        .executableTarget(name: "reference-orchestrator", dependencies: ["OrchReference", "OrchLive"]),
        .executableTarget(name: "reference-backends", dependencies: ["OrchBackends"]),
        .executableTarget(name: "orchlog-bench", dependencies: ["OrchLog", "OrchMetrics", "OrchCollector", "OrchReference", "OrchCLI", "COrchZlib", "COrchDeflate"]),
        // The instrumenting guide's code, compiled so the guide cannot rot.
        .executableTarget(name: "orchlog-example", dependencies: ["OrchLog"], path: "Examples"),

        // Tests (Swift Testing).
        .target(name: "OrchTestSupport", dependencies: ["OrchLog", "COrchZlib"], path: "Tests/OrchTestSupport"),
        .testTarget(name: "OrchLogTests", dependencies: ["OrchLog", "OrchTestSupport", "COrchZlib"]),
        .testTarget(name: "OrchMetricsTests", dependencies: ["OrchMetrics"]),
        .testTarget(name: "OrchCollectorTests", dependencies: ["OrchCollector", "OrchLog", "OrchMetrics", "OrchPricing", "OrchTestSupport"]),
        .testTarget(name: "OrchReferenceTests", dependencies: ["OrchReference", "OrchLog", "OrchTestSupport"]),
        .testTarget(name: "OrchCLITests", dependencies: ["OrchCLI", "OrchCollector", "OrchLog", "OrchFlags", "OrchReference", "OrchBackends"]),
        .testTarget(name: "OrchLiveTests", dependencies: ["OrchLive", "OrchLog", "OrchTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["OrchLog", "OrchTestSupport"]),
    ]
)

// Fuzzing (`make fuzz`): libFuzzer targets exist only when ORCHLOG_FUZZ is set, so the normal
// build is unaffected. Each exports LLVMFuzzerTestOneInput; libFuzzer provides main.
if Context.environment["ORCHLOG_FUZZ"] != nil {
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("fuzz-block-decoder", ["OrchLog"]),
        ("fuzz-segment-reader", ["OrchLog", "COrchZlib"]),
        ("fuzz-web-config", ["OrchCollector"]),
        ("fuzz-accept", ["OrchCollector"]),
        ("fuzz-ndjson", ["OrchCLI", "OrchLog"]),
    ]
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: dependencies, path: "fuzz/targets/\(name)"))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
