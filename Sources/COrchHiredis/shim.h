#ifndef CORCHHIREDIS_SHIM_H
#define CORCHHIREDIS_SHIM_H
#include <stddef.h>
#include <sys/time.h>
#include <hiredis.h>

/// redisCommand is variadic; callers use redisCommandArgv / redisAppendCommandArgv.
/// This sets one timeout (milliseconds) for connect, reads and writes of a context.
static inline int COrchHiredis_setTimeoutMs(redisContext *c, long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return redisSetTimeout(c, tv);
}

/// redisConnectWithTimeout with the timeout in milliseconds.
static inline redisContext *COrchHiredis_connect(const char *host, int port, long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return redisConnectWithTimeout(host, port, tv);
}

/// The next reply of a pipelined context (NULL on I/O error, see c->err).
static inline redisReply *COrchHiredis_getReply(redisContext *c) {
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK) return NULL;
    return (redisReply *)reply;
}
#endif
