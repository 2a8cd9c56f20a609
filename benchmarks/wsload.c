/*
 * wsload: a small WebSocket echo load generator for forno's benchmarks.
 *
 * Opens N connections to ws://HOST:PORT/PATH, performs the HTTP/1.1 upgrade on each, then, once
 * every connection is open, keeps exactly one message in flight per connection: it sends one
 * pre-built masked frame (text by default, binary with -b) and waits for the echo before sending
 * the next. It counts round trips for DURATION seconds and prints one line of key=value pairs:
 *
 *   connections=64 connected=64 messages=123456 seconds=10.000 msg_per_sec=12345.6
 *   p50_us=512 p99_us=1804 errors=0 cpu_pct=41.2
 *
 * cpu_pct is this process's own user+system CPU time over the timed phase, in percent of one
 * core: well under 100 means the generator is not the bottleneck.
 *
 * Usage: wsload [-b] HOST PORT PATH CONNECTIONS DURATION_S PAYLOAD_BYTES
 * Exit status: 0 when every connection opened and round trips completed without error.
 *
 * Build: gcc -O2 -Wall -Wextra -o build/wsload wsload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_PAYLOAD 65535
#define HIST_US 200000 /* 1 us buckets up to 200 ms; slower round trips go to the last bucket */
#define CONNECT_DEADLINE_S 15.0
#define HANDSHAKE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HANDSHAKE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455, section 1.3 */

enum state { CONNECTING, UPGRADING, OPEN, CLOSED };

struct conn {
    int fd;
    enum state state;
    size_t len;
    double sent_at;
    unsigned char buf[BUF_SIZE];
};

static uint32_t hist[HIST_US + 1];
static long errors;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Builds a client frame (FIN set, masked with a fixed key) into out; returns its length. */
static size_t build_frame(unsigned char *out, int opcode, const unsigned char *payload,
                          size_t n) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t pos = 0;
    out[pos++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        out[pos++] = (unsigned char)(0x80 | n);
    } else {
        out[pos++] = 0x80 | 126;
        out[pos++] = (unsigned char)(n >> 8);
        out[pos++] = (unsigned char)(n & 0xff);
    }
    memcpy(out + pos, key, 4);
    pos += 4;
    for (size_t i = 0; i < n; i++) out[pos + i] = payload[i] ^ key[i % 4];
    return pos + n;
}

static void fail(struct conn *c, int epfd, const char *why) {
    if (c->state != CLOSED) {
        fprintf(stderr, "wsload: connection error: %s\n", why);
        errors++;
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->state = CLOSED;
    }
}

static int send_all(int fd, const unsigned char *data, size_t n) {
    ssize_t sent = send(fd, data, n, MSG_NOSIGNAL);
    return sent == (ssize_t)n ? 0 : -1; /* frames are tiny: a partial send is an error here */
}

static long percentile_us(uint64_t total, double fraction) {
    uint64_t target = (uint64_t)((double)total * fraction);
    uint64_t seen = 0;
    for (long i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > target) return i;
    }
    return HIST_US;
}

