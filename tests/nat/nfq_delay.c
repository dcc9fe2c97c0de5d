/* nfq-delay: wire latency for the NAT lab (tests/nat/holepunch.sh).
 *
 * The lab's kernel may lack sch_netem (and nft's `queue`), so a router's
 * WAN ingress is sent to an NFQUEUE from the raw table, before conntrack
 * and NAT see a packet:
 *   iptables-legacy -t raw -A PREROUTING -i wan0 -j NFQUEUE \
 *       --queue-num Q --queue-bypass
 * and this program hands every packet back DELAY_MS after it arrived, in
 * arrival order (a constant one-way delay, like a long wire). With
 * --queue-bypass packets pass undelayed once we exit, so a lab never
 * stalls on a dead helper. We exit after SECONDS at the latest.
 *
 *   nfq-delay QUEUE DELAY_MS SECONDS
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

/* Packets held at once; beyond this one goes through undelayed (a test
 * lab carries little; better late than dropped). */
#define HELD_MAX 8192u

struct held {
  uint32_t id;
  uint64_t due_ns;
};

static struct held held[HELD_MAX];
static unsigned first, count;
static uint64_t delay_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg,
                     struct nfq_data *pkt, void *arg) {
  (void)msg;
  (void)arg;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(pkt);
  if (!ph)
    return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (count == HELD_MAX)
    return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL);
  struct held *h = &held[(first + count) % HELD_MAX];
  h->id = id;
  h->due_ns = now_ns() + delay_ns;
  count++;
  return 0;
}

/* Hands back every packet whose time has come. */
static void release_due(struct nfq_q_handle *q, uint64_t t) {
  while (count && held[first].due_ns <= t) {
    nfq_set_verdict(q, held[first].id, NF_ACCEPT, 0, NULL);
    first = (first + 1) % HELD_MAX;
    count--;
  }
}

static int arg_u(const char *s, unsigned long max, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v > max)
    return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  unsigned long qnum, ms, secs;
  if (argc != 4 || arg_u(argv[1], 65535, &qnum) ||
      arg_u(argv[2], 10000, &ms) || arg_u(argv[3], 86400, &secs)) {
    fprintf(stderr, "usage: nfq-delay QUEUE DELAY_MS SECONDS\n");
    return 2;
  }
  delay_ns = (uint64_t)ms * 1000000u;
  uint64_t end = now_ns() + (uint64_t)secs * 1000000000u;

  struct nfq_handle *nh = nfq_open();
  if (!nh) {
    perror("nfq-delay: nfq_open");
    return 1;
  }
  struct nfq_q_handle *q =
      nfq_create_queue(nh, (uint16_t)qnum, on_packet, NULL);
  if (!q) {
    perror("nfq-delay: nfq_create_queue");
    nfq_close(nh);
    return 1;
  }
  /* verdicts only need the packet id: ask the kernel for no payload */
  if (nfq_set_mode(q, NFQNL_COPY_META, 0) < 0) {
    perror("nfq-delay: nfq_set_mode");
    nfq_destroy_queue(q);
    nfq_close(nh);
    return 1;
  }
  nfq_set_queue_maxlen(q, HELD_MAX);
  int fd = nfq_fd(nh);
  static char buf[65536];
  for (uint64_t t = now_ns(); t < end; t = now_ns()) {
    int wait_ms = 100;
    if (count) {
      uint64_t due = held[first].due_ns;
      uint64_t w = due > t ? (due - t + 999999u) / 1000000u : 0;
      wait_ms = w < 100 ? (int)w : 100;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) > 0) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0)
        nfq_handle_packet(nh, buf, (int)n);
      else if (n < 0 && errno == ENOBUFS)
        fprintf(stderr, "nfq-delay: queue overrun, packets lost\n");
    }
    release_due(q, now_ns());
  }
  release_due(q, UINT64_MAX);
  nfq_destroy_queue(q);
  nfq_close(nh);
  return 0;
}
