// The floor for the gateway ping RTT (bench/user/rtt-floor.sh): the least work any user-space
// stack can do to answer a guest's ping of its gateway. It owns a tap, answers ARP for 10.0.2.2
// and ICMP echo requests to it, and nothing else: no virtio-net header, no hub, no flows. How
// it waits for the tap is the point, one mode per run:
//   epoll  - epoll_wait on a one-shot registration of the tap, then read until EAGAIN
//            (how netdevd's I/O thread waits);
//   poll   - poll(2) of the tap and an eventfd, then read until EAGAIN (how glib, and so
//            slirp4netns, waits);
//   block  - a blocking read of the tap, no wait at all;
//   uring  - (built with -DWITH_URING -luring) an io_uring read of the tap kept submitted beside a
//            poll of an epoll descriptor, so the frame arrives with the wait's return.
// Not a product: no options, exits on any setup error.
//
// What extra cold work costs an echo (bench/README, session 31), added before each answer when
// asked in the environment:
//   FLOOR_PAGES=N         read N data pages no one else touches, one after another (each page
//                         holds the next one's address); with FLOOR_PAGES_AT_ONCE=1 all at once;
//                         with FLOOR_HUGE=1 the same 64 KiB-spaced reads inside 2 MiB pages (one
//                         TLB entry for 32 of them: what a page walk adds to a cold line)
//   FLOOR_LINES=N         (built with -DWITH_LINES and bench/floor/cold-lines.py's output) run N
//                         one-line functions in shuffled order, N distinct code lines; with
//                         FLOOR_TOUCH=1 all of them read as data first (netdevd's warm-up)
//
// usage: floor-echo MODE TAP
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef WITH_URING
#include <liburing.h>
#endif

static const uint8_t gateway_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t gateway_ip[4] = {10, 0, 2, 2};
static uint8_t in[65536], out[65536];

