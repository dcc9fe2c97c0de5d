/* Transparent huge pages for the simulator's heap (hugepages.c). */
#ifndef LP2P_SIM_HUGEPAGES_H
#define LP2P_SIM_HUGEPAGES_H

/* Runs this program again with glibc's malloc asking for transparent huge
 * pages, unless GLIBC_TUNABLES already says either way. Returns only when
 * it did not (or could not) run it again. */
void sim_hugepages_reexec(char **argv);

#endif
