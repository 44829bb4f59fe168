// CIntakeLinux: thin wrappers over epoll, eventfd and timerfd. No state.
#define _GNU_SOURCE
#include "CIntakeLinux.h"
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>

int cil_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cil_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    int cop = op == 0 ? EPOLL_CTL_ADD : (op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    return epoll_ctl(epfd, cop, fd, &ev);
}

int cil_epoll_wait(int epfd, cil_event *out, int maxEvents, int timeoutMs) {
    struct epoll_event evs[256];
    if (maxEvents > 256) maxEvents = 256;
    int n = epoll_wait(epfd, evs, maxEvents, timeoutMs);
    for (int i = 0; i < n; i++) {
        out[i].data = evs[i].data.u64;
        out[i].events = evs[i].events;
    }
    return n;
}

int cil_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cil_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

int cil_eventfd_drain(int fd) {
    uint64_t v;
    return read(fd, &v, sizeof v) == sizeof v ? 0 : -1;
}

int cil_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int cil_timerfd_arm_abs(int fd, uint64_t deadlineNanos) {
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(deadlineNanos / 1000000000ull);
    its.it_value.tv_nsec = (long)(deadlineNanos % 1000000000ull);
    if (deadlineNanos == 0) { its.it_value.tv_sec = 0; its.it_value.tv_nsec = 0; }
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

int cil_timerfd_drain(int fd) {
    uint64_t v;
    return read(fd, &v, sizeof v) == sizeof v ? 0 : -1;
}

uint64_t cil_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cil_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int cil_accept_peer(int fd, uint8_t peer[16]) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    memset(peer, 0, 16);
    if (c < 0) return c;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        peer[10] = 0xff;
        peer[11] = 0xff;
        memcpy(peer + 12, &a->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        memcpy(peer, &((const struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    }
    return c;
}

int cil_socket_tcp(int family) { return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

int cil_set_int_option(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

int cil_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

long cil_send(int fd, const void *buf, unsigned long len) { return send(fd, buf, len, MSG_NOSIGNAL); }

long cil_writev(int fd, const struct iovec *iov, int count) { return writev(fd, iov, count); }
