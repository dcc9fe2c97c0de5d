/* The resolver engine (include/lp2p/dns.h): multiaddr lookups over the
 * RFC 1035 codec in dns_msg.c, with no socket, clock or entropy of its own.
 *
 * A lookup starts from one multiaddr. Its first /dns* component is either
 * answered by the hosts table (the order of nsswitch "files dns") or turned
 * into questions: A for /dns4, AAAA for /dns6, both for /dns, TXT at
 * _dnsaddr.<name> for /dnsaddr. Each question is one query in flight with
 * a copy of the multiaddr it resolves (`tmpl`); an answer splices the IP
 * into tmpl (an address result) or, for /dnsaddr, parses each
 * "dnsaddr=<multiaddr>" record and resolves it one level deeper (multiaddr
 * spec "dnsaddr": at most LP2P_DNSADDR_DEPTH_MAX levels, and when the
 * resolved address ends in /p2p/<id> only records with that id are kept).
 * The lookup is done when no query is left.
 *
 * Spoofing (RFC 5452): ids are drawn from the injected rng, unique among
 * queries in flight; an answer counts only when it comes from a server the
 * query was sent to (address and port), carries the query's id, and repeats
 * its question (name and type). Anything else is counted and dropped.
 *
 * Bounds: lookups_max lookups, queries_max queries per lookup over its
 * whole life (CNAME and /dnsaddr follow-ups included), answers_max
 * addresses per lookup, CNAME chains of LP2P_DNS_CNAME_MAX hops, messages
 * of LP2P_DNS_MSG_MAX bytes (dns_msg.c), hosts text of hosts_bytes_max. */
#include <string.h>

#include "lp2p/multiaddr.h"
#include "proto/dns/dns_conf.h"

typedef struct dq dq;
typedef struct dl dl;

struct dq {                     /* one question in flight */
  dq *next;                     /* the lookup's list */
  dl *lk;
  lp2p_maddr tmpl;              /* what the answer is spliced into */
  lp2p_tstamp deadline;
  uint32_t asked;               /* servers sent to (bit per index) */
  uint16_t comp_off, comp_size; /* the /dns* component inside tmpl */
  uint16_t id;
  uint16_t qtype;
  uint8_t depth;                /* /dnsaddr level of tmpl */
  uint8_t attempts;             /* sends so far (1 + retries at most) */
  uint8_t cnames;               /* CNAME hops behind this question */
  uint8_t want_send;
  uint8_t server;               /* index of the latest attempt's server */
  uint8_t name_len;
  char name[LP2P_DNS_NAME_MAX + 1];
};

struct dl {                     /* one lookup */
  dl *next;
  uint64_t tag;
  dq *qs;
  int err;                      /* why, when nothing is found */
  uint32_t issued;              /* queries created so far */
  uint32_t nres;
  uint8_t done;
  lp2p_maddr *res;              /* answers_max entries */
};

struct lp2p_dns_res {
  const lp2p_mem *mem;
  lp2p_rng rng;
  lp2p_dns_config cfg;
  char *hosts;
  size_t hosts_len;
  lp2p_sockaddr servers[LP2P_DNS_SERVERS_MAX];
  size_t nservers;
  dl *lookups;
  uint32_t nlookups;
  dl *returned;                 /* handed out by poll_done, freed next call */
  dq *peeked;
  lp2p_dns_res_stats stats;
  uint8_t out[LP2P_DNS_NAME_MAX + 32];
  uint8_t scratch[LP2P_DNS_MSG_MAX];
};

void lp2p_dns_config_default(lp2p_dns_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->timeout_ns = 2 * LP2P_NS_PER_S;
  cfg->retries = 1;
  cfg->answers_max = 16;
  cfg->queries_max = 16;
  cfg->lookups_max = 32;
  cfg->hosts_bytes_max = 64 * 1024;
}

