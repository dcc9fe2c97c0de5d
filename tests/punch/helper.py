#!/usr/bin/env python3
"""Local endpoints for tests/punch/run.sh (only the standard library).

  tcp-echo              echo every TCP connection; after the client's FIN,
                        finish echoing, then FIN (prints "port N")
  tcp-fin-server LOG    per connection: send b"hello", FIN at once, then
                        read the client's bytes to EOF and log them (hex)
  udp-echo              echo each datagram to its sender (prints "port N")
  integrity-server LOG  per connection: read a 24-byte header (seed, up,
                        down), send `down` bytes of the seed's stream and FIN
                        at a random moment while checking the `up` bytes
                        that arrive; one line per connection to LOG
  integrity-client PORT TOTAL CONNS PARALLEL SEED
                        CONNS connections (PARALLEL at once) through PORT,
                        TOTAL bytes in all, split at random between uploads
                        and downloads, chunks and FIN times at random, every
                        byte compared; prints "ok BYTES" or "FAIL why"
  udp-flows PORT N      N sockets, each sends its own id through PORT and
                        must get exactly its own id back; prints
                        "ok N" or "FAIL why"
  fin-client PORT      read to the server's EOF (expects b"hello") while our
                        side stays open, then send b"world" and FIN; prints
                        "ok" or "FAIL why"
  udp-noreply PORT      send datagrams; prints "ok" when no reply came
  udp-echo-log LOG      udp-echo that also logs "<source port> <data>" per
                        datagram to LOG: the source port is out's socket
                        of that flow (prints "port N")
  udp-say PORT TEXT [SIZE]
                        from one fixed local port (made once, kept in the
                        file named by $UDP_SAY_PORT_FILE, or ephemeral),
                        send TEXT padded to SIZE bytes, wait up to 5 s for
                        the echo; prints "ok" or "FAIL why"
  udp-blast PORT N SIZE send N datagrams of SIZE bytes from one socket as
                        fast as it can (more than a path can carry); prints
                        "sent N"
  sink-server           per connection: read to EOF, then send b"k" (the
                        byte count is the client's business); and echo a
                        1-byte probe (prints "port N")
  throughput PORT BYTES send BYTES, FIN, wait for b"k"; prints "MB/s X"
  latency PORT N        N sequential connect + 1-byte echo + close;
                        prints "median_ms X"
  hold PORT N           open N idle connections, print "held N", keep
                        them until stdin ends
  tcp-roundtrip PORT HEXDATA
                        connect, send, FIN, read to EOF; prints the answer
                        (hex) or "reset"
"""
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time

BLOCK_LEN = 1048573  # prime: a shifted or repeated chunk never matches
_blocks = {}


def block(seed):
    b = _blocks.get(seed)
    if b is None:
        b = random.Random(seed).randbytes(BLOCK_LEN)
        b = b + b  # slicing across the end without wrapping
        _blocks[seed] = b
    return b


def stream_bytes(seed, off, n):
    """Bytes off..off+n of the stream of `seed` (the block repeated)."""
    b = block(seed % 8)
    out = bytearray()
    start = (off + seed) % BLOCK_LEN
    while n:
        k = min(n, BLOCK_LEN - start)
        out += b[start:start + k]
        n -= k
        start = 0
    return bytes(out)


def listen_tcp():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    print("port", s.getsockname()[1], flush=True)
    return s


def serve(s, fn):
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()


def tcp_echo():
    def one(c):
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
            c.recv(1)
        except OSError:
            pass
        c.close()
    serve(listen_tcp(), one)


def tcp_fin_server(log):
    lock = threading.Lock()

    def one(c):
        try:
            c.sendall(b"hello")
            c.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += d
            with lock, open(log, "a") as f:
                f.write(got.hex() + "\n")
        except OSError as e:
            with lock, open(log, "a") as f:
                f.write("error %s\n" % e)
        c.close()
    serve(listen_tcp(), one)


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    print("port", s.getsockname()[1], flush=True)
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(d, a)


def send_stream(c, seed, n, rng):
    off = 0
    while off < n:
        k = min(n - off, rng.choice((1, 100, 4096, 65536, 262144, 1 << 20)))
        c.sendall(stream_bytes(seed, off, k))
        off += k
        if rng.random() < 0.02:
            time.sleep(rng.random() * 0.01)
    if rng.random() < 0.5:
        time.sleep(rng.random() * 0.05)  # FIN at a random moment
    c.shutdown(socket.SHUT_WR)


