/* Error table: one X-macro (include/lp2p/common.h) gives codes, names,
 * texts and fatality, so they can never disagree. */
#include "lp2p/common.h"

const char *lp2p_strerror(int err) {
  switch (err) {
#define X_(name, value, fatal, text)                                           \
  case value:                                                                  \
    return text;
    LP2P_ERRORS(X_)
#undef X_
  default:
    return "unknown error";
  }
}

const char *lp2p_errname(int err) {
  switch (err) {
#define X_(name, value, fatal, text)                                           \
  case value:                                                                  \
    return "LP2P_ERR_" #name;
    LP2P_ERRORS(X_)
#undef X_
  default:
    return "LP2P_ERR_UNKNOWN";
  }
}

int lp2p_err_is_fatal(int err) {
  switch (err) {
#define X_(name, value, fatal, text)                                           \
  case value:                                                                  \
    return fatal;
    LP2P_ERRORS(X_)
#undef X_
  default:
    return 1;
  }
}

/* VERSION in the Makefile is the one source (also the .so name and
 * lp2p.pc), passed in as LP2P_VERSION_TEXT. */
#ifndef LP2P_VERSION_TEXT
#error "LP2P_VERSION_TEXT is defined by the Makefile from VERSION"
#endif
const char *lp2p_version(void) { return LP2P_VERSION_TEXT; }