int lp2p_dns_res_new(lp2p_dns_res **out, const lp2p_dns_config *cfg,
                     const lp2p_mem *mem, const lp2p_rng *rng) {
  if (!out)
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_dns_config def;
  if (!cfg) {
    lp2p_dns_config_default(&def);
    cfg = &def;
  }
  if (!rng || !rng->fill || !cfg->timeout_ns || cfg->retries > 8 ||
      !cfg->answers_max || cfg->answers_max > 1024 || !cfg->queries_max ||
      cfg->queries_max > 1024 || !cfg->lookups_max ||
      cfg->lookups_max > 65536 || cfg->hosts_bytes_max > (1u << 26))
    return LP2P_ERR_INVAL;
  lp2p_dns_res *r = lp2p_mem_calloc(mem, 1, sizeof *r);
  if (!r)
    return LP2P_ERR_NOMEM;
  r->mem = mem;
  r->rng = *rng;
  r->cfg = *cfg;
  *out = r;
  return 0;
}

static void lookup_free(lp2p_dns_res *r, dl *lk) {
  while (lk->qs) {
    dq *q = lk->qs;
    lk->qs = q->next;
    if (r->peeked == q)
      r->peeked = NULL;
    lp2p_mem_free(r->mem, q);
  }
  lp2p_mem_free(r->mem, lk->res);
  lp2p_mem_free(r->mem, lk);
}

static void release_returned(lp2p_dns_res *r) {
  if (r->returned)
    lookup_free(r, r->returned);
  r->returned = NULL;
}

void lp2p_dns_res_free(lp2p_dns_res *r) {
  if (!r)
    return;
  release_returned(r);
  while (r->lookups) {
    dl *lk = r->lookups;
    r->lookups = lk->next;
    lookup_free(r, lk);
  }
  lp2p_mem_free(r->mem, r->hosts);
  lp2p_mem_free(r->mem, r);
}

int lp2p_dns_res_configure(lp2p_dns_res *r, const char *hosts,
                           size_t hosts_len, const lp2p_sockaddr *servers,
                           size_t nservers) {
  if (!r || (!hosts && hosts_len) || (!servers && nservers))
    return LP2P_ERR_INVAL;
  if (hosts_len > r->cfg.hosts_bytes_max) {
    /* Keep whole lines only: a cut line could name a wrong address. */
    hosts_len = r->cfg.hosts_bytes_max;
    while (hosts_len && hosts[hosts_len - 1] != '\n')
      hosts_len--;
  }
  char *copy = NULL;
  if (hosts_len) {
    copy = lp2p_mem_malloc(r->mem, hosts_len);
    if (!copy)
      return LP2P_ERR_NOMEM;
    memcpy(copy, hosts, hosts_len);
  }
  lp2p_mem_free(r->mem, r->hosts);
  r->hosts = copy;
  r->hosts_len = hosts_len;
  r->nservers = 0;
  for (size_t i = 0; i < nservers && r->nservers < LP2P_DNS_SERVERS_MAX; i++)
    if (servers[i].family == 4 || servers[i].family == 6)
      r->servers[r->nservers++] = servers[i];
  return 0;
}

/* ---- results --------------------------------------------------------------- */

static void note_err(dl *lk, int err) {
  /* A specific reason beats "not found": a timeout or a bound says more
   * about why an existing name gave nothing. */
  if (!lk->err || lk->err == LP2P_ERR_NOT_FOUND)
    lk->err = err;
}

static void add_result(lp2p_dns_res *r, dl *lk, const lp2p_maddr *m) {
  for (uint32_t i = 0; i < lk->nres; i++)
    if (lp2p_maddr_equal(&lk->res[i], m))
      return;
  if (lk->nres >= r->cfg.answers_max) {
    r->stats.answers_dropped++;
    return;
  }
  lk->res[lk->nres++] = *m;
}

