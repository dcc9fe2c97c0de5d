/* RFC 3339 date-times as IPNS uses them (ipns-record.md "Validity":
 * "1970-01-01T00:00:00.000000001Z"), to and from unix nanoseconds. Civil
 * date arithmetic from the proleptic Gregorian calendar (days since
 * 1970-01-01 by the usual era/day-of-era decomposition). */
#include <string.h>

#include "lp2p/ipns.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t *pos, size_t k,
                  unsigned *out) {
  unsigned v = 0;
  if (n - *pos < k)
    return -1;
  for (size_t i = 0; i < k; i++) {
    char c = s[(*pos)++];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (unsigned)(c - '0');
  }
  *out = v;
  return 0;
}

static int lit(const char *s, size_t n, size_t *pos, const char *set) {
  if (*pos >= n || !strchr(set, s[*pos]) || !s[*pos])
    return -1;
  (*pos)++;
  return 0;
}

int lp2p_rfc3339_parse(const char *s, size_t n, uint64_t *unix_ns) {
  size_t pos = 0;
  unsigned y, mo, d, h, mi, sec;
  if (!s || digits(s, n, &pos, 4, &y) || lit(s, n, &pos, "-") ||
      digits(s, n, &pos, 2, &mo) || lit(s, n, &pos, "-") ||
      digits(s, n, &pos, 2, &d) || lit(s, n, &pos, "Tt ") ||
      digits(s, n, &pos, 2, &h) || lit(s, n, &pos, ":") ||
      digits(s, n, &pos, 2, &mi) || lit(s, n, &pos, ":") ||
      digits(s, n, &pos, 2, &sec))
    return LP2P_ERR_PARSE;
  static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
      sec > 60)
    return LP2P_ERR_PARSE;
  if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    return LP2P_ERR_PARSE;
  if (sec == 60)
    sec = 59; /* a leap second is the last second of its minute here */
  uint64_t frac = 0;
  if (pos < n && s[pos] == '.') {
    pos++;
    size_t nd = 0;
    while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
      if (nd < 9)
        frac = frac * 10 + (uint64_t)(s[pos] - '0');
      nd++;
      pos++;
    }
    if (nd == 0 || nd > 64)
      return LP2P_ERR_PARSE;
    for (size_t i = nd; i < 9; i++)
      frac *= 10;
  }
  int64_t off = 0;
  if (pos < n && (s[pos] == 'Z' || s[pos] == 'z')) {
    pos++;
  } else if (pos < n && (s[pos] == '+' || s[pos] == '-')) {
    int neg = s[pos++] == '-';
    unsigned oh, om;
    if (digits(s, n, &pos, 2, &oh) || lit(s, n, &pos, ":") ||
        digits(s, n, &pos, 2, &om) || oh > 23 || om > 59)
      return LP2P_ERR_PARSE;
    off = (int64_t)(oh * 3600 + om * 60);
    if (neg)
      off = -off;
  } else {
    return LP2P_ERR_PARSE;
  }
  if (pos != n)
    return LP2P_ERR_PARSE;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                 off;
  /* uint64 nanoseconds reach 2554-07-21. */
  if (secs < 0) {
    *unix_ns = 0;
    return 0;
  }
  if ((uint64_t)secs > (UINT64_MAX - frac) / LP2P_NS_PER_S)
    return LP2P_ERR_PARSE;
  *unix_ns = (uint64_t)secs * LP2P_NS_PER_S + frac;
  return 0;
}

static void put_num(char *o, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void lp2p_rfc3339_format(uint64_t unix_ns, char out[32]) {
  uint64_t secs = unix_ns / LP2P_NS_PER_S;
  int64_t y;
  unsigned m, d;
  civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
  uint64_t r = secs % 86400;
  put_num(out, (uint64_t)y, 4);
  out[4] = '-';
  put_num(out + 5, m, 2);
  out[7] = '-';
  put_num(out + 8, d, 2);
  out[10] = 'T';
  put_num(out + 11, r / 3600, 2);
  out[13] = ':';
  put_num(out + 14, r / 60 % 60, 2);
  out[16] = ':';
  put_num(out + 17, r % 60, 2);
  out[19] = '.';
  put_num(out + 20, unix_ns % LP2P_NS_PER_S, 9);
  out[29] = 'Z';
  out[30] = 0;
}
