// CIntakeLinux: the few Linux system calls that Glibc does not export to Swift (epoll, eventfd,
// timerfd), small helpers whose C macros Swift cannot see, and hardware CRC32C
// (cil_crc32c.h). Stateless; any thread.
#ifndef C_INTAKE_LINUX_H
#define C_INTAKE_LINUX_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "cil_crc32c.h"

/// epoll event bits, as plain constants (Swift cannot import the enum-with-macros of sys/epoll.h).
static const uint32_t CIL_EPOLLIN = EPOLLIN;
static const uint32_t CIL_EPOLLOUT = EPOLLOUT;
static const uint32_t CIL_EPOLLERR = EPOLLERR;
static const uint32_t CIL_EPOLLHUP = EPOLLHUP;
static const uint32_t CIL_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t CIL_EPOLLET = EPOLLET;

/// One ready event: the user data and the event bits (epoll_event is packed on x86_64,
/// so we copy it out in C instead of reading it through Swift's layout).
typedef struct {
    uint64_t data;
    uint32_t events;
} cil_event;

int cil_epoll_create(void);
/// op: 0 add, 1 modify, 2 delete.
int cil_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits and copies up to maxEvents ready events into out. timeoutMs -1 blocks.
int cil_epoll_wait(int epfd, cil_event *out, int maxEvents, int timeoutMs);

int cil_eventfd(void);
int cil_eventfd_signal(int fd);
int cil_eventfd_drain(int fd);

int cil_timerfd_create(void);
/// Arms a one-shot timer at an absolute CLOCK_MONOTONIC time in nanoseconds (0 disarms).
int cil_timerfd_arm_abs(int fd, uint64_t deadlineNanos);
int cil_timerfd_drain(int fd);

uint64_t cil_monotonic_nanos(void);

/// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC.
int cil_accept(int fd);
/// As cil_accept, and writes the peer's address to `peer` as 16 bytes in IPv6 form (an IPv4
/// peer as the IPv4-mapped ::ffff:a.b.c.d); all zeros when the family is neither.
int cil_accept_peer(int fd, uint8_t peer[16]);
int cil_socket_tcp(int family);
/// Sets SO_REUSEADDR, TCP_NODELAY and friends; returns 0 or -1.
int cil_set_int_option(int fd, int level, int name, int value);
int cil_set_nonblocking(int fd);
/// send() with MSG_NOSIGNAL.
long cil_send(int fd, const void *buf, unsigned long len);
long cil_writev(int fd, const struct iovec *iov, int count);

#endif
