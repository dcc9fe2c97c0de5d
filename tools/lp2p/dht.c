/* lp2p tool: `dht` runs one Kademlia query as a client and prints one
 * JSON object (issue 10's CLI):
 *   find-peer PEER_ID  {"peer":"<id>","addrs":["<maddr>",...],"hops":N}
 *   closest KEY        {"key":"<KEY>","peers":["<id>",...]}
 *   put KEY VALUE_HEX  {"key":"<KEY>","stored":N}
 *   get KEY            {"key":"<KEY>","value":"<hex>"}
 *   provide CID        {"cid":"<CID>","stored":N}
 *   providers CID      {"cid":"<CID>","providers":[{"peer":..,"addrs":[..]}]}
 * Exit 0 on success; 1 for not found, nothing stored or no reachable
 * bootstrap peer (one stderr line says which); 2 for usage.
 *
 * Without --bootstrap the node joins the public DHT through its default
 * list (lp2p_kad_default_bootstrap: /dnsaddr names resolved by the host's
 * DNS) with the `public` address filter; when every --bootstrap address is
 * loopback the filter is `all` and the node listens on loopback.
 * LP2P_PUBLIC_CIDRS adds public ranges (a lab's). The join waits at most
 * JOIN_MAX_MS for the bootstrap dials.
 *
 * The host runs in client mode and listens on an ephemeral TCP port (or
 * --listen) while the verb runs, so the ADD_PROVIDER record carries an
 * address (go and js ignore provider records without one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/cid.h"
#include "tools/lp2p/dht_args.h"

#define KEY_MAX 512

typedef struct dht_job {
  const char *verb;
  const char *arg;     /* KEY, PEER_ID or CID as typed */
  uint8_t key[KEY_MAX];
  size_t key_len;
  uint8_t *val;
  size_t val_len;
  lp2p_peerid peer;    /* find-peer */
} dht_job;

static void json_str(cli_ctx *ctx, const char *s) {
  cli_printf(ctx, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      cli_printf(ctx, "\\%c", c);
    else if (c < 0x20)
      cli_printf(ctx, "\\u%04x", c);
    else
      cli_printf(ctx, "%c", c);
  }
  cli_printf(ctx, "\"");
}

static void json_addrs(cli_ctx *ctx, const lp2p_maddr *a, size_t n) {
  cli_printf(ctx, "[");
  for (size_t i = 0; i < n; i++) {
    char t[1024];
    cli_maddr_text(&a[i], t, sizeof t);
    cli_printf(ctx, "%s", i ? "," : "");
    json_str(ctx, t);
  }
  cli_printf(ctx, "]");
}

/* The CID's multihash is the provider key (spec "Content provider
 * advertisement": go and js key provider records by multihash). */
static int cid_key(cli_ctx *ctx, dht_job *j) {
  uint8_t bin[LP2P_CID_MAX];
  size_t bl = 0;
  lp2p_cid c;
  if (lp2p_cid_from_text(j->arg, strlen(j->arg), bin, sizeof bin, &bl) ||
      lp2p_cid_decode(bin, bl, &c) || c.mh_len > KEY_MAX)
    return cli_fail(ctx, CLI_EXIT_USAGE, "bad CID '%s'", j->arg);
  memcpy(j->key, c.mh, c.mh_len);
  j->key_len = c.mh_len;
  return 0;
}

static int parse_job(cli_ctx *ctx, dht_job *j, int npos, char **argv) {
  static const struct {
    const char *verb;
    int args;
  } verbs[] = {{"find-peer", 1}, {"closest", 1}, {"put", 2},
               {"get", 1},       {"provide", 1}, {"providers", 1}};
  j->verb = argv[0];
  j->arg = npos > 1 ? argv[1] : "";
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    if (strcmp(j->verb, verbs[i].verb))
      continue;
    if (npos - 1 != verbs[i].args)
      return cli_fail(ctx, CLI_EXIT_USAGE, "%s takes %d argument%s", j->verb,
                      verbs[i].args, verbs[i].args > 1 ? "s" : "");
    if (!strcmp(j->verb, "find-peer")) {
      if (lp2p_peerid_parse(&j->peer, j->arg, strlen(j->arg)))
        return cli_fail(ctx, CLI_EXIT_USAGE, "bad PEER_ID '%s'", j->arg);
      return 0;
    }
    if (!strcmp(j->verb, "provide") || !strcmp(j->verb, "providers"))
      return cid_key(ctx, j);
    int rc = dht_key(ctx, j->arg, !strcmp(j->verb, "closest"), j->key,
                     sizeof j->key, &j->key_len);
    if (rc || strcmp(j->verb, "put"))
      return rc;
    if (cli_hex_arg(ctx, "VALUE_HEX", argv[2], &j->val, &j->val_len))
      return CLI_EXIT_USAGE;
    return j->val_len ? 0
                      : cli_fail(ctx, CLI_EXIT_USAGE, "VALUE_HEX is empty");
  }
  return cli_fail(ctx, CLI_EXIT_USAGE, "unknown DHT verb '%s'", j->verb);
}

