/* The expat wrapper the description and SOAP parsers share: expat with the
 * caller's allocator, a heap bound, an element depth bound, no DTD, and
 * element names reduced to their local part (devices choose their own
 * namespace prefixes: s:Envelope, SOAP-ENV:Envelope, u:..., m:...). */
#ifndef LP2P_PROTO_UPNP_XML_H
#define LP2P_PROTO_UPNP_XML_H

#include "lp2p/common.h"

/* Expat's heap for one document: far above what the 128 KiB input cap
 * needs (a few times the input), small enough that no document can make
 * it grow without bound. */
#define UPNP_XML_HEAP_MAX (2u * 1024u * 1024u)

/* Handlers return 0 to go on or an LP2P_ERR_* to stop the parse with it.
 * `depth` is 1 for the root element. */
typedef struct upnp_xml_cb {
  int (*start)(void *ud, const char *local, unsigned depth);
  int (*text)(void *ud, const char *s, size_t n);
  int (*end)(void *ud, const char *local, unsigned depth);
} upnp_xml_cb;

/* Parses the whole document. Returns 0, a handler's error, or
 * LP2P_ERR_PARSE (malformed, a DOCTYPE), LP2P_ERR_LIMIT (over
 * LP2P_UPNP_DESC_MAX bytes, LP2P_UPNP_XML_DEPTH_MAX, or the heap bound),
 * LP2P_ERR_NOMEM. */
int upnp_xml_parse(const lp2p_mem *mem, const uint8_t *xml, size_t n,
                   const upnp_xml_cb *cb, void *ud);

#endif
