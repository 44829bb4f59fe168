// IntakeNet: one server TLS configuration (an OpenSSL SSL_CTX) built from a PEM certificate
// chain and its private key. Immutable once built; shared by every loop (OpenSSL makes SSL_new
// on a shared SSL_CTX thread-safe). A certificate reload builds a new TLSContext and swaps it
// in `TLSServer`; each connection's SSL holds its own reference on the SSL_CTX it started with.
//
// Settings (docs/PROTOCOL.md "TLS", docs/SECURITY.md): TLS 1.2 and 1.3 only; for 1.2 ECDHE key
// exchange with AEAD ciphers only (1.3 suites are all AEAD with ephemeral keys); security
// level 2 (RSA ≥ 2048 bits, no SHA-1 signatures); no compression; no renegotiation; session
// tickets on (their keys are per context: after a reload old tickets fall back to a full
// handshake).
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// Why a certificate and key could not be used. The caller adds the file names.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No usable certificate in the certificate file.
    case certificate(String)
    /// No usable private key in the key file.
    case privateKey(String)
    /// The key is not the certificate's.
    case mismatch
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// OpenSSL refused a setting (a broken installation).
    case settings(String)

    public var description: String {
        switch self {
        case .certificate(let why): "no usable PEM certificate: \(why)"
        case .privateKey(let why): "no usable PEM private key (encrypted keys are not supported): \(why)"
        case .mismatch: "the private key does not match the certificate"
        case .unreadable(let path, let why): "cannot read \(path): \(why)"
        case .settings(let why): "OpenSSL refused a TLS setting: \(why)"
        }
    }
}

/// What an operator wants to see about the certificate in use (logs, metrics).
public struct TLSCertificateInfo: Sendable, Equatable {
    /// The subject, in OpenSSL's one-line form (`/CN=intake.example.org`).
    public var subject: String
    /// The serial number in upper-case hexadecimal.
    public var serial: String
    /// The end of validity, in seconds since the Unix epoch.
    public var notAfterEpochSeconds: Int64
}