def recv_check(c, seed, n):
    """Read to EOF; None when exactly the stream of `seed` came."""
    off = 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        if off + len(d) > n:
            return "more bytes than sent (%d > %d)" % (off + len(d), n)
        if d != stream_bytes(seed, off, len(d)):
            return "bytes differ at offset %d" % off
        off += len(d)
    if off != n:
        return "short: %d of %d bytes" % (off, n)
    return None


def integrity_server(log):
    lock = threading.Lock()

    def one(c):
        res = "?"
        try:
            hdr = b""
            while len(hdr) < 24:
                d = c.recv(24 - len(hdr))
                if not d:
                    raise OSError("EOF in the header")
                hdr += d
            seed, up, down = struct.unpack(">QQQ", hdr)
            rng = random.Random(seed ^ 0x5eed)
            box = {}
            w = threading.Thread(
                target=lambda: box.update(
                    e=send_stream(c, seed + 1, down, rng)))
            w.start()
            err = recv_check(c, seed, up)
            w.join()
            res = "ok %d %d %d" % (seed, up, down) if not err else \
                "FAIL %d %s" % (seed, err)
        except OSError as e:
            res = "FAIL error %s" % e
        c.close()
        with lock, open(log, "a") as f:
            f.write(res + "\n")
    serve(listen_tcp(), one)


def integrity_client(port, total, conns, parallel, seed):
    rng = random.Random(seed)
    # split TOTAL into 2*CONNS random parts (uploads and downloads)
    cuts = sorted(rng.randrange(total + 1) for _ in range(2 * conns - 1))
    parts = [b - a for a, b in zip([0] + cuts, cuts + [total])]
    jobs = [(seed * 100000 + i * 2, parts[2 * i], parts[2 * i + 1])
            for i in range(conns)]
    errors = []
    lock = threading.Lock()
    sem = threading.Semaphore(parallel)

    def one(job):
        s, up, down = job
        with sem:
            try:
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(struct.pack(">QQQ", s, up, down))
                r = random.Random(s)
                w = threading.Thread(target=send_stream,
                                     args=(c, s, up, r))
                w.start()
                err = recv_check(c, s + 1, down)
                w.join()
                c.close()
            except OSError as e:
                err = "error %s" % e
            if err:
                with lock:
                    errors.append("conn %d: %s" % (s, err))
    ts = [threading.Thread(target=one, args=(j,)) for j in jobs]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.time() - t0
    if errors:
        print("FAIL", errors[0], "(%d failed)" % len(errors))
        return 1
    print("ok %d bytes over %d connections in %.1f s (%.0f MB/s)" %
          (total, conns, dt, total / dt / 1e6))
    return 0


def udp_flows(port, n):
    socks = []
    sel = selectors.DefaultSelector()
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    got = [False] * n
    bad = []
    for rnd in range(20):
        for i, s in enumerate(socks):
            if not got[i]:
                try:
                    s.sendto(b"flow %d" % i, ("127.0.0.1", port))
                except BlockingIOError:
                    pass
            if i % 100 == 99:
                time.sleep(0.005)
        end = time.time() + 1.0 + rnd * 0.2
        while time.time() < end and not all(got):
            for key, _ in sel.select(0.1):
                i = key.data
                while True:
                    try:
                        d = socks[i].recv(65535)
                    except BlockingIOError:
                        break
                    if d != b"flow %d" % i:
                        bad.append((i, d))
                    got[i] = True
        if all(got):
            break
    if bad:
        print("FAIL a reply reached the wrong sender: socket %d got %r" %
              bad[0])
        return 1
    missing = got.count(False)
    if missing:
        print("FAIL %d of %d flows got no reply" % (missing, n))
        return 1
    print("ok %d flows, each reply at its own sender" % n)
    return 0


def tcp_roundtrip(port, hexdata):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=20)
        try:
            c.sendall(bytes.fromhex(hexdata))
        except (ConnectionResetError, BrokenPipeError):
            pass
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        print(got.hex() if got else "empty")
    except (ConnectionResetError, BrokenPipeError):
        print("reset")
    except socket.timeout:
        print("timeout")
    return 0


