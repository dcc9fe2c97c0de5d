/* punch: the persistent identity (issue 14 "Identity"). The key file
 * holds the libp2p PrivateKey protobuf (peer-ids spec "Keys"), the same
 * bytes `lp2p keygen` writes, so `lp2p id` reads it too. A missing file
 * is created before anything else: parents made (0700), the key written
 * to a fresh temporary file (O_EXCL, 0600) and fsynced, then link(2)ed
 * to the final name, which fails if the name exists: no reader ever sees
 * a partial key and an existing file is never overwritten (if another
 * punch won the race, its key is the one used). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp2p/peerid.h"
#include "tools/punch/punch.h"

#define KEY_FILE_MAX 65536

static void err_line(const char *fmt, const char *path, int e) {
  fprintf(stderr, "punch: ");
  fprintf(stderr, fmt, path);
  fprintf(stderr, ": %s\n", strerror(e));
}

static int mkdirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n >= sizeof buf)
    return ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf)
    return 0;
  *slash = 0;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return errno;
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST)
    return errno;
  return 0;
}

static int load(const char *path, lp2p_privkey *key) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  uint8_t *buf = malloc(KEY_FILE_MAX);
  ssize_t n = buf ? read(fd, buf, KEY_FILE_MAX) : -1;
  int e = errno;
  close(fd);
  if (n < 0) {
    free(buf);
    err_line("cannot read the key file %s", path, buf ? e : ENOMEM);
    return 1;
  }
  int rc = lp2p_privkey_unmarshal(key, buf, (size_t)n);
  lp2p_memzero(buf, KEY_FILE_MAX);
  free(buf);
  if (rc) {
    fprintf(stderr,
            "punch: %s is not a libp2p private key (%s); it is left as is\n",
            path, lp2p_strerror(rc));
    return 1;
  }
  if (key->pub.type != LP2P_KEY_ED25519) {
    fprintf(stderr, "punch: %s holds a non-Ed25519 key\n", path);
    return 1;
  }
  return 0;
}

int punch_identity(const char *path, lp2p_rng *rng, lp2p_privkey *key) {
  int rc = load(path, key);
  if (rc >= 0)
    return rc ? PUNCH_EXIT_FAIL : 0;
  if (rc != -ENOENT) {
    err_line("cannot open the key file %s", path, -rc);
    return PUNCH_EXIT_FAIL;
  }
  int e = mkdirs(path);
  if (e) {
    err_line("cannot create the directories of %s", path, e);
    return PUNCH_EXIT_FAIL;
  }
  if ((rc = lp2p_key_generate(key, LP2P_KEY_ED25519, 0, rng)) != 0) {
    fprintf(stderr, "punch: key generation: %s\n", lp2p_strerror(rc));
    return PUNCH_EXIT_FAIL;
  }
  uint8_t pb[LP2P_PRIVKEY_PB_MAX];
  size_t pbl = 0;
  if ((rc = lp2p_privkey_marshal(key, pb, sizeof pb, &pbl)) != 0) {
    fprintf(stderr, "punch: key encoding: %s\n", lp2p_strerror(rc));
    return PUNCH_EXIT_FAIL;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    lp2p_memzero(pb, sizeof pb);
    err_line("cannot create the key file %s", tmp, errno);
    return PUNCH_EXIT_FAIL;
  }
  ssize_t w = write(fd, pb, pbl);
  e = errno;
  lp2p_memzero(pb, sizeof pb);
  if (w != (ssize_t)pbl || fsync(fd) != 0) {
    if (w == (ssize_t)pbl)
      e = errno;
    close(fd);
    unlink(tmp);
    err_line("cannot write the key file %s", tmp, e);
    return PUNCH_EXIT_FAIL;
  }
  close(fd);
  if (link(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    if (e == EEXIST) /* another punch created it meanwhile: use that one */
      return load(path, key) ? PUNCH_EXIT_FAIL : 0;
    err_line("cannot create the key file %s", path, e);
    return PUNCH_EXIT_FAIL;
  }
  unlink(tmp);
  /* the directory entry itself */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *(slash == dir ? slash + 1 : slash) = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return 0;
}
