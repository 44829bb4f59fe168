// IntakeNet: TLS on an accepted connection, inside its event loop (no thread per connection).
// Loop thread of the connection only, like the rest of Connection.
//
// Design
// - One OpenSSL `SSL` per connection, attached to the non-blocking socket with SSL_set_fd.
//   The socket BIO rather than a pair of memory BIOs, because:
//   * writes: SSL_write encrypts straight from the coalesced outbound buffer into the kernel,
//     one record per call (SSL_MODE_ENABLE_PARTIAL_WRITE), with the buffer allowed to move
//     between a blocked write and its retry (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: the buffer
//     is compacted and grows meanwhile). A memory BIO would copy every byte once more and add a
//     second, ciphertext buffer per connection with its own bound.
//   * reads: with read-ahead, one read(2) brings up to 64 KiB of records into OpenSSL's
//     buffer (released when empty, so idle connections hold none); a memory BIO would do the
//     same with one more copy.
// - No data may wait unread without an event. Raw bytes still in the socket are announced by
//   the level-triggered EPOLLIN. Bytes OpenSSL has read ahead are not: so a read goes on while
//   SSL_has_pending says OpenSSL holds some, and stops either when it holds none (the rest, if
//   any, is in the socket), at WANT_READ (a partial record inside, completed by the next
//   EPOLLIN), or when the loop's 64 KiB read buffer cannot take another whole record (16 KiB of
//   plaintext): then the connection is queued for the loop's next iteration
//   (`EventLoop.markNeedsRead`), which does not block in epoll_wait meanwhile. A reader that
//   was paused (back-pressure, an answer in flight) and resumes with bytes read ahead is queued
//   the same way.
// - The handshake runs on readiness: WANT_READ waits for EPOLLIN, WANT_WRITE for EPOLLOUT.
//   Until it completes the handler sees no bytes and what it writes waits in the buffer. It
//   must complete within the header timeout (`Connection.tick`), or the connection is closed.
//   Application data that came with the client's Finished is read at once.
// - Afterwards EPOLLIN → SSL_read into the loop's shared read buffer (up to 64 KiB per
//   wake-up, as on the plaintext path); EPOLLOUT → SSL_write. The rare crossings (SSL_read
//   needing the socket writable, e.g. to answer a TLS 1.3 KeyUpdate while the send buffer is
//   full; SSL_write needing it readable, only with renegotiation, which is off) are
//   remembered and retried on the other event.
// - Closing: a graceful close sends close_notify once the buffer is drained, then shuts the
//   write side and lingers like plaintext (the peer's last bytes, its close_notify included,
//   are read raw and dropped). An abort frees the SSL and sends nothing.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import COpenSSL

/// One connection's TLS state. Loop thread of its connection only.
final class TLSSession {
    let ssl: OpaquePointer
    /// When the connection was adopted (monotonic nanoseconds), for the handshake deadline.
    let startedNanos: UInt64
    let handshakeTimeoutNanos: UInt64
    var handshakeDone = false
    /// SSL_read asked for the socket to be writable; read again on EPOLLOUT.
    var readWantsWrite = false
    /// SSL_write asked for the socket to be readable; write again on EPOLLIN.
    var writeWantsRead = false

    /// Nil when OpenSSL cannot make a session (out of memory).
    init?(context: TLSContext, fd: Int32, handshakeTimeoutNanos: UInt64) {
        guard let ssl = SSL_new(context.ctx) else { ERR_clear_error(); return nil }
        guard SSL_set_fd(ssl, fd) == 1 else { SSL_free(ssl); ERR_clear_error(); return nil }
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        startedNanos = cil_monotonic_nanos()
        self.handshakeTimeoutNanos = handshakeTimeoutNanos
    }

    deinit { SSL_free(ssl) }

    /// Sends close_notify, best effort: it is one small record written right after the
    /// outbound buffer drained, so the socket has room for it; if not, the peer sees a plain
    /// EOF, which HTTP and WebSocket frame around anyway.
    func sendCloseNotify() {
        guard handshakeDone else { return }
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Whether the peer sent anything: a load balancer's TCP check that connects and closes
    /// is not a failed handshake.
    var peerSentBytes: Bool { SSL_get_rbio(ssl).map { BIO_number_read($0) > 0 } ?? false }
}

extension Connection {
    /// The most plaintext one TLS record carries (2^14 bytes, RFC 8446 §5.1, RFC 5246 §6.2.1).
    static let tlsMaxRecordPlaintext = 16 * 1024

    func handleTLSEvents(_ events: UInt32, _ tls: TLSSession) {
        guard tls.handshakeDone else { continueHandshake(tls); return }
        if events & CIL_EPOLLOUT != 0 {
            if tls.readWantsWrite {
                tls.readWantsWrite = false
                if state == .open, !readPaused, !appPaused { readTLS(tls) }
            }
            flush()
            // Writable, nothing to write and no read waiting for it: stop the wake-ups.
            if state != .closed, interest & CIL_EPOLLOUT != 0, outStart == out.count, !tls.readWantsWrite {
                setInterest(interest & ~CIL_EPOLLOUT)
            }
        }
        if events & CIL_EPOLLIN != 0 {
            if tls.writeWantsRead {
                tls.writeWantsRead = false
                flush()
            }
            // While closing, the peer's bytes are read raw and dropped, as for plaintext.
            if state == .open { readTLS(tls) } else { readOnce() }
        } else if events & (CIL_EPOLLERR | CIL_EPOLLHUP) != 0 {
            abort(reason: .peerClosed)
        }
    }