/* Replace tmpl's component [off, off + size) with /ip4/<ip> or /ip6/<ip>. */
static int splice_ip(const lp2p_maddr *tmpl, size_t off, size_t size,
                     uint8_t fam, const uint8_t *ip, lp2p_maddr *out) {
  uint8_t comp[17];
  size_t cl = fam == 4 ? 5 : 17;
  comp[0] = fam == 4 ? LP2P_MA_IP4 : LP2P_MA_IP6; /* one-byte varints */
  memcpy(comp + 1, ip, cl - 1);
  if (tmpl->len - size + cl > LP2P_MADDR_MAX)
    return LP2P_ERR_LIMIT;
  uint8_t b[LP2P_MADDR_MAX];
  memcpy(b, tmpl->bytes, off);
  memcpy(b + off, comp, cl);
  memcpy(b + off + cl, tmpl->bytes + off + size, tmpl->len - off - size);
  return lp2p_maddr_from_bytes(out, b, tmpl->len - size + cl);
}

/* ---- queries --------------------------------------------------------------- */

static dq *query_by_id(const lp2p_dns_res *r, uint16_t id) {
  for (dl *lk = r->lookups; lk; lk = lk->next)
    for (dq *q = lk->qs; q; q = q->next)
      if (q->id == id)
        return q;
  return NULL;
}

static uint16_t fresh_id(lp2p_dns_res *r) {
  uint16_t id = 0;
  for (int i = 0; i < 16; i++) {
    uint8_t b[2];
    r->rng.fill(r->rng.ctx, b, 2);
    id = (uint16_t)(b[0] << 8 | b[1]);
    if (!query_by_id(r, id))
      break;
  }
  return id;
}

static void send_attempt(lp2p_dns_res *r, dq *q, lp2p_tstamp now) {
  q->server = (uint8_t)((q->attempts) % r->nservers);
  q->asked |= 1u << q->server;
  q->attempts++;
  q->want_send = 1;
  q->deadline = now + r->cfg.timeout_ns < now ? LP2P_TSTAMP_NONE - 1
                                               : now + r->cfg.timeout_ns;
}

/* Ask `name`/`qtype` for tmpl's component [off, off + size). */
static void query_new(lp2p_dns_res *r, dl *lk, lp2p_tstamp now,
                      const lp2p_maddr *tmpl, size_t off, size_t size,
                      uint8_t depth, uint8_t cnames, const char *name,
                      size_t name_len, uint16_t qtype) {
  if (!r->nservers) {
    note_err(lk, LP2P_ERR_NO_RESOLVER);
    return;
  }
  if (lk->issued >= r->cfg.queries_max) {
    note_err(lk, LP2P_ERR_LIMIT);
    return;
  }
  size_t ql;
  if (name_len > LP2P_DNS_NAME_MAX ||
      lp2p_dns_query_encode(0, name, name_len, qtype, r->out, sizeof r->out,
                            &ql) != 0) {
    note_err(lk, LP2P_ERR_PARSE);
    return;
  }
  dq *q = lp2p_mem_calloc(r->mem, 1, sizeof *q);
  if (!q) {
    note_err(lk, LP2P_ERR_NOMEM);
    return;
  }
  lk->issued++;
  q->lk = lk;
  q->tmpl = *tmpl;
  q->comp_off = (uint16_t)off;
  q->comp_size = (uint16_t)size;
  q->depth = depth;
  q->cnames = cnames;
  q->qtype = qtype;
  q->name_len = (uint8_t)name_len;
  memcpy(q->name, name, name_len);
  q->id = fresh_id(r);
  send_attempt(r, q, now);
  q->next = lk->qs;
  lk->qs = q;
}

static void query_end(lp2p_dns_res *r, dq *q, int err) {
  dl *lk = q->lk;
  if (err)
    note_err(lk, err);
  for (dq **pp = &lk->qs; *pp; pp = &(*pp)->next)
    if (*pp == q) {
      *pp = q->next;
      break;
    }
  if (r->peeked == q)
    r->peeked = NULL;
  lp2p_mem_free(r->mem, q);
  if (!lk->qs)
    lk->done = 1;
}

