/* expat behind the injected allocator (see upnp_xml.h).
 *
 * XML_Memory_Handling_Suite has no user-data argument, so the allocator of
 * the parse in progress lives in a thread-local that upnp_xml_parse sets
 * for exactly the span of its expat calls (create, parse, free) and then
 * restores: a parse never outlives one call, so no allocation can see
 * another parse's allocator. Each block carries its size in a header,
 * because lp2p_mem may lack realloc and then needs the old size, and
 * because the live total is what the heap bound counts. */
#include <expat.h>
#include <string.h>

#include "lp2p/upnp.h"
#include "proto/upnp/upnp_xml.h"

typedef struct xml_heap {
  const lp2p_mem *mem;
  size_t live;
  int over;        /* an allocation was refused by the bound */
} xml_heap;

static _Thread_local xml_heap *tl_heap;

#define HDR 16u /* keeps expat's blocks 16-byte aligned */

static void *x_malloc(size_t n) {
  xml_heap *h = tl_heap;
  if (!h || n > UPNP_XML_HEAP_MAX - h->live) {
    if (h)
      h->over = 1;
    return NULL;
  }
  uint8_t *p = lp2p_mem_malloc(h->mem, n + HDR);
  if (!p)
    return NULL;
  memcpy(p, &n, sizeof n);
  h->live += n;
  return p + HDR;
}

static void x_free(void *q) {
  xml_heap *h = tl_heap;
  if (!q || !h)
    return;
  uint8_t *p = (uint8_t *)q - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  h->live -= n;
  lp2p_mem_free(h->mem, p);
}

static void *x_realloc(void *q, size_t n) {
  xml_heap *h = tl_heap;
  if (!q)
    return x_malloc(n);
  if (!h)
    return NULL;
  uint8_t *p = (uint8_t *)q - HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  if (n > old && n - old > UPNP_XML_HEAP_MAX - h->live) {
    h->over = 1;
    return NULL;
  }
  uint8_t *np = lp2p_mem_realloc(h->mem, p, old + HDR, n + HDR);
  if (!np)
    return NULL;
  memcpy(np, &n, sizeof n);
  h->live = h->live - old + n;
  return np + HDR;
}

typedef struct xml_run {
  XML_Parser xp;
  const upnp_xml_cb *cb;
  void *ud;
  unsigned depth;
  int err;
} xml_run;

static void stop(xml_run *r, int err) {
  if (!r->err)
    r->err = err;
  XML_StopParser(r->xp, XML_FALSE);
}

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **attrs) {
  (void)attrs;
  xml_run *r = ud;
  if (r->err)
    return;
  if (++r->depth > LP2P_UPNP_XML_DEPTH_MAX) {
    stop(r, LP2P_ERR_LIMIT);
    return;
  }
  int rc = r->cb->start ? r->cb->start(r->ud, local_name(name), r->depth) : 0;
  if (rc)
    stop(r, rc);
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  xml_run *r = ud;
  if (r->err)
    return;
  int rc = r->cb->end ? r->cb->end(r->ud, local_name(name), r->depth) : 0;
  r->depth--;
  if (rc)
    stop(r, rc);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  xml_run *r = ud;
  if (r->err || len <= 0 || !r->cb->text)
    return;
  int rc = r->cb->text(r->ud, s, (size_t)len);
  if (rc)
    stop(r, rc);
}

/* No device description or SOAP body has a DTD; refusing it rules out
 * entity expansion and external entities altogether. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal;
  stop(ud, LP2P_ERR_PARSE);
}

int upnp_xml_parse(const lp2p_mem *mem, const uint8_t *xml, size_t n,
                   const upnp_xml_cb *cb, void *ud) {
  if (n > LP2P_UPNP_DESC_MAX)
    return LP2P_ERR_LIMIT;
  if (n == 0)
    return LP2P_ERR_PARSE;
  xml_heap heap = {mem, 0, 0};
  xml_heap *saved = tl_heap;
  tl_heap = &heap;
  static const XML_Memory_Handling_Suite suite = {x_malloc, x_realloc,
                                                  x_free};
  xml_run run = {NULL, cb, ud, 0, 0};
  int rc = 0;
  run.xp = XML_ParserCreate_MM(NULL, &suite, NULL);
  if (!run.xp) {
    rc = heap.over ? LP2P_ERR_LIMIT : LP2P_ERR_NOMEM;
    goto out;
  }
  /* A fixed salt keeps expat from drawing entropy of its own (DESIGN 1);
   * hash flooding is moot within the input and heap bounds. */
  XML_SetHashSalt(run.xp, 0x6c703270UL);
  XML_SetUserData(run.xp, &run);
  XML_SetElementHandler(run.xp, on_start, on_end);
  XML_SetCharacterDataHandler(run.xp, on_text);
  XML_SetStartDoctypeDeclHandler(run.xp, on_doctype);
  if (XML_Parse(run.xp, (const char *)xml, (int)n, XML_TRUE) !=
      XML_STATUS_OK) {
    if (run.err)
      rc = run.err;
    else if (XML_GetErrorCode(run.xp) == XML_ERROR_NO_MEMORY)
      rc = heap.over ? LP2P_ERR_LIMIT : LP2P_ERR_NOMEM;
    else
      rc = LP2P_ERR_PARSE;
  } else if (run.err) {
    rc = run.err;
  }
  XML_ParserFree(run.xp);
out:
  tl_heap = saved;
  return rc;
}