    private func continueHandshake(_ tls: TLSSession) {
        let r = SSL_do_handshake(tls.ssl)
        if r == 1 {
            tls.handshakeDone = true
            let pending = outStart < out.count
            var wanted: UInt32 = readPaused || appPaused ? 0 : CIL_EPOLLIN
            if pending { wanted |= CIL_EPOLLOUT; loop.markNeedsFlush(self) }
            setInterest(wanted)
            // The client's first request often follows its Finished in the same segment.
            if wanted & CIL_EPOLLIN != 0 { readTLS(tls) }
            return
        }
        let e = SSL_get_error(tls.ssl, r)
        switch e {
        case SSL_ERROR_WANT_READ:
            setInterest(CIL_EPOLLIN)
        case SSL_ERROR_WANT_WRITE:
            setInterest(CIL_EPOLLOUT)
        case SSL_ERROR_SSL:
            TLSFailureLog.note(.protocol, detail: TLSContext.lastError(), fd: fd)
            abort(reason: .protocolError)
        default:  // EOF or a socket error
            let reason = tlsCloseReason(e, call: "SSL_do_handshake")
            if tls.peerSentBytes { TLSFailureLog.note(.closed, detail: "\(reason)", fd: fd) }
            abort(reason: reason)
        }
    }

    /// Decrypts what the socket holds, up to the loop's read buffer, and hands it over.
    func readTLS(_ tls: TLSSession) {
        let buf = loop.readBuffer
        var filled = 0
        var ended: CloseReason?
        var bufferFull = false
        while true {
            let n = SSL_read(tls.ssl, buf.baseAddress! + filled, Int32(buf.count - filled))
            if n > 0 {
                filled += Int(n)
                // Go on only while OpenSSL holds bytes it read ahead: the socket itself is
                // level-triggered, so what is left there brings the next EPOLLIN (and
                // asking it now would cost a read(2) that mostly answers EAGAIN).
                if SSL_has_pending(tls.ssl) == 0 { break }
                if buf.count - filled < Self.tlsMaxRecordPlaintext { bufferFull = true; break }
                continue
            }
            let e = SSL_get_error(tls.ssl, n)
            if e == SSL_ERROR_WANT_READ { break }  // a partial record may wait inside: the rest comes with EPOLLIN
            if e == SSL_ERROR_WANT_WRITE {
                tls.readWantsWrite = true
                setInterest(interest | CIL_EPOLLOUT)
                break
            }
            ended = tlsCloseReason(e, call: "SSL_read")
            break
        }
        if filled > 0 {
            lastReadNanos = cil_monotonic_nanos()
            // A local strong reference, as in readOnce: the handler may replace itself.
            if let h = handler { h.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buf[0..<filled])) }
            if flushQueued { flush() }
        }
        if let ended { abort(reason: ended); return }
        // Stopped with bytes read ahead that no epoll event will announce: next iteration.
        if bufferFull, state == .open { loop.markNeedsRead(self) }
    }

    /// Reading resumed after a pause: bytes OpenSSL read ahead get no epoll event. (If they
    /// are only part of a record, the one extra SSL_read answers WANT_READ and is not repeated.)
    func tlsReadingResumed(_ tls: TLSSession) {
        if tls.handshakeDone, state == .open, SSL_has_pending(tls.ssl) != 0 { loop.markNeedsRead(self) }
    }

    /// The loop's second chance for plaintext left inside OpenSSL (see the design note).
    func readAgain() {
        guard state == .open, !readPaused, !appPaused, let tls, tls.handshakeDone else { return }
        readTLS(tls)
    }

    /// Encrypts and writes as much of the outbound buffer as the kernel takes now.
    func flushTLS(_ tls: TLSSession) {
        guard tls.handshakeDone else { return }  // flushed when the handshake completes
        while outStart < out.count {
            let n = out.withUnsafeBytes { p in
                SSL_write(tls.ssl, p.baseAddress! + outStart, Int32(clamping: p.count - outStart))
            }
            if n > 0 { outStart += Int(n); continue }
            let e = SSL_get_error(tls.ssl, n)
            if e == SSL_ERROR_WANT_WRITE { break }
            if e == SSL_ERROR_WANT_READ { tls.writeWantsRead = true; break }
            abort(reason: tlsCloseReason(e, call: "SSL_write"))
            return
        }
        didSend()
        guard state != .closed else { return }
        if tls.readWantsWrite { setInterest(interest | CIL_EPOLLOUT) }
        // Waiting for readability only: EPOLLOUT would fire at once and again.
        if tls.writeWantsRead { setInterest((interest & ~CIL_EPOLLOUT) | CIL_EPOLLIN) }
    }

    /// What an SSL error other than WANT_READ/WANT_WRITE means for the connection.
    private func tlsCloseReason(_ e: Int32, call: String) -> CloseReason {
        let err = errno
        defer { ERR_clear_error() }  // the error queue is per thread: leave it clean for the next connection
        switch e {
        case SSL_ERROR_ZERO_RETURN:
            return .peerClosed
        case SSL_ERROR_SYSCALL:
            return err == 0 || err == ECONNRESET || err == EPIPE ? .peerClosed : .error(IOError(call, errno: err))
        default:
            return .protocolError
        }
    }
}