/* The join waits this long at most for the bootstrap dials (a /dnsaddr
 * name: DNS timeouts, then one dial timeout per address found), so an
 * offline machine gets its one-line failure in bounded time. */
#define JOIN_MAX_MS 30000

/* Listen, dial the bootstrap peers (the library tags them), and wait until
 * each dial ended and, once connected, identify (which puts kad servers in
 * the table). */
static int join(cli_ctx *ctx, cli_node *n, const char *listen, int all,
                int deadline_ms) {
  const char *la = listen ? listen
                   : all  ? "/ip4/127.0.0.1/tcp/0"
                          : "/ip4/0.0.0.0/tcp/0";
  lp2p_maddr lm;
  int e = lp2p_maddr_parse(&lm, la, strlen(la));
  if (e)
    return cli_fail(ctx, CLI_EXIT_USAGE, "bad --listen '%s': %s", la,
                    lp2p_strerror(e));
  if ((e = lp2p_host_listen(n->h, &lm, NULL)) != 0)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot listen on %s: %s", la,
                    lp2p_strerror(e));
  uint64_t dial[DHT_BOOTSTRAP_MAX];
  size_t ndial = 0;
  e = lp2p_host_kad_bootstrap(n->h, lp2p_clock_now(), dial, DHT_BOOTSTRAP_MAX,
                              &ndial);
  if (!ndial)
    return cli_fail(ctx, CLI_EXIT_DATA, "no reachable bootstrap peer: %s",
                    lp2p_strerror(e));
  /* wait for every dial, and for our identify request to each peer that
   * answered (a push from another peer must not count for it) */
  int ended[DHT_BOOTSTRAP_MAX] = {0}, identified[DHT_BOOTSTRAP_MAX] = {0};
  lp2p_peerid up[DHT_BOOTSTRAP_MAX];
  int nup = 0, nended = 0, last_err = 0;
  lp2p_tstamp end =
      lp2p_clock_now() +
      (uint64_t)(deadline_ms < JOIN_MAX_MS ? deadline_ms : JOIN_MAX_MS) *
          LP2P_NS_PER_MS;
  lp2p_host_event ev;
  for (;;) {
    int pending = nended < (int)ndial;
    for (int i = 0; i < nup; i++)
      pending |= !identified[i];
    lp2p_tstamp now = lp2p_clock_now();
    if (!pending || now >= end ||
        cli_node_event(n, &ev, (int)((end - now) / LP2P_NS_PER_MS) + 1) == -1)
      break;
    if (ev.kind == LP2P_HOST_EV_DIAL_DONE ||
        ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
      size_t i = 0;
      while (i < ndial && dial[i] != ev.u.dial.id)
        i++;
      if (i == ndial || ended[i])
        continue;
      ended[i] = 1;
      nended++;
      if (ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
        last_err = ev.err;
      } else if (nup < DHT_BOOTSTRAP_MAX) { /* identified already, if it raced */
        identified[nup] = lp2p_host_peer_protocol_count(n->h, &ev.peer) > 0;
        up[nup++] = ev.peer;
      }
    } else if (ev.kind == LP2P_HOST_EV_IDENTIFY_DONE &&
               ev.u.identify.direction == LP2P_DIR_OUTBOUND) {
      for (int i = 0; i < nup; i++)
        if (lp2p_peerid_equal(&up[i], &ev.peer))
          identified[i] = 1;
    }
  }
  if (!lp2p_host_kad_table_size(n->h))
    return cli_fail(ctx, CLI_EXIT_DATA,
                    "no reachable bootstrap peer (%zu dialled, %d answered%s%s)",
                    ndial, nup, last_err ? "; last error: " : "",
                    last_err ? lp2p_strerror(last_err) : "");
  return 0;
}