/* ---- one multiaddr ----------------------------------------------------------- */

static const uint8_t loop4[16] = {127, 0, 0, 1};
static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 1};

/* Resolve `ma` (at /dnsaddr level `depth`) into lk: a result, answers from
 * the hosts table, or queries. */
static void resolve_one(lp2p_dns_res *r, dl *lk, lp2p_tstamp now,
                        const lp2p_maddr *ma, uint8_t depth) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  lp2p_maddr_iter_init(&it, ma);
  int rc;
  while ((rc = lp2p_maddr_next(&it, &c)) == 1)
    if (c.code == LP2P_MA_DNS || c.code == LP2P_MA_DNS4 ||
        c.code == LP2P_MA_DNS6 || c.code == LP2P_MA_DNSADDR)
      break;
  if (rc != 1) {
    if (rc == 0)
      add_result(r, lk, ma);
    else
      note_err(lk, LP2P_ERR_PARSE);
    return;
  }
  const char *name = (const char *)c.value;
  if (c.code == LP2P_MA_DNSADDR) {
    if (depth >= LP2P_DNSADDR_DEPTH_MAX) {
      note_err(lk, LP2P_ERR_LIMIT);
      return;
    }
    char q[LP2P_DNS_NAME_MAX + 1];
    if (c.len + 9 > LP2P_DNS_NAME_MAX) {
      note_err(lk, LP2P_ERR_PARSE);
      return;
    }
    memcpy(q, "_dnsaddr.", 9);
    memcpy(q + 9, name, c.len);
    query_new(r, lk, now, ma, c.offset, c.size, depth, 0, q, c.len + 9,
              LP2P_DNS_TYPE_TXT);
    return;
  }
  unsigned fams = c.code == LP2P_MA_DNS4   ? LP2P_DNS_FAM4
                  : c.code == LP2P_MA_DNS6 ? LP2P_DNS_FAM6
                                           : LP2P_DNS_FAM4 | LP2P_DNS_FAM6;
  uint8_t ips[8][16], fam[8];
  size_t k = dns_hosts_find(r->hosts, r->hosts_len, name, c.len, fams, ips,
                            fam, 8);
  if (!k && dns_name_eq(name, c.len, "localhost", 9)) {
    /* RFC 6761 6.3: localhost is the loopback, even without a hosts file. */
    if (fams & LP2P_DNS_FAM4) {
      memcpy(ips[k], loop4, 16);
      fam[k++] = 4;
    }
    if (fams & LP2P_DNS_FAM6) {
      memcpy(ips[k], loop6, 16);
      fam[k++] = 6;
    }
  }
  if (k) {
    for (size_t i = 0; i < k; i++) {
      lp2p_maddr m;
      if (splice_ip(ma, c.offset, c.size, fam[i], ips[i], &m) == 0)
        add_result(r, lk, &m);
    }
    return;
  }
  if (fams & LP2P_DNS_FAM4)
    query_new(r, lk, now, ma, c.offset, c.size, depth, 0, name, c.len,
              LP2P_DNS_TYPE_A);
  if (fams & LP2P_DNS_FAM6)
    query_new(r, lk, now, ma, c.offset, c.size, depth, 0, name, c.len,
              LP2P_DNS_TYPE_AAAA);
}

int lp2p_dns_res_resolve(lp2p_dns_res *r, lp2p_tstamp now, uint64_t tag,
                         const lp2p_maddr *ma) {
  if (!r || !ma)
    return LP2P_ERR_INVAL;
  release_returned(r);
  for (dl *lk = r->lookups; lk; lk = lk->next)
    if (lk->tag == tag)
      return LP2P_ERR_INVAL;
  if (r->nlookups >= r->cfg.lookups_max)
    return LP2P_ERR_LIMIT;
  dl *lk = lp2p_mem_calloc(r->mem, 1, sizeof *lk);
  if (!lk)
    return LP2P_ERR_NOMEM;
  lk->res = lp2p_mem_malloc(r->mem, r->cfg.answers_max * sizeof *lk->res);
  if (!lk->res) {
    lp2p_mem_free(r->mem, lk);
    return LP2P_ERR_NOMEM;
  }
  lk->tag = tag;
  lk->next = r->lookups;
  r->lookups = lk;
  r->nlookups++;
  resolve_one(r, lk, now, ma, 0);
  if (!lk->qs)
    lk->done = 1;
  return 0;
}

