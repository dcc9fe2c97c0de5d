/* Fuzz the multistream-select engine: the input picks the role, limits,
 * proposals, an allocation to fail, then a script of feeds (chunked),
 * partial output consumes, clock jumps, ls/propose calls and EOF. Checks
 * the engine contract on the way and that nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/ms.h"

static const char *const POOL[] = {"/noise", "/yamux/1.0.0", "/a", "/ipfs/id/1.0.0",
                                   "/plaintext/2.0.0"};

static void check(int ok) {
  if (!ok)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  c.fail_at = fdp_u8(&f); /* 0 = never */
  int dialer = fdp_bool(&f);
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  cfg.message_bytes_max = 20 + fdp_range(&f, 0, 200);
  cfg.ls_bytes_max = 1 + fdp_range(&f, 0, 300);
  cfg.proposals_max = fdp_range(&f, 0, 6);
  cfg.protocols_max = fdp_range(&f, 0, 6);
  cfg.timeout_ns = fdp_range(&f, 0, 1000);
  const char *protos[5];
  size_t np = fdp_range(&f, 0, 5);
  for (size_t i = 0; i < np; i++)
    protos[i] = POOL[fdp_range(&f, 0, 4)];
  if (!dialer) {
    cfg.protocols = protos;
    cfg.protocols_len = np;
  }
  lp2p_tstamp now = 0;
  lp2p_ms *ms = NULL;
  if (lp2p_ms_new(&ms, dialer, &cfg, &c.mem, now) != 0) {
    check(ms == NULL && c.live_bytes == 0);
    return 0;
  }
  int done = 0;
  while (fdp_left(&f)) {
    uint8_t op = fdp_u8(&f);
    switch (op % 8) {
    case 0:
    case 1:
    case 2: { /* feed a chunk */
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 300);
      unsigned before = lp2p_ms_state(ms);
      lp2p_ssize r = lp2p_ms_feed(ms, now, p, n);
      check(r == LP2P_ERR_NOMEM || (r >= 0 && (size_t)r <= n));
      if (done == 1)
        check(r == 0);
      if (r >= 0 && (size_t)r < n)
        check(!(lp2p_ms_state(ms) & LP2P_STATE_WANT_READ));
      (void)before;
      break;
    }
    case 3: { /* partial consume */
      size_t len;
      const uint8_t *o = lp2p_ms_out_peek(ms, &len);
      check((o != NULL) == (len != 0));
      check(!!(lp2p_ms_state(ms) & LP2P_STATE_HAS_OUTPUT) == (len != 0));
      lp2p_ms_out_consume(ms, fdp_range(&f, 0, len));
      break;
    }
    case 4: { /* time */
      now += fdp_range(&f, 0, 600);
      lp2p_tstamp t = lp2p_ms_next_timeout(ms);
      check(lp2p_ms_handle_timeout(ms, now) == 0);
      if (t != LP2P_TSTAMP_NONE && now >= t)
        check(lp2p_ms_next_timeout(ms) == LP2P_TSTAMP_NONE);
      break;
    }
    case 5: { /* dialer commands */
      size_t k = fdp_range(&f, 0, 4);
      const char *props[4];
      for (size_t i = 0; i < k; i++)
        props[i] = POOL[fdp_range(&f, 0, 4)];
      int r = fdp_bool(&f) ? lp2p_ms_ls(ms)
                           : lp2p_ms_propose(ms, props, k, fdp_bool(&f));
      check(r <= 0);
      break;
    }
    case 6: { /* events */
      lp2p_ms_event ev;
      while (lp2p_ms_poll_event(ms, &ev)) {
        if (ev.type == LP2P_MS_EV_NEGOTIATED) {
          check(done == 0);
          done = 1;
          check(ev.protocol && strlen(ev.protocol) == ev.protocol_len);
          check(lp2p_ms_last_error(ms) == 0);
        } else if (ev.type == LP2P_MS_EV_FAILED) {
          check(done == 0);
          done = -1;
          check(ev.err < 0 && ev.err == lp2p_ms_last_error(ms));
        } else if (ev.type == LP2P_MS_EV_LS_RESULT) {
          for (size_t i = 0; i < ev.ls_count; i++)
            check(lp2p_ms_ls_entry(ms, i, NULL) != NULL);
        } else {
          check(0);
        }
      }
      break;
    }
    case 7:
      (void)lp2p_ms_feed_eof(ms, now);
      (void)lp2p_ms_recv_room(ms);
      break;
    }
  }
  lp2p_ms_free(ms);
  check(c.live_bytes == 0 && c.live_allocs == 0);
  return 0;
}