static int start(cli_node *n, const dht_job *j, uint64_t *q) {
  lp2p_host *h = n->h;
  lp2p_tstamp now = lp2p_clock_now();
  const char *v = j->verb;
  if (!strcmp(v, "find-peer"))
    return lp2p_host_kad_find_peer(h, now, &j->peer, q);
  if (!strcmp(v, "closest"))
    return lp2p_host_kad_closest(h, now, j->key, j->key_len, q);
  if (!strcmp(v, "put"))
    return lp2p_host_kad_put(h, now, j->key, j->key_len, j->val, j->val_len,
                             q);
  if (!strcmp(v, "get"))
    return lp2p_host_kad_get(h, now, j->key, j->key_len, q);
  if (!strcmp(v, "provide"))
    return lp2p_host_kad_provide(h, now, j->key, j->key_len, q);
  return lp2p_host_kad_providers(h, now, j->key, j->key_len, q);
}

/* Print the result; returns 0 or CLI_EXIT_DATA with one line saying why. */
static int report(cli_ctx *ctx, cli_node *n, const dht_job *j, uint64_t q,
                  const lp2p_kad_query_info *info) {
  lp2p_host *h = n->h;
  const char *v = j->verb;
  char id[LP2P_PEERID_TEXT_MAX];
  if (!strcmp(v, "find-peer")) {
    if (!info->target_found)
      return cli_fail(ctx, CLI_EXIT_DATA, "peer %s not found", j->arg);
    lp2p_maddr a[16];
    size_t na = 0;
    lp2p_host_peer_addrs(h, lp2p_clock_now(), &j->peer, a, 16, &na);
    cli_peerid_text(&j->peer, id, sizeof id);
    cli_printf(ctx, "{\"peer\":");
    json_str(ctx, id);
    cli_printf(ctx, ",\"addrs\":");
    json_addrs(ctx, a, na < 16 ? na : 16);
    cli_printf(ctx, ",\"hops\":%u}\n", (unsigned)info->target_hops);
    return 0;
  }
  if (!strcmp(v, "closest")) {
    lp2p_peerid p;
    if (!lp2p_host_kad_query_peer(h, q, 0, &p, NULL))
      return cli_fail(ctx, CLI_EXIT_DATA, "no peer answered");
    cli_printf(ctx, "{\"key\":");
    json_str(ctx, j->arg);
    cli_printf(ctx, ",\"peers\":[");
    for (size_t i = 0; lp2p_host_kad_query_peer(h, q, i, &p, NULL); i++) {
      cli_peerid_text(&p, id, sizeof id);
      cli_printf(ctx, "%s", i ? "," : "");
      json_str(ctx, id);
    }
    cli_printf(ctx, "]}\n");
    return 0;
  }
  if (!strcmp(v, "put") || !strcmp(v, "provide")) {
    if (!info->stored)
      return cli_fail(ctx, CLI_EXIT_DATA, "nothing stored: no peer accepted");
    cli_printf(ctx, "{\"%s\":", v[1] == 'u' ? "key" : "cid");
    json_str(ctx, j->arg);
    cli_printf(ctx, ",\"stored\":%zu}\n", info->stored);
    return 0;
  }
  if (!strcmp(v, "get")) {
    size_t len = 0;
    const uint8_t *val = lp2p_host_kad_query_value(h, q, &len);
    if (!val)
      return cli_fail(ctx, CLI_EXIT_DATA, "%s not found", j->arg);
    cli_printf(ctx, "{\"key\":");
    json_str(ctx, j->arg);
    cli_printf(ctx, ",\"value\":\"");
    for (size_t i = 0; i < len; i++)
      cli_printf(ctx, "%02x", val[i]);
    cli_printf(ctx, "\"}\n");
    return 0;
  }
  lp2p_peerid p;
  size_t na = 0;
  if (!lp2p_host_kad_query_provider(h, q, 0, &p, &na))
    return cli_fail(ctx, CLI_EXIT_DATA, "no provider of %s found", j->arg);
  cli_printf(ctx, "{\"cid\":");
  json_str(ctx, j->arg);
  cli_printf(ctx, ",\"providers\":[");
  for (size_t i = 0; lp2p_host_kad_query_provider(h, q, i, &p, &na); i++) {
    lp2p_maddr a[8];
    size_t k = 0;
    for (size_t m = 0; m < na && k < 8; m++)
      if (lp2p_host_kad_query_provider_addr(h, q, i, m, &a[k]) == 0)
        k++;
    cli_peerid_text(&p, id, sizeof id);
    cli_printf(ctx, "%s{\"peer\":", i ? "," : "");
    json_str(ctx, id);
    cli_printf(ctx, ",\"addrs\":");
    json_addrs(ctx, a, k);
    cli_printf(ctx, "}");
  }
  cli_printf(ctx, "]}\n");
  return 0;
}

