#include "orchlog_build_info.h"

#ifndef ORCHLOG_REVISION
#define ORCHLOG_REVISION "unknown"
#endif

const char *orchlog_build_revision(void) { return ORCHLOG_REVISION; }
const char *orchlog_build_date(void) { return __DATE__; }
const char *orchlog_build_time(void) { return __TIME__; }