int main(int argc, char **argv) {
    int opcode = 1;
    int arg = 1;
    if (argc > 1 && strcmp(argv[1], "-b") == 0) {
        opcode = 2;
        arg++;
    }
    if (argc - arg != 6) {
        fprintf(stderr, "usage: wsload [-b] HOST PORT PATH CONNECTIONS DURATION_S PAYLOAD_BYTES\n");
        return 2;
    }
    const char *host = argv[arg];
    int port = atoi(argv[arg + 1]);
    const char *path = argv[arg + 2];
    int nconn = atoi(argv[arg + 3]);
    double duration = atof(argv[arg + 4]);
    long payload_len = atol(argv[arg + 5]);
    if (port <= 0 || nconn <= 0 || duration <= 0 || payload_len <= 0 ||
        payload_len > MAX_PAYLOAD) {
        fprintf(stderr, "wsload: bad arguments\n");
        return 2;
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "wsload: HOST must be an IPv4 address\n");
        return 2;
    }

    unsigned char *payload = malloc((size_t)payload_len);
    unsigned char *frame = malloc((size_t)payload_len + 8);
    struct conn *conns = calloc((size_t)nconn, sizeof *conns);
    if (!payload || !frame || !conns) {
        fprintf(stderr, "wsload: out of memory\n");
        return 2;
    }
    for (long i = 0; i < payload_len; i++) payload[i] = (unsigned char)('a' + i % 26);
    size_t frame_len = build_frame(frame, opcode, payload, (size_t)payload_len);
    unsigned char close_frame[8];
    const unsigned char close_code[2] = {0x03, 0xe8}; /* 1000, normal closure */
    size_t close_len = build_frame(close_frame, 8, close_code, 2);

    char request[1024];
    int request_len = snprintf(request, sizeof request,
                               "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: " HANDSHAKE_KEY
                               "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                               path, host, port);

    int epfd = epoll_create1(0);
    struct epoll_event *events = calloc((size_t)nconn, sizeof *events);
    if (epfd < 0 || !events) {
        perror("wsload: epoll");
        return 2;
    }
    for (int i = 0; i < nconn; i++) {
        struct conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
            perror("wsload: socket");
            return 2;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->state = CONNECTING;
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
            fail(c, epfd, strerror(errno));
            continue;
        }
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    }

    int connected = 0;
    int timing = 0;
    uint64_t messages = 0;
    double start = now();
    double deadline = start + CONNECT_DEADLINE_S;
    double cpu_start = 0.0;

    for (;;) {
        double t = now();
        if (!timing) {
            int pending = 0;
            for (int i = 0; i < nconn; i++) pending += conns[i].state < OPEN;
            if (pending == 0 || t > deadline) {
                if (pending) {
                    fprintf(stderr, "wsload: %d connections not open by the deadline\n", pending);
                    errors += pending;
                    break;
                }
                if (connected == 0) break;
                timing = 1;
                start = now();
                deadline = start + duration;
                cpu_start = cpu_seconds();
                for (int i = 0; i < nconn; i++) {
                    struct conn *c = &conns[i];
                    if (c->state != OPEN) continue;
                    c->sent_at = now();
                    if (send_all(c->fd, frame, frame_len) < 0) fail(c, epfd, "send failed");
                }
            }
        } else if (t >= deadline) {
            break;
        }
        int n = epoll_wait(epfd, events, nconn, 50);
        if (n < 0 && errno != EINTR) {
            perror("wsload: epoll_wait");
            return 2;
        }
        for (int k = 0; k < n; k++) {
            struct conn *c = events[k].data.ptr;
            if (c->state == CLOSED) continue;
            if (c->state == CONNECTING) {
                int err = 0;
                socklen_t elen = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
                if (err) {
                    fail(c, epfd, strerror(err));
                    continue;
                }
                if (send_all(c->fd, (const unsigned char *)request, (size_t)request_len) < 0) {
                    fail(c, epfd, "handshake send failed");
                    continue;
                }
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                c->state = UPGRADING;
                continue;
            }
            ssize_t got = recv(c->fd, c->buf + c->len, BUF_SIZE - c->len, 0);
            if (got == 0) {
                fail(c, epfd, "closed by the server");
                continue;
            }
            if (got < 0) {
                if (errno != EAGAIN && errno != EINTR) fail(c, epfd, strerror(errno));
                continue;
            }
            c->len += (size_t)got;
            if (c->state == UPGRADING) {
                unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
                if (!end) {
                    if (c->len == BUF_SIZE) fail(c, epfd, "handshake response too large");
                    continue;
                }
                size_t head = (size_t)(end - c->buf) + 4;
                if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0 ||
                    !memmem(c->buf, head, HANDSHAKE_ACCEPT, strlen(HANDSHAKE_ACCEPT))) {
                    fail(c, epfd, "upgrade refused or bad Sec-WebSocket-Accept");
                    continue;
                }
                memmove(c->buf, c->buf + head, c->len - head);
                c->len -= head;
                c->state = OPEN;
                connected++;
            }
            /* Parse every complete server frame in the buffer. */
            size_t pos = 0;
            while (c->state == OPEN && c->len - pos >= 2) {
                unsigned char *f = c->buf + pos;
                int op = f[0] & 0x0f;
                if (f[1] & 0x80) {
                    fail(c, epfd, "masked frame from the server");
                    break;
                }
                uint64_t plen = f[1] & 0x7f;
                size_t hlen = 2;
                if (plen == 126) {
                    if (c->len - pos < 4) break;
                    plen = ((uint64_t)f[2] << 8) | f[3];
                    hlen = 4;
                } else if (plen == 127) {
                    fail(c, epfd, "frame too large");
                    break;
                }
                if (c->len - pos < hlen + plen) {
                    if (hlen + plen > BUF_SIZE) fail(c, epfd, "frame too large");
                    break;
                }
                pos += hlen + (size_t)plen;
                if (op == 8) {
                    fail(c, epfd, "close frame from the server");
                    break;
                }
                if (op == 9) { /* ping: answer with a pong carrying the same payload */
                    unsigned char pong[136];
                    if (plen <= 125) {
                        size_t pl = build_frame(pong, 10, f + hlen, (size_t)plen);
                        if (send_all(c->fd, pong, pl) < 0) fail(c, epfd, "pong send failed");
                    }
                    continue;
                }
                if (op != opcode || plen != (uint64_t)payload_len ||
                    memcmp(f + hlen, payload, (size_t)plen) != 0) {
                    fail(c, epfd, "unexpected echo");
                    break;
                }
                if (!timing) {
                    fail(c, epfd, "message before the timed phase");
                    break;
                }
                double t2 = now();
                long us = (long)((t2 - c->sent_at) * 1e6);
                hist[us < HIST_US ? us : HIST_US]++;
                messages++;
                c->sent_at = t2;
                if (send_all(c->fd, frame, frame_len) < 0) fail(c, epfd, "send failed");
            }
            if (c->state == OPEN && pos > 0) {
                memmove(c->buf, c->buf + pos, c->len - pos);
                c->len -= pos;
            }
        }
    }

    double elapsed = timing ? now() - start : 0.0;
    double cpu = timing ? cpu_seconds() - cpu_start : 0.0;
    for (int i = 0; i < nconn; i++) {
        struct conn *c = &conns[i];
        if (c->state == CLOSED) continue;
        if (c->state == OPEN) (void)send_all(c->fd, close_frame, close_len);
        close(c->fd);
    }
    printf("connections=%d connected=%d messages=%llu seconds=%.3f msg_per_sec=%.1f "
           "p50_us=%ld p99_us=%ld errors=%ld cpu_pct=%.1f\n",
           nconn, connected, (unsigned long long)messages, elapsed,
           elapsed > 0 ? (double)messages / elapsed : 0.0, percentile_us(messages, 0.50),
           percentile_us(messages, 0.99), errors, elapsed > 0 ? 100.0 * cpu / elapsed : 0.0);
    return (errors == 0 && connected == nconn && messages > 0) ? 0 : 1;
}
