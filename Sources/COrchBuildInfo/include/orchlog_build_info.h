#ifndef ORCHLOG_BUILD_INFO_H
#define ORCHLOG_BUILD_INFO_H

/// The git commit the executables were built from (Package.swift passes it; "unknown" outside
/// a git checkout), and the compile date and time of this file (the C preprocessor's).
const char *orchlog_build_revision(void);
const char *orchlog_build_date(void);
const char *orchlog_build_time(void);

#endif
