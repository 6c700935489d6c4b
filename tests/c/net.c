/* net.c: the socket helpers of net.h (POSIX only). */
#define _POSIX_C_SOURCE 200809L

#include "net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

/* Open descriptors of this process (/proc/self/fd, minus the directory's own). */
int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  ASSERT_NOT_NULL(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1;
}

void run_until_done(tide_loop *loop, tide_future *f) {
  while (!tide_future_done(f))
    ASSERT_GE(tide_loop_run(loop, TIDE_RUN_ONCE), 0);
}

int64_t int_of(tide_future *f) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  return v.as.i;
}

/* The PTR result of an accept or connect: the stream. */
tide_stream *stream_of(tide_future *f) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_PTR);
  ASSERT_NOT_NULL(v.as.p);
  return v.as.p;
}

void expect_bytes(tide_future *f, const char *s) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_EQ(v.as.bytes.len, strlen(s));
  ASSERT_EQ(memcmp(v.as.bytes.data, s, v.as.bytes.len), 0);
}

tide_stream *connect_now(tide_loop *loop, const char *host, int port) {
  tide_future f;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_tcp_connect(loop, host, port, &f));
  run_until_done(loop, &f);
  tide_stream *s = stream_of(&f);
  tide_future_release(&f);
  return s;
}

/* tide_tcp_listen, waited for: its return value, else the future's outcome
 * (0 with *out set). */
int listen_now(tide_loop *loop, const char *host, int port, int backlog,
                      tide_tcp_listener **out) {
  tide_future f;
  tide_future_init(loop, &f);
  int rc = tide_tcp_listen(loop, host, port, backlog, &f);
  if (rc != 0) return rc;
  run_until_done(loop, &f);
  tide_value v;
  rc = tide_future_result(&f, &v);
  if (rc == 0) *out = v.as.p;
  tide_future_release(&f);
  return rc;
}

tide_stream *accept_now(tide_loop *loop, tide_tcp_listener *l) {
  tide_future f;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_tcp_accept(l, &f));
  run_until_done(loop, &f);
  tide_stream *s = stream_of(&f);
  tide_future_release(&f);
  return s;
}

void close_stream(tide_loop *loop, tide_stream *s) {
  tide_future f;
  tide_future_init(loop, &f);
  tide_stream_close(s, &f);
  run_until_done(loop, &f);
  ASSERT_OK(tide_future_result(&f, NULL));
  tide_future_release(&f);
}

/* A plain blocking client socket, connected (the listener's backlog takes it
 * without an accept). */
int raw_connect(const char *host, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  ASSERT_EQ(inet_pton(AF_INET, host, &a.sin_addr), 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Close with a reset (SO_LINGER 0) instead of an orderly FIN. */
void raw_reset(int fd) {
  struct linger lg = {1, 0};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(close(fd), 0);
}