static uint16_t checksum(const uint8_t *p, int n)
{
    uint32_t sum = 0;
    for (int i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

// The answer to one frame in `out`: its length, 0 when there is none.
static int answer(const uint8_t *f, int n)
{
    if (n >= 42 && f[12] == 0x08 && f[13] == 0x06) {
        if (f[21] != 1 || memcmp(f + 38, gateway_ip, 4) != 0)
            return 0;
        memcpy(out, f + 6, 6);
        memcpy(out + 6, gateway_mac, 6);
        memcpy(out + 12, f + 12, 8);
        out[21] = 2;
        memcpy(out + 22, gateway_mac, 6);
        memcpy(out + 28, gateway_ip, 4);
        memcpy(out + 32, f + 22, 10);
        return 42;
    }
    if (n >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && memcmp(f + 30, gateway_ip, 4) == 0 && f[34] == 8) {
        int ihl = (f[14] & 15) * 4, total = f[16] << 8 | f[17];
        if (total < ihl + 8 || 14 + total > n)
            return 0;
        memcpy(out, f, 14 + total);
        memcpy(out, f + 6, 6);
        memcpy(out + 6, gateway_mac, 6);
        memcpy(out + 26, f + 30, 4);
        memcpy(out + 30, f + 26, 4);
        out[24] = out[25] = 0;
        uint16_t c = checksum(out + 14, ihl);
        out[24] = c >> 8, out[25] = c & 0xff;
        uint8_t *icmp = out + 14 + ihl;
        icmp[0] = 0, icmp[2] = icmp[3] = 0;
        c = checksum(icmp, total - ihl);
        icmp[2] = c >> 8, icmp[3] = c & 0xff;
        return 14 + total;
    }
    return 0;
}

// Cold data: pages 64 KiB apart, each holding the address of the next.
#define COLD_PAGE_STRIDE 65536
#define HUGE_PAGE_SIZE (2u << 20)
static char *cold_pages;
static int cold_page_count, cold_pages_at_once;
static volatile long cold_sink;

static void read_cold_pages(void)
{
    if (cold_pages_at_once) {
        long sum = 0;
        for (int i = 0; i < cold_page_count; i++)
            sum += cold_pages[(long)i * COLD_PAGE_STRIDE];
        cold_sink = sum;
        return;
    }
    char *p = cold_pages;
    for (int i = 0; i < cold_page_count; i++)
        p = *(char **)p;
    cold_sink = (long)p;
}

static void setup_cold_pages(void)
{
    const char *n = getenv("FLOOR_PAGES");
    cold_page_count = n ? atoi(n) : 0;
    cold_pages_at_once = getenv("FLOOR_PAGES_AT_ONCE") != NULL;
    if (cold_page_count <= 0)
        return;
    size_t size = (size_t)(cold_page_count + 1) * COLD_PAGE_STRIDE;
    int huge = getenv("FLOOR_HUGE") != NULL;
    size_t span = huge ? size + HUGE_PAGE_SIZE : size;
    char *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    if (huge) {
        // The same reads on 2 MiB pages: one TLB entry covers 32 of them.
        cold_pages = (char *)(((uintptr_t)map + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
        // Refused only by a kernel built without transparent huge pages; one where they are set
        // to "never" accepts the advice and keeps 4 KiB pages (AnonHugePages in the process's
        // smaps_rollup says which it got: 2048 kB for 32 pages).
        if (madvise(cold_pages, size, MADV_HUGEPAGE) != 0) {
            perror("floor-echo: FLOOR_HUGE: madvise(MADV_HUGEPAGE)");
            exit(2);
        }
    } else {
        // 4 KiB pages, as a GC heap's or malloc's scattered objects sit on.
        cold_pages = map;
        madvise(cold_pages, size, MADV_NOHUGEPAGE);
    }
    for (int i = 0; i < cold_page_count; i++)
        *(char **)(cold_pages + (long)i * COLD_PAGE_STRIDE) = cold_pages + (long)(i + 1) * COLD_PAGE_STRIDE;
}

#ifdef WITH_LINES
// From bench/floor/cold-lines.py: one-line functions, and a run of the first k in shuffled order.
int cold_lines_run(int k);
extern const char __start_cold_lines[], __stop_cold_lines[];
#endif
static int cold_line_count, cold_lines_touch;

static void run_cold_lines(void)
{
#ifdef WITH_LINES
    if (cold_lines_touch) {
        int sum = 0;
        for (const char *p = __start_cold_lines; p < __stop_cold_lines; p += 64)
            sum += *(volatile const char *)p;
        cold_sink = sum;
    }
    cold_sink = cold_lines_run(cold_line_count);
#endif
}

static void setup_cold_lines(void)
{
    const char *n = getenv("FLOOR_LINES");
    cold_line_count = n ? atoi(n) : 0;
    cold_lines_touch = getenv("FLOOR_TOUCH") != NULL;
#ifndef WITH_LINES
    if (cold_line_count > 0) {
        fprintf(stderr, "floor-echo: FLOOR_LINES needs a build with -DWITH_LINES and cold-lines.c\n");
        exit(2);
    }
#endif
}

static void serve(int tap, const uint8_t *frame, int n)
{
    if (cold_page_count > 0)
        read_cold_pages();
    if (cold_line_count > 0)
        run_cold_lines();
    int m = answer(frame, n);
    if (m > 0 && write(tap, out, m) < 0)
        perror("write");
}

// Reads the tap until it is empty (a non-blocking descriptor), answering each frame.
static void drain(int tap)
{
    for (;;) {
        ssize_t n = read(tap, in, sizeof in);
        if (n <= 0)
            return;
        serve(tap, in, (int)n);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor-echo epoll|poll|block|uring TAP\n");
        return 2;
    }
    const char *mode = argv[1];
    setup_cold_pages();
    setup_cold_lines();
    int blocking = strcmp(mode, "block") == 0;
    int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (blocking ? 0 : O_NONBLOCK));
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, argv[2], IFNAMSIZ - 1);
    if (tap < 0 || ioctl(tap, TUNSETIFF, &ifr) < 0) {
        perror("tap");
        return 1;
    }
    int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (strcmp(mode, "epoll") == 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event tap_event = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = tap};
        struct epoll_event wake_event = {.events = EPOLLIN, .data.fd = wake};
        epoll_ctl(ep, EPOLL_CTL_ADD, tap, &tap_event);
        epoll_ctl(ep, EPOLL_CTL_ADD, wake, &wake_event);
        for (;;) {
            struct epoll_event ready[16];
            int k = epoll_wait(ep, ready, 16, -1);
            for (int i = 0; i < k; i++) {
                if (ready[i].data.fd == tap) {
                    drain(tap);
                    epoll_ctl(ep, EPOLL_CTL_MOD, tap, &tap_event);
                }
            }
        }
    }
    if (strcmp(mode, "poll") == 0) {
        for (;;) {
            struct pollfd fds[2] = {{tap, POLLIN, 0}, {wake, POLLIN, 0}};
            if (poll(fds, 2, -1) > 0 && (fds[0].revents & POLLIN))
                drain(tap);
        }
    }
    if (blocking) {
        for (;;) {
            ssize_t n = read(tap, in, sizeof in);
            if (n > 0)
                serve(tap, in, (int)n);
        }
    }
#ifdef WITH_URING
    if (strcmp(mode, "uring") == 0) {
        struct io_uring ring;
        struct io_uring_params params = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
        if (io_uring_queue_init_params(8, &ring, &params) < 0) {
            fprintf(stderr, "io_uring unavailable\n");
            return 1;
        }
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event wake_event = {.events = EPOLLIN, .data.fd = wake};
        epoll_ctl(ep, EPOLL_CTL_ADD, wake, &wake_event);
        io_uring_prep_poll_add(io_uring_get_sqe(&ring), ep, POLLIN);
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, tap, in, sizeof in, 0);
        io_uring_sqe_set_data64(sqe, 1);
        for (;;) {
            io_uring_submit_and_wait(&ring, 1);
            struct io_uring_cqe *cqe;
            while (io_uring_peek_cqe(&ring, &cqe) == 0) {
                int res = cqe->res;
                uint64_t which = io_uring_cqe_get_data64(cqe);
                io_uring_cqe_seen(&ring, cqe);
                if (which != 1)
                    continue;
                if (res > 0)
                    serve(tap, in, res);
                drain(tap);
                sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read(sqe, tap, in, sizeof in, 0);
                io_uring_sqe_set_data64(sqe, 1);
            }
        }
    }
#endif
    fprintf(stderr, "floor-echo: no mode %s\n", mode);
    return 2;
}
