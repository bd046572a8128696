// The floor for the socket-transports benchmark: the least work any user-space forwarder can do
// between a tap and a socket netdev's wire format. One thread, one poll loop, plain frames (no
// virtio-net header), QEMU's framing (4-byte big-endian length on streams, one frame per
// datagram), no copies beyond the kernel's. Not a product: no reconnect, no options, exits on
// any error. It tells how much of a figure is the kernel's share on the machine at hand.
//
// usage: floor-forwarder TAP unix-server PATH | unix-client PATH | tcp-server PORT | tcp-client PORT
//                            | udp LOCALPORT REMOTEPORT        (addresses are 127.0.0.1)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FRAME 65535
#define READ_SPACE (1 << 20)

static int tap_fd, sock_fd, is_stream;
static unsigned char frame[MAX_FRAME];
static unsigned char in[READ_SPACE];
static size_t in_start, in_end;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

// A frame (with its header) the socket took only part of: the rest goes first, and the tap is
// not read until it is gone (back-pressure, as QEMU stops reading a tap whose peer is full).
// Never blocking on a write keeps the two directions from waiting on each other.
static unsigned char pending[4 + MAX_FRAME];
static size_t pending_start, pending_end;

// Pushes the held remainder out; 1 when nothing is left.
static int flush_pending(void)
{
    while (pending_start < pending_end) {
        ssize_t n = write(sock_fd, pending + pending_start, pending_end - pending_start);
        if (n < 0) {
            if (errno == EAGAIN) return 0;
            if (errno == EINTR) continue;
            die("write socket");
        }
        pending_start += (size_t)n;
    }
    pending_start = pending_end = 0;
    return 1;
}

// Tap to socket: one frame per read, header and frame in one writev (one datagram on UDP).
static void tap_to_socket(void)
{
    while (flush_pending()) {
        ssize_t n = read(tap_fd, frame, sizeof frame);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; // EAGAIN, or EIO while the interface moves between namespaces
        }
        if (!is_stream) {
            // A full datagram socket drops, as a full network would.
            while (send(sock_fd, frame, (size_t)n, 0) < 0 && errno == EINTR) {}
            continue;
        }
        uint32_t header = htonl((uint32_t)n);
        struct iovec iov[2] = { { &header, 4 }, { frame, (size_t)n } };
        ssize_t w;
        while ((w = writev(sock_fd, iov, 2)) < 0 && errno == EINTR) {}
        if (w < 0) {
            if (errno != EAGAIN) die("writev");
            w = 0;
        }
        if ((size_t)w < 4 + (size_t)n) {
            memcpy(pending, &header, 4);
            memcpy(pending + 4, frame, (size_t)n);
            pending_start = (size_t)w;
            pending_end = 4 + (size_t)n;
        }
    }
}

// A tap write does not block (the kernel queues or drops); EIO while the interface is down.
static void write_tap(const unsigned char *data, size_t length)
{
    while (write(tap_fd, data, length) < 0 && errno == EINTR) {}
}

// Socket to tap: streams are read in large chunks and cut into frames in place.
static void socket_to_tap(void)
{
    for (;;) {
        if (!is_stream) {
            ssize_t n = recv(sock_fd, frame, sizeof frame, 0);
            if (n < 0) {
                if (errno == EAGAIN) return;
                if (errno == EINTR || errno == ECONNREFUSED) continue;
                die("recv");
            }
            write_tap(frame, (size_t)n);
            continue;
        }
        if (READ_SPACE - in_end < 4 + MAX_FRAME) {
            memmove(in, in + in_start, in_end - in_start);
            in_end -= in_start;
            in_start = 0;
        }
        ssize_t n = read(sock_fd, in + in_end, READ_SPACE - in_end);
        if (n == 0) exit(0);
        if (n < 0) {
            if (errno == EAGAIN) return;
            if (errno == EINTR) continue;
            die("read socket");
        }
        in_end += (size_t)n;
        while (in_end - in_start >= 4) {
            uint32_t length;
            memcpy(&length, in + in_start, 4);
            length = ntohl(length);
            if (length > MAX_FRAME) { fprintf(stderr, "oversized frame\n"); exit(1); }
            if (in_end - in_start < 4 + length) break;
            write_tap(in + in_start + 4, length);
            in_start += 4 + length;
        }
        if (in_start == in_end) in_start = in_end = 0;
    }
}

static int open_tap(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open /dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
    return fd;
}

static int open_socket(int argc, char **argv)
{
    const char *mode = argv[2];
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    struct sockaddr_in inet = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd, server = strstr(mode, "-server") != NULL, one = 1;
    struct sockaddr *addr;
    socklen_t len;
    if (argc < 4) { fprintf(stderr, "missing address\n"); exit(2); }
    if (!strncmp(mode, "udp", 3)) {
        if (argc < 5) { fprintf(stderr, "udp needs LOCALPORT REMOTEPORT\n"); exit(2); }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        inet.sin_port = htons((uint16_t)atoi(argv[3]));
        if (bind(fd, (struct sockaddr *)&inet, sizeof inet) < 0) die("bind");
        inet.sin_port = htons((uint16_t)atoi(argv[4]));
        if (connect(fd, (struct sockaddr *)&inet, sizeof inet) < 0) die("connect");
        return fd;
    }
    is_stream = 1;
    if (!strncmp(mode, "unix", 4)) {
        strncpy(un.sun_path, argv[3], sizeof un.sun_path - 1);
        addr = (struct sockaddr *)&un; len = sizeof un;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (server) unlink(argv[3]);
    } else {
        inet.sin_port = htons((uint16_t)atoi(argv[3]));
        addr = (struct sockaddr *)&inet; len = sizeof inet;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (server) {
        if (bind(fd, addr, len) < 0 || listen(fd, 1) < 0) die("listen");
        int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) die("accept");
        close(fd);
        fd = conn;
    } else {
        for (int tries = 0; connect(fd, addr, len) < 0; tries++) {
            if (tries > 100) die("connect");
            usleep(100000);
        }
    }
    // Frames are whole messages: send each at once rather than wait to fill a segment.
    if (addr == (struct sockaddr *)&inet) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s TAP unix-server|unix-client|tcp-server|tcp-client ADDR | udp LOCALPORT REMOTEPORT\n", argv[0]);
        return 2;
    }
    tap_fd = open_tap(argv[1]);
    sock_fd = open_socket(argc, argv);
    fcntl(tap_fd, F_SETFL, O_NONBLOCK);
    fcntl(sock_fd, F_SETFL, O_NONBLOCK);
    struct pollfd fds[2] = { { .fd = tap_fd }, { .fd = sock_fd } };
    for (;;) {
        int held = pending_start < pending_end;
        fds[0].events = held ? 0 : POLLIN;
        fds[1].events = POLLIN | (held ? POLLOUT : 0);
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        // A tap reports POLLERR while its interface is being moved to another namespace: wait it out.
        if ((fds[0].revents & POLLIN) || (fds[1].revents & POLLOUT)) tap_to_socket();
        else if (fds[0].revents & (POLLERR | POLLHUP)) usleep(1000);
        if (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) socket_to_tap();
    }
}
