/* The shared driver core (drivers/core.h) over a scripted fake backend:
 * io kinds reach the right socket verb and the host gets the right
 * answer; output leaves through send with partial writes resumed at the
 * right byte; bytes a non-peeking backend read but the host refused are
 * kept and offered again; ids of ended records are dead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/core.h"
#include "lp2p/host.h"

typedef struct fake {
  lp2p_tstamp now;
  int listens, connects, ends, last_end_how;
  uint64_t listener_id;
  int connect_rc;
  size_t send_cap; /* bytes taken per send before LP2P_ERR_AGAIN */
  uint8_t sent[4096];
  size_t nsent;
  const uint8_t *in; /* what recv hands out */
  size_t in_len;
} fake;

static int f_listen(void *b, drv_ref ref, int kind, const lp2p_io *io,
                    drv_handle *h, lp2p_sockaddr *bound) {
  fake *f = b;
  (void)ref;
  assert_int_equal(kind, DRV_K_LISTEN);
  f->listens++;
  f->listener_id = io->listener;
  *bound = io->addr;
  bound->port = 4100;
  *h = 77;
  return 0;
}

static int f_connect(void *b, drv_ref ref, const lp2p_io *io, drv_handle *h,
                     lp2p_sockaddr *local) {
  fake *f = b;
  (void)ref;
  (void)io;
  (void)local;
  f->connects++;
  *h = 78;
  return f->connect_rc;
}

static int f_send(void *b, drv_handle h, const uint8_t *p, size_t len,
                  size_t *took) {
  fake *f = b;
  (void)h;
  size_t k = len < f->send_cap ? len : f->send_cap;
  memcpy(f->sent + f->nsent, p, k);
  f->nsent += k;
  *took = k;
  return k < len ? LP2P_ERR_AGAIN : 0;
}

static lp2p_ssize f_recv(void *b, drv_handle h, uint8_t *buf, size_t cap) {
  fake *f = b;
  (void)h;
  if (!f->in_len)
    return LP2P_ERR_AGAIN;
  size_t k = f->in_len < cap ? f->in_len : cap;
  memcpy(buf, f->in, k);
  f->in += k;
  f->in_len -= k;
  return (lp2p_ssize)k;
}

static int f_shutdown(void *b, drv_handle h) {
  (void)b;
  (void)h;
  return 0;
}

static void f_end(void *b, drv_handle h, int kind, int how, int peer_eof) {
  fake *f = b;
  (void)h;
  (void)kind;
  (void)peer_eof;
  f->ends++;
  f->last_end_how = how;
}

static void f_udp_send(void *b, drv_handle h, const lp2p_io *io) {
  (void)b;
  (void)h;
  (void)io;
}

static lp2p_ssize f_udp_recv(void *b, drv_handle h, lp2p_sockaddr *from,
                             uint8_t *buf, size_t cap) {
  (void)b;
  (void)h;
  (void)from;
  (void)buf;
  (void)cap;
  return LP2P_ERR_AGAIN;
}

static int f_udp_join(void *b, drv_handle h, const lp2p_sockaddr *g) {
  (void)b;
  (void)h;
  (void)g;
  return 0;
}

static lp2p_tstamp f_now(void *b) { return ((fake *)b)->now; }

static const drv_backend fake_backend = {
    .listen = f_listen,
    .connect = f_connect,
    .send = f_send,
    .recv = f_recv,
    .consume = NULL,
    .shutdown = f_shutdown,
    .end = f_end,
    .udp_send = f_udp_send,
    .udp_recv = f_udp_recv,
    .udp_join = f_udp_join,
    .want = NULL,
    .now = f_now,
    .round = NULL,
    .reads_max = 8,
    .short_read_drains = 0,
};

static lp2p_maddr parse(const char *txt) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, txt, strlen(txt)), 0);
  return m;
}

static int has_event(lp2p_host *h, lp2p_host_event_kind kind, int *err) {
  lp2p_host_event ev;
  int found = 0;
  while (lp2p_host_poll_event(h, &ev))
    if (ev.kind == kind) {
      found = 1;
      if (err)
        *err = ev.err;
    }
  return found;
}

static void test_core_dispatch_and_bytes(void **state) {
  (void)state;
  lp2p_rng_chacha rs;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&rs, 7, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.identity = &k;
  lp2p_host *h = NULL;
  assert_int_equal(lp2p_host_new(&h, &c, NULL, &rng, 1), 0);
  static fake f;
  memset(&f, 0, sizeof f);
  f.now = 1;
  f.send_cap = 5;
  static drv_core core;
  drv_core_init(&core, h, &fake_backend, &f);

  /* LISTEN reaches listen; the host learns the bound port */
  lp2p_maddr m = parse("/ip4/0.0.0.0/tcp/0");
  assert_int_equal(lp2p_host_listen(h, &m, NULL), 0);
  assert_true(drv_core_drain(&core));
  assert_int_equal(f.listens, 1);
  assert_true(has_event(h, LP2P_HOST_EV_LISTENING, NULL));

  /* DIAL reaches connect; its error is the host's dial failure */
  f.connect_rc = LP2P_ERR_REFUSED;
  lp2p_maddr dst = parse("/ip4/192.0.2.7/tcp/4001");
  uint64_t d = 0;
  assert_int_equal(lp2p_host_dial(h, 1, &dst, 0, &d), 0);
  drv_core_drain(&core);
  assert_int_equal(f.connects, 1);
  int err = 0;
  assert_true(has_event(h, LP2P_HOST_EV_DIAL_FAILED, &err));
  assert_int_equal(err, LP2P_ERR_REFUSED);

  /* an inbound connection: the host's multistream header leaves in
   * 5-byte partial sends, each resumed where the last stopped */
  lp2p_sockaddr remote = {4, {10, 0, 0, 9}, 5555}, local = {4, {0}, 4100};
  drv_ref ref = 0;
  assert_int_equal(drv_core_accept(&core, 0, f.listener_id, 90, &remote,
                                   &local, &ref),
                   0);
  assert_non_null(drv_core_get(&core, ref));
  for (int i = 0; i < 16; i++)
    drv_core_flush(&core, ref);
  const char hdr[] = "\x13/multistream/1.0.0\n";
  assert_true(f.nsent >= sizeof hdr - 1);
  assert_memory_equal(f.sent, hdr, sizeof hdr - 1);

  /* garbage in: the host gives up on the connection; the core ends the
   * socket and forgets the record */
  static const uint8_t junk[] = "\x05nope\n\x05nope\n";
  f.in = junk;
  f.in_len = sizeof junk - 1;
  drv_core_read(&core, ref);
  drv_core_drain(&core);
  assert_int_equal(f.ends, 1);
  assert_null(drv_core_get(&core, ref));
  drv_core_flush(&core, ref); /* a stale ref is a no-op */
  assert_int_equal(f.ends, 1);

  drv_core_fini(&core);
  lp2p_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_core_dispatch_and_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
