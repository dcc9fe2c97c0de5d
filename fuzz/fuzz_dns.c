/* Fuzzes the DNS response parser, name decompression and TXT joining. */
#include <stdlib.h>

#include "lp2p/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_dns_resp r;
  if (lp2p_dns_resp_parse(&r, data, size, NULL, 0, 0) != 0)
    return 0;
  lp2p_dns_rr rr;
  char buf[LP2P_DNS_TXT_MAX];
  size_t n;
  int rc;
  while ((rc = lp2p_dns_resp_next(&r, &rr)) == 1) {
    if (rr.type == LP2P_DNS_TYPE_TXT &&
        lp2p_dns_txt_join(&rr, buf, sizeof buf, &n) == 0 && n > sizeof buf)
      abort();
    if (rr.type == LP2P_DNS_TYPE_CNAME &&
        lp2p_dns_name_decode(data, size, (size_t)(rr.data - data), buf,
                             LP2P_DNS_NAME_MAX, &n) == 0 &&
        n > LP2P_DNS_NAME_MAX)
      abort();
  }
  return 0;
}