int lp2p_dns_res_cancel(lp2p_dns_res *r, uint64_t tag) {
  if (!r)
    return LP2P_ERR_INVAL;
  for (dl **pp = &r->lookups; *pp; pp = &(*pp)->next)
    if ((*pp)->tag == tag) {
      dl *lk = *pp;
      *pp = lk->next;
      r->nlookups--;
      lookup_free(r, lk);
      return 0;
    }
  return LP2P_ERR_NOT_FOUND;
}

/* ---- output ----------------------------------------------------------------- */

static unsigned fam_bit(const lp2p_sockaddr *sa) {
  return sa->family == 4 ? LP2P_DNS_FAM4 : LP2P_DNS_FAM6;
}

static dq *next_to_send(const lp2p_dns_res *r, unsigned fams) {
  for (dl *lk = r->lookups; lk; lk = lk->next)
    for (dq *q = lk->qs; q; q = q->next)
      if (q->want_send && q->server < r->nservers &&
          (fam_bit(&r->servers[q->server]) & fams))
        return q;
  return NULL;
}

unsigned lp2p_dns_res_out_families(const lp2p_dns_res *r) {
  unsigned f = 0;
  if (!r)
    return 0;
  for (dl *lk = r->lookups; lk; lk = lk->next)
    for (dq *q = lk->qs; q; q = q->next)
      if (q->want_send && q->server < r->nservers)
        f |= fam_bit(&r->servers[q->server]);
  return f;
}

const uint8_t *lp2p_dns_res_out_peek(lp2p_dns_res *r, unsigned fams,
                                     lp2p_sockaddr *to, size_t *len) {
  if (len)
    *len = 0;
  if (!r || !to || !len)
    return NULL;
  release_returned(r);
  dq *q = next_to_send(r, fams);
  r->peeked = q;
  if (!q)
    return NULL;
  if (lp2p_dns_query_encode(q->id, q->name, q->name_len, q->qtype, r->out,
                            sizeof r->out, len) != 0) {
    *len = 0; /* checked when the query was made; cannot happen */
    return NULL;
  }
  *to = r->servers[q->server];
  return r->out;
}

void lp2p_dns_res_out_consume(lp2p_dns_res *r) {
  if (!r || !r->peeked)
    return;
  r->peeked->want_send = 0;
  r->peeked = NULL;
  r->stats.queries_sent++;
}

/* ---- input ------------------------------------------------------------------ */

