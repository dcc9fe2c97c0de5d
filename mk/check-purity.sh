#!/bin/sh
# Fails if any object under proto/ references sockets, clocks, the libc
# allocator, entropy or threads (DESIGN.md section 1). Engines must get all
# of these injected.
bad='^(socket|connect|bind|listen|accept|accept4|send|recv|sendto|recvfrom|sendmsg|recvmsg|getaddrinfo|gethostbyname|poll|select|epoll_.*|clock_gettime|gettimeofday|time|clock|malloc|free|realloc|calloc|reallocarray|strdup|strndup|rand|random|srand|srandom|rand_r|getrandom|getentropy|arc4random.*|randombytes_.*|pthread_.*|fopen|open|read|write)$'
status=0
n=0
for o in "$@"; do
  n=$((n + 1))
  syms=$(nm -u "$o" | awk '{print $2}' | sed 's/@.*//' | grep -E "$bad")
  if [ -n "$syms" ]; then
    echo "purity: $o references: $(echo $syms)" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "purity: $n proto/ objects clean"
exit $status
