// One-byte TCP request/response round trips (bench/user/tcp-rr.sh): what an ssh keystroke or a
// small RPC through a user-mode NAT feels like, where the gateway ping only echoes in the stack.
//   tcp-rr server PORT                        echoes on 127.0.0.1:PORT, a connection at a time
//   tcp-rr client ADDR PORT COUNT INTERVAL_MS  connects, then COUNT times: writes a byte, reads
//                                            it back, prints the round trip in µs, sleeps
// TCP_NODELAY on both ends, so no segment waits for Nagle. Not a product: exits on any error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int serve(int port) {
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
    perror("tcp-rr: listen");
    return 1;
  }
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    no_delay(c);
    char b[64];
    ssize_t n;
    while ((n = read(c, b, sizeof b)) > 0)
      if (write(c, b, n) != n) break;
    close(c);
  }
}

static int request(const char *addr, int port, int count, int interval_ms) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (c < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("tcp-rr: connect");
    return 1;
  }
  no_delay(c);
  char b = 'x';
  for (int i = 0; i < count; i++) {
    double t0 = now_us();
    if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1) {
      perror("tcp-rr: round trip");
      return 1;
    }
    printf("%.1f\n", now_us() - t0);
    fflush(stdout);
    if (interval_ms > 0) usleep(interval_ms * 1000);
  }
  close(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "server") == 0) return serve(atoi(argv[2]));
  if (argc == 6 && strcmp(argv[1], "client") == 0) return request(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: tcp-rr server PORT | tcp-rr client ADDR PORT COUNT INTERVAL_MS\n");
  return 2;
}