static int same_addr(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static int from_asked(const lp2p_dns_res *r, const dq *q,
                      const lp2p_sockaddr *from) {
  for (size_t i = 0; i < r->nservers; i++)
    if ((q->asked & (1u << i)) && same_addr(&r->servers[i], from))
      return 1;
  return 0;
}

/* 1 when the owner name at `off` is `name`. */
static int owner_is(const lp2p_dns_resp *pr, size_t off, const char *name,
                    size_t nl) {
  char b[LP2P_DNS_NAME_MAX];
  size_t bl;
  return lp2p_dns_name_decode(pr->msg, pr->msg_len, off, b, sizeof b, &bl) ==
             0 &&
         dns_name_eq(b, bl, name, nl);
}

/* Walk the CNAME chain from q's name within the answer section (RFC 1035
 * 3.6.2: the answer holds the CNAME and then the target's records). `cur`
 * gets the final name. Returns the hops taken, or -1 past the bound. */
static int cname_chain(const lp2p_dns_resp *start, const dq *q, char *cur,
                       size_t *cl) {
  memcpy(cur, q->name, q->name_len);
  *cl = q->name_len;
  int hops = 0;
  for (;;) {
    lp2p_dns_resp pr = *start;
    lp2p_dns_rr rr;
    int moved = 0;
    for (;;) {
      size_t owner = pr.pos;
      if (lp2p_dns_resp_next(&pr, &rr) != 1)
        break;
      if (rr.type != LP2P_DNS_TYPE_CNAME || rr.rclass != 1 ||
          !owner_is(&pr, owner, cur, *cl))
        continue;
      char t[LP2P_DNS_NAME_MAX];
      size_t tl;
      if (lp2p_dns_name_decode(pr.msg, pr.msg_len, (size_t)(rr.data - pr.msg),
                               t, sizeof t, &tl) != 0 || !tl)
        continue;
      if (++hops + q->cnames > LP2P_DNS_CNAME_MAX)
        return -1;
      memcpy(cur, t, tl);
      *cl = tl;
      moved = 1;
      break;
    }
    if (!moved)
      return hops;
  }
}

static void peer_of(const lp2p_maddr *m, const uint8_t **id, size_t *il) {
  if (lp2p_maddr_get_peer_id(m, id, il) != 0) {
    *id = NULL;
    *il = 0;
  }
}

/* One dnsaddr TXT record: "dnsaddr=<multiaddr>" (multiaddr spec). */
static void dnsaddr_record(lp2p_dns_res *r, dq *q, lp2p_tstamp now,
                           const lp2p_dns_rr *rr) {
  char txt[LP2P_DNS_TXT_MAX];
  size_t tl;
  lp2p_maddr m;
  if (lp2p_dns_txt_join(rr, txt, sizeof txt, &tl) != 0 || tl < 8 ||
      memcmp(txt, "dnsaddr=", 8) != 0 ||
      lp2p_maddr_parse(&m, txt + 8, tl - 8) != 0)
    return;
  const uint8_t *want, *got;
  size_t wl, gl;
  peer_of(&q->tmpl, &want, &wl);
  peer_of(&m, &got, &gl);
  if (want && (gl != wl || memcmp(want, got, wl) != 0))
    return; /* not the peer asked for */
  resolve_one(r, q->lk, now, &m, (uint8_t)(q->depth + 1));
}

static void answer(lp2p_dns_res *r, dq *q, lp2p_tstamp now,
                   const lp2p_dns_resp *start) {
  char cur[LP2P_DNS_NAME_MAX];
  size_t cl;
  int hops = cname_chain(start, q, cur, &cl);
  if (hops < 0) {
    query_end(r, q, LP2P_ERR_LIMIT);
    return;
  }
  lp2p_dns_resp pr = *start;
  lp2p_dns_rr rr;
  int found = 0;
  for (;;) {
    size_t owner = pr.pos;
    int rc = lp2p_dns_resp_next(&pr, &rr);
    if (rc != 1)
      break; /* a malformed tail ends the section; what came before stays */
    if (rr.type != q->qtype || rr.rclass != 1 ||
        !owner_is(&pr, owner, cur, cl))
      continue;
    found = 1;
    if (q->qtype == LP2P_DNS_TYPE_TXT) {
      dnsaddr_record(r, q, now, &rr);
    } else {
      lp2p_maddr m;
      uint8_t ip[16] = {0};
      memcpy(ip, rr.data, rr.len);
      if (splice_ip(&q->tmpl, q->comp_off, q->comp_size,
                    q->qtype == LP2P_DNS_TYPE_A ? 4 : 6, ip, &m) == 0)
        add_result(r, q->lk, &m);
    }
  }
  if (!found && hops > 0) {
    /* The server gave the alias but not its records: ask for the target
     * (RFC 1034 3.6.2), still within the CNAME bound. */
    query_new(r, q->lk, now, &q->tmpl, q->comp_off, q->comp_size, q->depth,
              (uint8_t)(q->cnames + hops), cur, cl, q->qtype);
  }
  query_end(r, q, found ? 0 : LP2P_ERR_NOT_FOUND);
}

void lp2p_dns_res_feed(lp2p_dns_res *r, lp2p_tstamp now,
                       const lp2p_sockaddr *from, const uint8_t *p,
                       size_t n) {
  if (!r)
    return;
  release_returned(r);
  dq *q = (p && n >= 12) ? query_by_id(r, (uint16_t)(p[0] << 8 | p[1]))
                         : NULL;
  if (!q || !from || !from_asked(r, q, from) || n > LP2P_DNS_MSG_MAX) {
    r->stats.ignored++;
    return;
  }
  lp2p_dns_resp pr;
  int rc = lp2p_dns_resp_parse(&pr, p, n, q->name, q->name_len, q->qtype);
  if (rc == LP2P_ERR_TRUNCATED) {
    /* TC (RFC 1035 4.1.1): the answer did not fit. The question must
     * still match before it may end the query; we do not retry over TCP. */
    memcpy(r->scratch, p, n);
    r->scratch[2] &= (uint8_t)~0x02;
    rc = lp2p_dns_resp_parse(&pr, r->scratch, n, q->name, q->name_len,
                             q->qtype);
    if (rc == 0) {
      query_end(r, q, LP2P_ERR_TRUNCATED);
      return;
    }
  }
  if (rc != 0) {
    r->stats.ignored++;
    return;
  }
  if (pr.rcode == 3) { /* NXDOMAIN, RFC 1035 4.1.1 */
    query_end(r, q, LP2P_ERR_NOT_FOUND);
    return;
  }
  if (pr.rcode != 0) {
    /* SERVFAIL, REFUSED ...: the next server may do better. */
    if (q->attempts <= r->cfg.retries)
      send_attempt(r, q, now);
    else
      query_end(r, q, LP2P_ERR_UNREACHABLE);
    return;
  }
  answer(r, q, now, &pr);
}

/* ---- time ------------------------------------------------------------------- */

lp2p_tstamp lp2p_dns_res_next_timeout(const lp2p_dns_res *r) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  if (!r)
    return t;
  for (dl *lk = r->lookups; lk; lk = lk->next) {
    if (lk->done)
      return 0; /* a result waits for poll_done */
    for (dq *q = lk->qs; q; q = q->next)
      if (q->deadline < t)
        t = q->deadline;
  }
  return t;
}

