#ifndef CORCHGNUTLS_SHIM_H
#define CORCHGNUTLS_SHIM_H
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/// The key purpose OID a client certificate must allow (or have no purpose list):
/// TLS WWW client authentication, as Go's x509.ExtKeyUsageClientAuth.
static inline const char *COrchGnuTLS_clientAuthPurpose(void) { return GNUTLS_KP_TLS_WWW_CLIENT; }

/// gnutls_certificate_verify_peers with one typed-data entry: the key purpose `purposeOID`.
static inline int COrchGnuTLS_verifyPeersForPurpose(gnutls_session_t session, const char *purposeOID,
                                                    unsigned int *status) {
    gnutls_typed_vdata_st data;
    data.type = GNUTLS_DT_KEY_PURPOSE_OID;
    data.data = (unsigned char *)purposeOID;
    data.size = 0;
    return gnutls_certificate_verify_peers(session, &data, 1, status);
}
/// gnutls_free is a global function pointer (shared mutable state to Swift): this calls it.
static inline void COrchGnuTLS_free(void *p) { gnutls_free(p); }
#endif