int cli_cmd_dht(cli_ctx *ctx, int argc, char **argv) {
  const char *boot_txt[DHT_BOOTSTRAP_MAX];
  lp2p_maddr boot[DHT_BOOTSTRAP_MAX];
  int nboot = 0, npos = 0;
  cli_opt opts[] = {{"key", 1, NULL, 0},
                    {"timeout", 1, NULL, 0},
                    {"listen", 1, NULL, 0}};
  int rc = dht_take_repeated(ctx, &argc, argv, "bootstrap", boot_txt,
                             DHT_BOOTSTRAP_MAX, &nboot);
  if (!rc)
    rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 2, 3);
  /* no --bootstrap: the public DHT's default list, public filter */
  static cli_kad kad;
  if (!rc)
    rc = dht_bootstrap_setup(ctx, boot_txt, nboot, 0, boot, &kad);
  if (rc)
    return rc;
  kad.dial_on_start = 0; /* join() dials, to follow each dial */
  cli_node_kad = &kad;
  uint64_t timeout_s = 60;
  if (opts[1].seen && (cli_parse_u64(opts[1].value, &timeout_s) ||
                       !timeout_s || timeout_s > 86400))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--timeout needs 1..86400 seconds");
  dht_job j;
  memset(&j, 0, sizeof j);
  if ((rc = parse_job(ctx, &j, npos, argv)) != 0) {
    free(j.val);
    return rc;
  }
  lp2p_tstamp end = lp2p_clock_now() + timeout_s * LP2P_NS_PER_S;
  cli_node_kad_mode = LP2P_KAD_MODE_CLIENT;
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[0].value, 0, NULL);
  if (rc) {
    free(j.val);
    return rc;
  }
  rc = join(ctx, &n, opts[2].value, kad.addr_filter == LP2P_KAD_ADDRS_ALL,
            (int)(timeout_s * 1000));
  uint64_t q = 0;
  if (!rc && (rc = start(&n, &j, &q)) != 0)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot start the query: %s",
                  lp2p_strerror(rc));
  lp2p_kad_query_info info;
  memset(&info, 0, sizeof info);
  while (!rc) {
    if (lp2p_host_kad_query_info(n.h, q, &info) == 0 && info.done)
      break;
    lp2p_tstamp now = lp2p_clock_now();
    if (now >= end) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "timed out");
      break;
    }
    lp2p_host_event ev;
    if (cli_node_event(&n, &ev, (int)((end - now) / LP2P_NS_PER_MS) + 1) ==
        -1)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
  }
  if (!rc)
    rc = report(ctx, &n, &j, q, &info);
  /* ADD_PROVIDER has no answer: give the records a moment to reach the
   * servers' handlers before the connections close */
  if (!strcmp(j.verb, "provide")) {
    lp2p_host_event ev;
    lp2p_tstamp linger = lp2p_clock_now() + LP2P_NS_PER_S;
    while (lp2p_clock_now() < linger &&
           cli_node_event(&n, &ev, 100) != -1)
      ;
  }
  /* a get corrects the closest peers that had an older record or none
   * (PUT_VALUE of the best one): let those finish, 2 s at most */
  if (!strcmp(j.verb, "get")) {
    lp2p_host_event ev;
    lp2p_tstamp linger = lp2p_clock_now() + 2 * LP2P_NS_PER_S;
    while (lp2p_host_kad_query_info(n.h, q, &info) == 0 &&
           info.corrections_pending && lp2p_clock_now() < linger &&
           cli_node_event(&n, &ev, 100) != -1)
      ;
  }
  cli_node_stop(&n);
  free(j.val);
  return rc;
}