void lp2p_dns_res_handle_timeout(lp2p_dns_res *r, lp2p_tstamp now) {
  if (!r)
    return;
  release_returned(r);
  for (dl *lk = r->lookups; lk; lk = lk->next) {
    dq *q = lk->qs;
    while (q) {
      dq *next = q->next;
      if (q->deadline <= now) {
        if (q->attempts <= r->cfg.retries && r->nservers)
          send_attempt(r, q, now);
        else
          query_end(r, q, LP2P_ERR_TIMEOUT);
      }
      q = next;
    }
  }
}

int lp2p_dns_res_poll_done(lp2p_dns_res *r, uint64_t *tag, int *err,
                           const lp2p_maddr **addrs, size_t *n) {
  if (!r)
    return 0;
  release_returned(r);
  for (dl **pp = &r->lookups; *pp; pp = &(*pp)->next) {
    dl *lk = *pp;
    if (!lk->done)
      continue;
    *pp = lk->next;
    r->nlookups--;
    r->returned = lk;
    if (tag)
      *tag = lk->tag;
    if (err)
      *err = lk->nres ? 0 : (lk->err ? lk->err : LP2P_ERR_NOT_FOUND);
    if (addrs)
      *addrs = lk->res;
    if (n)
      *n = lk->nres;
    return 1;
  }
  return 0;
}

void lp2p_dns_res_stats_get(const lp2p_dns_res *r, lp2p_dns_res_stats *out) {
  if (r && out)
    *out = r->stats;
}