def fin_client(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    got = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    if got != b"hello":
        print("FAIL got %r before EOF" % got)
        return 1
    c.sendall(b"world")  # our direction is still open after their FIN
    c.shutdown(socket.SHUT_WR)
    try:
        rest = c.recv(1)
    except OSError as e:
        print("FAIL %s" % e)
        return 1
    print("ok" if rest == b"" else "FAIL data after EOF")
    return 0


def udp_noreply(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    for _ in range(4):
        s.sendto(b"anyone?", ("127.0.0.1", port))
        try:
            d = s.recv(65535)
            print("FAIL a reply came: %r" % d)
            return 1
        except socket.timeout:
            pass
    print("ok")
    return 0


def udp_echo_log(log):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    print("port", s.getsockname()[1], flush=True)
    while True:
        d, a = s.recvfrom(65535)
        with open(log, "a") as f:
            f.write("%d %s\n" % (a[1], d[:32].decode("ascii", "replace")))
        s.sendto(d, a)


def udp_say(port, text, size):
    # the same sender every time (one flow on `in`'s side) when
    # UDP_SAY_PORT_FILE names where its port is kept
    pf = os.environ.get("UDP_SAY_PORT_FILE")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    mine = 0
    if pf and os.path.exists(pf):
        mine = int(open(pf).read())
    s.bind(("127.0.0.1", mine))
    if pf and not mine:
        with open(pf, "w") as f:
            f.write(str(s.getsockname()[1]))
    msg = text.encode().ljust(size, b".") if size else text.encode()
    s.settimeout(0.5)
    for _ in range(10):
        s.sendto(msg, ("127.0.0.1", port))
        try:
            while True:
                d = s.recv(65535)
                if d == msg:
                    print("ok")
                    return 0
        except socket.timeout:
            pass
    print("FAIL no echo of %d bytes" % len(msg))
    return 1


def udp_blast(port, n, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    msg = b"x" * size
    sent = 0
    for _ in range(n):
        try:
            s.sendto(msg, ("127.0.0.1", port))
            sent += 1
        except OSError:
            pass
    print("sent", sent)
    return 0


def sink_server():
    def one(c):
        try:
            first = c.recv(1 << 20)
            if first == b"?":  # a latency probe: echo it
                c.sendall(b"?")
            else:
                while first:
                    first = c.recv(1 << 20)
                c.sendall(b"k")
            c.shutdown(socket.SHUT_WR)
            c.recv(1)
        except OSError:
            pass
        c.close()
    serve(listen_tcp(), one)


def throughput(port, n):
    buf = bytes(1 << 20)
    c = socket.create_connection(("127.0.0.1", port))
    t0 = time.perf_counter()
    left = n
    mv = memoryview(buf)
    while left:
        k = min(left, len(buf))
        c.sendall(mv[:k])
        left -= k
    c.shutdown(socket.SHUT_WR)
    if c.recv(1) != b"k":
        print("FAIL no acknowledgement")
        return 1
    dt = time.perf_counter() - t0
    c.close()
    print("MB/s %.1f" % (n / dt / 1e6))
    return 0


def latency(port, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        c = socket.create_connection(("127.0.0.1", port))
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(b"?")
        if c.recv(1) != b"?":
            print("FAIL no echo")
            return 1
        ts.append(time.perf_counter() - t0)
        c.close()
    ts.sort()
    print("median_ms %.3f" % (ts[len(ts) // 2] * 1e3))
    return 0


def hold(port, n):
    cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    print("held", len(cs), flush=True)
    sys.stdin.read()
    return 0


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "tcp-echo":
        tcp_echo()
    elif cmd == "tcp-fin-server":
        tcp_fin_server(a[1])
    elif cmd == "udp-echo":
        udp_echo()
    elif cmd == "integrity-server":
        integrity_server(a[1])
    elif cmd == "integrity-client":
        return integrity_client(int(a[1]), int(a[2]), int(a[3]), int(a[4]),
                                int(a[5]))
    elif cmd == "udp-flows":
        return udp_flows(int(a[1]), int(a[2]))
    elif cmd == "sink-server":
        sink_server()
    elif cmd == "throughput":
        return throughput(int(a[1]), int(a[2]))
    elif cmd == "latency":
        return latency(int(a[1]), int(a[2]))
    elif cmd == "hold":
        return hold(int(a[1]), int(a[2]))
    elif cmd == "fin-client":
        return fin_client(int(a[1]))
    elif cmd == "udp-noreply":
        return udp_noreply(int(a[1]))
    elif cmd == "udp-echo-log":
        udp_echo_log(a[1])
    elif cmd == "udp-blast":
        return udp_blast(int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "udp-say":
        return udp_say(int(a[1]), a[2], int(a[3]) if len(a) > 3 else 0)
    elif cmd == "tcp-roundtrip":
        return tcp_roundtrip(int(a[1]), a[2])
    else:
        print("unknown command", cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
