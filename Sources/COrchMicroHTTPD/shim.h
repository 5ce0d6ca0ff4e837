#ifndef CORCHMICROHTTPD_SHIM_H
#define CORCHMICROHTTPD_SHIM_H
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/// MHD_start_daemon is variadic; Swift cannot call it. This passes every option
/// through one MHD_OPTION_ARRAY (terminated by an MHD_OPTION_END item) and uses
/// no accept-policy callback.
static inline struct MHD_Daemon *COrchMicroHTTPD_startDaemon(unsigned int flags, uint16_t port,
                                                             MHD_AccessHandlerCallback handler,
                                                             void *handlerContext,
                                                             struct MHD_OptionItem *options) {
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handlerContext,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// An MHD_OPTION_ARRAY item for an option taking one integer argument.
static inline struct MHD_OptionItem COrchMicroHTTPD_intOption(enum MHD_OPTION option, intptr_t value) {
    struct MHD_OptionItem item = { option, value, NULL };
    return item;
}

/// An MHD_OPTION_ARRAY item for an option taking one pointer argument.
static inline struct MHD_OptionItem COrchMicroHTTPD_pointerOption(enum MHD_OPTION option, void *pointer) {
    struct MHD_OptionItem item = { option, 0, pointer };
    return item;
}

/// The MHD_OPTION_EXTERNAL_LOGGER item (function pointer in `value`, context in `ptr_value`).
static inline struct MHD_OptionItem COrchMicroHTTPD_loggerOption(MHD_LogCallback logger, void *context) {
    struct MHD_OptionItem item = { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)logger, context };
    return item;
}

/// The terminating MHD_OPTION_END item.
static inline struct MHD_OptionItem COrchMicroHTTPD_endOption(void) {
    struct MHD_OptionItem item = { MHD_OPTION_END, 0, NULL };
    return item;
}

/// MHD_get_daemon_info is variadic: the port the daemon is bound to, 0 if unknown.
static inline uint16_t COrchMicroHTTPD_boundPort(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// The MHD_OPTION_NOTIFY_CONNECTION item (function pointer in `value`, context in `ptr_value`).
static inline struct MHD_OptionItem COrchMicroHTTPD_notifyConnectionOption(MHD_NotifyConnectionCallback callback,
                                                                           void *context) {
    struct MHD_OptionItem item = { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)callback, context };
    return item;
}

/// MHD_get_connection_info is variadic: the connection's gnutls_session_t, NULL without TLS.
static inline void *COrchMicroHTTPD_tlsSession(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info == NULL ? NULL : info->tls_session;
}

/// MHD_get_connection_info is variadic: the socket context set when the connection started.
static inline void *COrchMicroHTTPD_socketContext(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}
#endif
