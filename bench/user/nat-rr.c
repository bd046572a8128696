// One-byte request/response round trips through a user-mode NAT (bench/user/nat-rr.sh): what an
// ssh keystroke, a small RPC or a DNS query feels like, where the gateway ping only echoes inside
// the stack.
//   nat-rr server PORT [ADDR]                        echoes on ADDR:PORT (127.0.0.1 unless
//                                                    given), TCP (a connection at a time) and
//                                                    UDP alike
//   nat-rr client tcp|udp ADDR PORT COUNT INTERVAL_MS  a connection (TCP) or a connected socket
//                                                    (UDP: a new flow for the NAT), then COUNT
//                                                    times: writes a byte, reads it back, prints
//                                                    the round trip in µs ("lost" for a datagram
//                                                    not answered within a second), sleeps
// TCP_NODELAY on both ends, so no segment waits for Nagle. Not a product: exits on any setup error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int bound(int type, const char *addr, int port) {
  int one = 1, s = socket(AF_INET, type, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || (type == SOCK_STREAM && listen(s, 16) != 0)) {
    perror("nat-rr: bind");
    exit(1);
  }
  return s;
}

// One thread serves both: a TCP connection is echoed until it ends; datagrams that arrive
// meanwhile wait for it (the clients take turns, one round trip at a time).
static int serve(const char *addr, int port) {
  int tcp = bound(SOCK_STREAM, addr, port), udp = bound(SOCK_DGRAM, addr, port);
  struct pollfd fds[2] = {{.fd = tcp, .events = POLLIN}, {.fd = udp, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) <= 0) continue;
    char b[64];
    if (fds[1].revents & POLLIN) {
      struct sockaddr_in peer;
      socklen_t len = sizeof peer;
      ssize_t n = recvfrom(udp, b, sizeof b, 0, (struct sockaddr *)&peer, &len);
      if (n > 0) sendto(udp, b, n, 0, (struct sockaddr *)&peer, len);
    }
    if (fds[0].revents & POLLIN) {
      int c = accept(tcp, NULL, NULL);
      if (c < 0) continue;
      no_delay(c);
      ssize_t n;
      while ((n = read(c, b, sizeof b)) > 0)
        if (write(c, b, n) != n) break;
      close(c);
    }
  }
}

static int request(int type, const char *addr, int port, int count, int interval_ms) {
  int c = socket(AF_INET, type, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (c < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("nat-rr: connect");
    return 1;
  }
  if (type == SOCK_STREAM) {
    no_delay(c);
  } else {
    struct timeval second = {.tv_sec = 1};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
  }
  char b = 'x';
  for (int i = 0; i < count; i++) {
    double t0 = now_us();
    if (write(c, &b, 1) != 1) {
      perror("nat-rr: write");
      return 1;
    }
    if (read(c, &b, 1) != 1) {
      if (type == SOCK_STREAM) {
        perror("nat-rr: read");
        return 1;
      }
      printf("lost\n");
    } else {
      printf("%.1f\n", now_us() - t0);
    }
    fflush(stdout);
    if (interval_ms > 0) usleep(interval_ms * 1000);
  }
  close(c);
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "server") == 0) return serve(argc == 4 ? argv[3] : "127.0.0.1", atoi(argv[2]));
  if (argc == 7 && strcmp(argv[1], "client") == 0 && (strcmp(argv[2], "tcp") == 0 || strcmp(argv[2], "udp") == 0))
    return request(strcmp(argv[2], "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM, argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  fprintf(stderr, "usage: nat-rr server PORT [ADDR] | nat-rr client tcp|udp ADDR PORT COUNT INTERVAL_MS\n");
  return 2;
}