/// A server SSL_CTX with Intake's settings, a certificate chain and its key.
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is configured in init and never changed afterwards; OpenSSL
    // documents SSL_new on a shared, unchanging SSL_CTX as safe from any thread.
    let ctx: OpaquePointer
    /// The leaf certificate's subject, serial and expiry.
    public let certificate: TLSCertificateInfo

    /// TLS 1.2 suites: ECDHE key exchange, AEAD only (Mozilla "intermediate" without DHE).
    /// TLS 1.3 suites are OpenSSL's defaults (AES-GCM and ChaCha20-Poly1305, all AEAD).
    public static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    // SSL_OP_* are `SSL_OP_BIT(n)` function-like macros, which Swift does not import; the bit
    // numbers are from OpenSSL 3's ssl.h and have not changed since they were introduced.
    static let opNoCompression: UInt64 = 1 << 17
    static let opNoRenegotiation: UInt64 = 1 << 30
    /// An EOF without close_notify reads as a clean EOF (SSL_ERROR_ZERO_RETURN) instead of an
    /// error: browsers often close so, and HTTP and WebSocket frame their own messages, so a
    /// truncation cannot pass for a complete message.
    static let opIgnoreUnexpectedEOF: UInt64 = 1 << 7
    /// OpenSSL's read-ahead buffer per connection while it reads (released when empty): the
    /// size of the loop's shared read buffer, so one read(2) can bring what one wake-up handles.
    static let readAheadBytes = 64 * 1024

    /// Builds a context from a PEM certificate chain (leaf first) and a PEM private key.
    public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw .settings(Self.lastError()) }
        do throws(TLSError) {
            try Self.configure(ctx)
            let leaf = try Self.useCertificateChain(ctx, certificatePEM)
            defer { X509_free(leaf) }
            try Self.usePrivateKey(ctx, privateKeyPEM)
            guard SSL_CTX_check_private_key(ctx) == 1 else { ERR_clear_error(); throw TLSError.mismatch }
            certificate = Self.info(leaf)
        } catch {
            SSL_CTX_free(ctx)
            ERR_clear_error()
            throw error
        }
        self.ctx = ctx
    }

    /// Reads both files and builds a context (used for reloads; start-up goes through the
    /// configuration loader, which reads the files itself).
    public convenience init(certificateFile: String, privateKeyFile: String) throws(TLSError) {
        let cert = try Self.readFile(certificateFile)
        let key = try Self.readFile(privateKeyFile)
        try self.init(certificatePEM: cert, privateKeyPEM: key)
    }

    deinit { SSL_CTX_free(ctx) }

    // MARK: - Building

    private static func configure(_ ctx: OpaquePointer) throws(TLSError) {
        guard SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1 else {
            throw .settings("minimum version TLS 1.2: \(lastError())")
        }
        _ = SSL_CTX_set_options(ctx, opNoCompression | opNoRenegotiation | opIgnoreUnexpectedEOF)
        SSL_CTX_set_security_level(ctx, 2)
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1 else { throw .settings("cipher list: \(lastError())") }
        // Partial writes: SSL_write returns after each record, so the outbound buffer's start
        // moves as records leave. Moving buffer: a retried SSL_write may pass the same pending
        // bytes at another address (the outbound buffer is compacted or grown meanwhile).
        // Release buffers: an idle connection holds no 16 KiB read or write record buffer.
        let mode = Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, mode, nil)
        // Read-ahead: one read(2) takes whatever the socket holds (up to readAheadBytes),
        // not a record header and then its body; Connection+TLS reads what was read ahead
        // before it waits for epoll again (SSL_has_pending).
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        SSL_CTX_set_default_read_buffer_len(ctx, readAheadBytes)
    }

    /// Installs the leaf and any chain certificates after it; returns the leaf (+1 reference).
    private static func useCertificateChain(_ ctx: OpaquePointer, _ pem: [UInt8]) throws(TLSError) -> OpaquePointer {
        try withMemoryBIO(pem) { bio throws(TLSError) -> OpaquePointer in
            guard let leaf = PEM_read_bio_X509_AUX(bio, nil, noPassword, nil) else { throw .certificate(lastError()) }
            guard SSL_CTX_use_certificate(ctx, leaf) == 1 else {
                let why = lastError()
                X509_free(leaf)
                throw .certificate(why)
            }
            while let extra = PEM_read_bio_X509(bio, nil, noPassword, nil) {
                // SSL_CTX_add_extra_chain_cert is a macro over this ctrl; it takes ownership.
                guard SSL_CTX_ctrl(ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0, UnsafeMutableRawPointer(extra)) == 1 else {
                    let why = lastError()
                    X509_free(extra); X509_free(leaf)
                    throw .certificate("chain certificate: \(why)")
                }
            }
            ERR_clear_error()  // the loop ends on "no start line": expected, not an error
            return leaf
        }
    }

    private static func usePrivateKey(_ ctx: OpaquePointer, _ pem: [UInt8]) throws(TLSError) {
        try withMemoryBIO(pem) { bio throws(TLSError) in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, noPassword, nil) else { throw .privateKey(lastError()) }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(ctx, key) == 1 else {
                // OpenSSL checks the pair here too when the certificate is already set.
                let why = lastError()
                throw why.contains("values mismatch") ? .mismatch : .privateKey(why)
            }
        }
    }

    private static func withMemoryBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(TLSError) -> R) throws(TLSError) -> R {
        let result: Result<R, TLSError> = bytes.withUnsafeBytes { p in
            guard let bio = BIO_new_mem_buf(p.baseAddress, Int32(clamping: p.count)) else { return .failure(.settings(lastError())) }
            defer { BIO_free(bio) }
            do throws(TLSError) { return .success(try body(bio)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A password callback that supplies none. Without it OpenSSL would prompt on the
    /// terminal for an encrypted key, which would hang a daemon.
    private static let noPassword: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in 0 }

    private static func info(_ x509: OpaquePointer) -> TLSCertificateInfo {
        var subject = ""
        if let name = X509_get_subject_name(x509), let line = X509_NAME_oneline(name, nil, 0) {
            subject = String(cString: line)
            CRYPTO_free(line, nil, 0)
        }
        var serial = ""
        if let asn = X509_get_serialNumber(x509), let bn = ASN1_INTEGER_to_BN(asn, nil) {
            if let hex = BN_bn2hex(bn) {
                serial = String(cString: hex)
                CRYPTO_free(hex, nil, 0)
            }
            BN_free(bn)
        }
        var notAfter: Int64 = 0
        if let t = X509_get0_notAfter(x509) {
            var parts = tm()
            if ASN1_TIME_to_tm(t, &parts) == 1 { notAfter = Int64(timegm(&parts)) }
        }
        return TLSCertificateInfo(subject: subject, serial: serial, notAfterEpochSeconds: notAfter)
    }

    // MARK: - Helpers

    /// The oldest queued OpenSSL error as text, and the queue cleared.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A file's bytes, or why it cannot be read (with the system's reason).
    static func readFile(_ path: String) throws(TLSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let (n, err) = chunk.withUnsafeMutableBytes { p in retryingEINTR { read(fd, p.baseAddress, p.count) } }
            if n < 0 { throw .unreadable(path: path, reason: String(cString: strerror(err))) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            // A PEM certificate chain and key are a few KiB; refuse to slurp a wrong path.
            if out.count > 1 << 20 { throw .unreadable(path: path, reason: "larger than 1 MiB, not a PEM file") }
        }
    }
}
