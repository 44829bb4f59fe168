// COpenSSL: the system OpenSSL (libssl-dev), seen by Swift. Only IntakeCrypto and the TLS glue
// in IntakeNet (TLSContext, Connection+TLS) import it.
#ifndef C_OPENSSL_SHIM_H
#define C_OPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif
