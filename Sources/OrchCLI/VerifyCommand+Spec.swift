import OrchFlags

extension VerifyCommand {
    /// `orchlog verify`'s flags and help (a new flag: one `Flag(…)` line).
    static let spec = CommandSpec(
        "orchlog verify", summary: "check every frame; --repair cuts torn tails",
        synopsis: """
        Usage: orchlog verify [--repair] PATH

        Checks every segment of a log: headers, frame CRCs, lengths and block encoding. Prints
        one line per problem as SEGMENT:OFFSET: reason. PATH is a source directory or a root of
        sources.
        """,
        flags: [
            Flag("--repair", """
                truncate a torn tail (a partial last frame left by a crash, or zero bytes from the last \
                complete frame to the end of the file) at the last complete frame and report what was cut; \
                remove a segment too short to hold a header
                """),
            .help,
        ],
        epilogue: """
        A torn tail (a partial last frame left by a crash, or zero bytes from the last complete
        frame to the end of the file: space the filesystem allocated but the crash left unwritten)
        is a problem until --repair truncates the segment at the last complete frame and reports
        what it cut. A segment too short to hold a header is removed by --repair. Corruption in
        the middle of a segment is reported, never deleted. The newest segment of a source whose
        writer is still running (its lock is held) may end in a frame being written: that is not
        a problem, and --repair leaves such a source alone.

        Exit status: 0 the log is clean (after repair), 1 problems remain, 2 usage.
        """)
}
