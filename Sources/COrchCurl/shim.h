#ifndef CORCHCURL_SHIM_H
#define CORCHCURL_SHIM_H
#include <stddef.h>
#include <curl/curl.h>

/// curl_easy_setopt and curl_easy_getinfo are variadic; one typed wrapper per argument kind.
static inline CURLcode COrchCurl_setLong(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode COrchCurl_setPointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode COrchCurl_setString(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode COrchCurl_setList(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*COrchCurl_dataCallback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode COrchCurl_setDataCallback(CURL *h, CURLoption o, COrchCurl_dataCallback f) { return curl_easy_setopt(h, o, f); }

static inline CURLcode COrchCurl_getLong(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode COrchCurl_getDouble(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
#endif
