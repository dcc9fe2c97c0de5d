#!/bin/sh
# punch against ssh -L and socat (issue 14 "Benchmark"), run by `make
# bench` (mk/run-bench.sh). One run, side by side, all over loopback, the
# same client and server for every path (tests/punch/helper.py: a sink
# that acknowledges after EOF, a 1-byte echo for latency):
#  - throughput: LP2P_BENCH_PUNCH_MIB (1024) MiB uploaded through one
#    forwarded TCP connection, median of 3: plain TCP (the ceiling), socat,
#    ssh -L with chacha20-poly1305@openssh.com and aes128-gcm@openssh.com,
#    and punch on its direct path (after the hole punch, as users get it)
#    and relayed through a local `punch relay`;
#  - connect latency: median over 200 sequential connections of connect +
#    one echoed byte (a new forwarded connection each time);
#  - memory per idle forwarded connection: VmRSS of punch in + out before
#    and after 500 idle connections through them, divided by 500.
# Goals (reported, never enforced): punch >= 1.5x ssh -L chacha20 and
# >= socat. Needs openssh-server and socat (installed when missing, as the
# NAT labs install theirs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
P=$B/bin/punch
H=$ROOT/tests/punch/helper.py
MIB=${LP2P_BENCH_PUNCH_MIB:-1024}
BYTES=$((MIB << 20))
T=$(mktemp -d "${TMPDIR:-/tmp}/punch-bench.XXXXXX") || exit 1
PIDS=()
cleanup() {
  # ssh -f daemonizes: its pid is recorded by ssh_fwd, not in PIDS
  [ -f "$T/ssh.pids" ] && kill $(cat "$T/ssh.pids") 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
err() { echo "punch.sh: $*" >&2; exit 1; }
need=()
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v socat >/dev/null || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || err "needs ${need[*]} (run as root to install them)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${need[@]}" > "$T/apt.log" 2>&1 || err "cannot install ${need[*]}: $(tail -2 "$T/apt.log")"
fi
[ -x "$P" ] || err "no punch binary at $P"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { local i; for ((i = 0; i < ${3:-20} * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
median3() { sort -n | sed -n 2p; }
tput3() { for _ in 1 2 3; do python3 "$H" throughput "$1" $BYTES | awk '/^MB/ {print $2}'; done | median3; }
lat() { python3 "$H" latency "$1" 200 | awk '/^median/ {print $2}'; }

python3 "$H" sink-server > "$T/sink.out" & PIDS+=($!)
wait_line "$T/sink.out" "^port" 10 || err "sink server"
S=$(awk '{print $2}' "$T/sink.out")

# socat
SO=$(free_port)
socat TCP-LISTEN:$SO,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:$S & PIDS+=($!)
# sshd on a port of its own, a fresh host key and user key
SP=$(free_port)
ssh-keygen -q -t ed25519 -N "" -f "$T/host_key" || err "ssh-keygen"
ssh-keygen -q -t ed25519 -N "" -f "$T/user_key" || err "ssh-keygen"
cp "$T/user_key.pub" "$T/authorized_keys"
mkdir -p /run/sshd 2>/dev/null
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
"$SSHD" -D -e -p $SP -o ListenAddress=127.0.0.1 -h "$T/host_key" \
  -o AuthorizedKeysFile="$T/authorized_keys" -o StrictModes=no \
  -o PasswordAuthentication=no -o PidFile="$T/sshd.pid" \
  -o AllowTcpForwarding=yes 2> "$T/sshd.err" & PIDS+=($!)
sleep 0.5
ssh_fwd() { # cipher -> local port
  local lp; lp=$(free_port)
  ssh -N -f -o ExitOnForwardFailure=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
    -c "$1" -i "$T/user_key" -p $SP -L 127.0.0.1:$lp:127.0.0.1:$S \
    "$(id -un)@127.0.0.1" 2>> "$T/ssh.err" || return 1
  pgrep -f -- "-L 127.0.0.1:$lp:127.0.0.1:$S " >> "$T/ssh.pids"
  echo "$lp"
}
SC=$(ssh_fwd chacha20-poly1305@openssh.com) || err "ssh -L chacha20: $(tail -2 "$T/ssh.err" "$T/sshd.err")"
SA=$(ssh_fwd aes128-gcm@openssh.com) || err "ssh -L aes128-gcm: $(tail -2 "$T/ssh.err")"

# punch: a relay, out exposing the sink; one in that goes direct, one
# that stays relayed (DCUtR off for it: loopback not public)
export PUNCH_LOG=info
PUNCH_SECRET_KEY=$T/relay.key "$P" relay --listen /ip4/127.0.0.1/tcp/0 > "$T/relay.out" 2> "$T/relay.err" & PIDS+=($!)
wait_line "$T/relay.out" /p2p/ 10 || err "punch relay"
export PUNCH_RELAY_MODE=$(head -1 "$T/relay.out")
LP2P_PUBLIC_CIDRS=127.0.0.0/8 PUNCH_SECRET_KEY=$T/out.key "$P" out $S 2> "$T/out.err" & PIDS+=($!); OUTPID=$!
wait_line "$T/out.err" "relay reservation on" 20 || err "punch out"
KO=$(sed -n 's/^punch: public key //p' "$T/out.err")
PD=$(free_port); PR=$(free_port)
LP2P_PUBLIC_CIDRS=127.0.0.0/8 PUNCH_SECRET_KEY=$T/ind.key "$P" in $KO $PD:$S 2> "$T/ind.err" & PIDS+=($!); INPID=$!
PUNCH_SECRET_KEY=$T/inr.key "$P" in $KO $PR:$S 2> "$T/inr.err" & PIDS+=($!)
wait_line "$T/ind.err" "relayed -> direct" 30 || err "punch never went direct: $(grep -v address "$T/ind.err")"
wait_line "$T/inr.err" "peer $KO connected" 20 || err "punch in (relayed)"

# memory first, on fresh processes (after a 1 GiB run the heap has
# room to spare and RSS would not move)
# memory per idle forwarded connection (in + out)
rss() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }
before=$(( $(rss $INPID) + $(rss $OUTPID) ))
mkfifo "$T/hold.in"
python3 "$H" hold $PD 500 < "$T/hold.in" > "$T/hold.out" & HP=$!; PIDS+=($HP)
exec 9> "$T/hold.in"
wait_line "$T/hold.out" "^held 500" 60 || err "hold 500 connections"
sleep 1
after=$(( $(rss $INPID) + $(rss $OUTPID) ))
echo "punch memory per idle forwarded connection (in + out): $(( (after - before) * 1024 / 500 )) bytes (RSS $before -> $after KiB for 500)"
exec 9>&-
kill $HP 2>/dev/null; wait $HP 2>/dev/null
sleep 1

printf '%-34s %12s %14s\n' path "MB/s" "connect ms"
row() { printf '%-34s %12s %14s\n' "$1" "$2" "$3"; }
T_TCP=$(tput3 $S); L_TCP=$(lat $S); row "plain TCP (ceiling)" "$T_TCP" "$L_TCP"
T_SO=$(tput3 $SO); L_SO=$(lat $SO); row "socat" "$T_SO" "$L_SO"
T_SC=$(tput3 $SC); L_SC=$(lat $SC); row "ssh -L chacha20-poly1305" "$T_SC" "$L_SC"
T_SA=$(tput3 $SA); L_SA=$(lat $SA); row "ssh -L aes128-gcm" "$T_SA" "$L_SA"
T_PD=$(tput3 $PD); L_PD=$(lat $PD); row "punch (direct path)" "$T_PD" "$L_PD"
T_PR=$(tput3 $PR); L_PR=$(lat $PR); row "punch (via punch relay)" "$T_PR" "$L_PR"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "punch direct / ssh chacha20: $(ratio "$T_PD" "$T_SC")x (goal >= 1.5)"
echo "punch direct / socat:        $(ratio "$T_PD" "$T_SO")x (goal >= 1.0)"

exit 0
