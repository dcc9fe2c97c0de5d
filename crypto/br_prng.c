/* br_prng_class over lp2p_rng (see br_prng.h). */
#include "crypto/br_prng.h"

static void prng_init(const br_prng_class **ctx, const void *params,
                      const void *seed, size_t seed_len) {
  /* Seeding happens through lp2p_br_prng_init; BearSSL's keygen code never
   * calls init on a caller-provided PRNG. */
  (void)ctx;
  (void)params;
  (void)seed;
  (void)seed_len;
}

static void prng_generate(const br_prng_class **ctx, void *out, size_t len) {
  const lp2p_br_prng *p = (const lp2p_br_prng *)(const void *)ctx;
  if (len)
    p->rng->fill(p->rng->ctx, out, len);
}

static void prng_update(const br_prng_class **ctx, const void *seed,
                        size_t seed_len) {
  /* The injected RNG is the only entropy source by design. */
  (void)ctx;
  (void)seed;
  (void)seed_len;
}

static const br_prng_class prng_vtable = {sizeof(lp2p_br_prng), prng_init,
                                          prng_generate, prng_update};

void lp2p_br_prng_init(lp2p_br_prng *p, const lp2p_rng *rng) {
  p->vtable = &prng_vtable;
  p->rng = rng;
}
