// The 64-byte-frame load for bench/af-xdp: UDP datagrams of 18 bytes (60-byte frames, 64 on a
// wire with the FCS) sent with sendmmsg in batches of 64 for a number of seconds, as fast as
// the kernel takes them. Prints the datagrams sent. Not a product: no options beyond these.
//
// usage: mmsg-sender DST-IPV4 SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DST-IPV4 SECONDS\n", argv[0]);
        return 2;
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
    if (fd < 0 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        perror("socket/address");
        return 1;
    }

    char payload[18];
    memset(payload, 0x5a, sizeof payload);
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = payload;
        iov[i].iov_len = sizeof payload;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
    }

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    double seconds = atof(argv[2]);
    long long sent = 0;
    for (;;) {
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n > 0) {
            sent += n;
        }

        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= seconds) {
            break;
        }
    }

    printf("%lld\n", sent);
    return 0;
}
