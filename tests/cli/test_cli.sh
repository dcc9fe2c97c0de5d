#!/bin/bash
# Tests of the `lp2p` command-line tool: every verb, success and failure
# paths, exit codes (0 ok, 1 invalid data, 2 usage), a single clean stderr
# line on failure, no partial stdout, key-file mode and overwrite refusal.
# Run with LP2P_BUILD=<build dir>; prints one TAP line per case.
#
# Expected PeerIds come from the libp2p peer-ids spec test vectors: the
# public-key protobufs are copied from the spec; the ids were derived from
# them by the spec's rules (<= 42 bytes: identity multihash, else sha256;
# base58btc; CIDv1 libp2p-key 0x72 in base32) and are ALSO re-derived here
# at run time by an independent shell implementation (derive_peerid), which
# is then used to check the ids of freshly generated keys.
set -u
B=${LP2P_BUILD:-build}
L="$B/bin/lp2p"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Sanitizer reports must never look like an expected exit code 1.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99"

FAILS=0
ok() { echo "ok - $1"; }
nok() {
  echo "not ok - $1"
  shift
  local l
  for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
  FAILS=$((FAILS + 1))
}
check() { # NAME CONDITION-STATUS [diagnostics...]
  local name=$1 st=$2
  shift 2
  if [ "$st" = 0 ]; then ok "$name"; else nok "$name" "$@"; fi
}

# run CMD...: RC, OUT (stdout, exact bytes kept in $T/out), ERR.
run() {
  "$@" >"$T/out" 2>"$T/err" </dev/null
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# The stdout file is exactly "$1\n" (or empty when $1 is empty).
out_is() {
  if [ -z "$1" ]; then [ ! -s "$T/out" ]; else [ "$(cat "$T/out"; echo x)" = "$1"$'\n'x ]; fi
}
# Exactly one line on stderr, "lp2p: VERB: reason", ending in a newline.
one_err_line() {
  [ "$(wc -l <"$T/err")" = 1 ] && [ "$(tail -c1 "$T/err" | od -An -c | tr -d ' ')" = '\n' ] &&
    case $ERR in "lp2p: $1: "?*) true ;; *) false ;; esac
}

# expect_ok NAME EXPECTED_STDOUT CMD...
expect_ok() {
  local name=$1 exp=$2
  shift 2
  run "$@"
  if [ $RC = 0 ] && out_is "$exp" && [ ! -s "$T/err" ]; then ok "$name"; else
    nok "$name" "rc=$RC" "stdout=$OUT" "expected=$exp" "stderr=$ERR"
  fi
}
# expect_fail NAME CODE VERB CMD...: exit CODE, nothing on stdout, one
# "lp2p: VERB: ..." line on stderr.
expect_fail() {
  local name=$1 code=$2 verb=$3
  shift 3
  run "$@"
  if [ $RC = "$code" ] && [ ! -s "$T/out" ] && one_err_line "$verb"; then ok "$name"; else
    nok "$name" "rc=$RC (want $code)" "stdout=$OUT" "stderr=$ERR"
  fi
}

# verify_ok NAME PUB DATA SIG: SIG is a non-empty hex signature (as `sign`
# printed it) and `verify` accepts it silently.
verify_ok() {
  local name=$1
  shift
  if [[ ! $3 =~ ^[0-9a-f]+$ ]]; then nok "$name" "no signature to verify: '$3'"; return; fi
  expect_ok "$name" "" "$L" verify "$@"
}

# ---- independent helpers: hex, base58btc, base32, PeerId derivation -----
hex2bin() { printf '%b' "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
bin2hex() { od -An -v -tx1 | tr -d ' \n'; }
b58() {
  local hex=$1 A=123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz
  local -a d=()
  local i j v r n s="" z="" nz=0
  for ((i = 0; i < ${#hex}; i += 2)); do d+=($((16#${hex:i:2}))); done
  n=${#d[@]}
  for ((i = 0; i < n && d[i] == 0; i++)); do z+=1; done
  for v in "${d[@]}"; do ((v)) && nz=1; done
  while ((nz)); do
    r=0 nz=0
    for ((j = 0; j < n; j++)); do
      v=$((r * 256 + d[j]))
      d[j]=$((v / 58))
      r=$((v % 58))
      ((d[j])) && nz=1
    done
    s=${A:r:1}$s
  done
  printf '%s\n' "$z$s"
}
b32() { hex2bin "$1" | base32 -w0 | tr 'A-Z' 'a-z' | tr -d '='; }
# Multihash of a public-key protobuf (peer-ids spec, "Peer Ids").
pk_multihash() {
  local n=$((${#1} / 2))
  if [ $n -le 42 ]; then printf '00%02x%s\n' $n "$1"; else
    printf '1220%s\n' "$(hex2bin "$1" | sha256sum | cut -c1-64)"
  fi
}
derive_peerid() { b58 "$(pk_multihash "$1")"; }
derive_cid() { printf 'b%s\n' "$(b32 "0172$(pk_multihash "$1")")"; }
# Flip the lowest bit of the hex digit at index $2 (negative: from the end).
flip_hex() {
  local h=$1 i=$2
  [ -n "$h" ] || return 0
  [ "$i" -lt 0 ] && i=$((${#h} + i))
  printf '%s%x%s\n' "${h:0:i}" $((16#${h:i:1} ^ 1)) "${h:i+1}"
}
file_mode() { stat -c %a "$1"; }

if [ ! -x "$L" ]; then
  nok "lp2p binary exists at $L"
  exit 1
fi

# ---- spec test vectors (peer-ids spec, "Test vectors") -------------------
ED_PUB=080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e
ED_PRIV=080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e
ED_ID=12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq
ED_CID=bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6
K1_PUB=08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99
K1_PRIV=0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB
K1_ID=16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY
K1_CID=bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte
EC_PUB=0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62
EC_PRIV=08031279307702010104203E5B1FE9712E6C314942A750BD67485DE3C1EFE85B1BFB520AE8F9AE3DFA4A4CA00A06082A8648CE3D030107A14403420004DE3D300FA36AE0E8F5D530899D83ABAB44ABF3161F162A4BC901D8E6ECDA020E8B6D5F8DA30525E71D6851510C098E5C47C646A597FB4DCEC034E9F77C409E62
EC_ID=QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk
EC_CID=bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64
RSA_PUB=080012a60430820222300d06092a864886f70d01010105000382020f003082020a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd475224269bbe1b0203010001
RSA_PRIV=080012ae123082092a0201000282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd475224269bbe1b02030100010282020100a472ffa858efd8588ce59ee264b957452f3673acdf5631d7bfd5ba0ef59779c231b0bc838a8b14cae367b6d9ef572c03c7883b0a3c652f5c24c316b1ccfd979f13d0cd7da20c7d34d9ec32dfdc81ee7292167e706d705efde5b8f3edfcba41409e642f8897357df5d320d21c43b33600a7ae4e505db957c1afbc189d73f0b5d972d9aaaeeb232ca20eebd5de6fe7f29d01470354413cc9a0af1154b7af7c1029adcd67c74b4798afeb69e09f2cb387305e73a1b5f450202d54f0ef096fe1bde340219a1194d1ac9026e90b366cce0c59b239d10e4888f52ca1780824d39ae01a6b9f4dd6059191a7f12b2a3d8db3c2868cd4e5a5862b8b625a4197d52c6ac77710116ebd3ced81c4d91ad5fdfbed68312ebce7eea45c1833ca3acf7da2052820eacf5c6b07d086dabeb893391c71417fd8a4b1829ae2cf60d1749d0e25da19530d889461c21da3492a8dc6ccac7de83ac1c2185262c7473c8cc42f547cc9864b02a8073b6aa54a037d8c0de3914784e6205e83d97918b944f11b877b12084c0dd1d36592f8a4f8b8da5bb404c3d2c079b22b6ceabfbcb637c0dbe0201f0909d533f8bf308ada47aee641a012a494d31b54c974e58b87f140258258bb82f31692659db7aa07e17a5b2a0832c24e122d3a8babcc9ee74cbb07d3058bb85b15f6f6b2674aba9fd34367be9782d444335fbed31e3c4086c652597c27104938b47fa10282010100e9fdf843c1550070ca711cb8ff28411466198f0e212511c3186623890c0071bf6561219682fe7dbdfd81176eba7c4faba21614a20721e0fcd63768e6d925688ecc90992059ac89256e0524de90bf3d8a052ce6a9f6adafa712f3107a016e20c80255c9e37d8206d1bc327e06e66eb24288da866b55904fd8b59e6b2ab31bc5eab47e597093c63fab7872102d57b4c589c66077f534a61f5f65127459a33c91f6db61fc431b1ae90be92b4149a3255291baf94304e3efb77b1107b5a3bda911359c40a53c347ff9100baf8f36dc5cd991066b5bdc28b39ed644f404afe9213f4d31c9d4e40f3a5f5e3c39bebeb244e84137544e1a1839c1c8aaebf0c78a7fad590282010100f6fa1f1e6b803742d5490b7441152f500970f46feb0b73a6e4baba2aaf3c0e245ed852fc31d86a8e46eb48e90fac409989dfee45238f97e8f1f8e83a136488c1b04b8a7fb695f37b8616307ff8a8d63e8cfa0b4fb9b9167ffaebabf111aa5a4344afbabd002ae8961c38c02da76a9149abdde93eb389eb32595c29ba30d8283a7885218a5a9d33f7f01dbdf85f3aad016c071395491338ec318d39220e1c7bd69d3d6b520a13a30d745c102b827ad9984b0dd6aed73916ffa82a06c1c111e7047dcd2668f988a0570a71474992eecf416e068f029ec323d5d635fd24694fc9bf96973c255d26c772a95bf8b7f876547a5beabf86f06cd21b67994f944e7a5493028201010095b02fd30069e547426a8bea58e8a2816f33688dac6c6f6974415af8402244a22133baedf34ce499d7036f3f19b38eb00897c18949b0c5a25953c71aeeccfc8f6594173157cc854bd98f16dffe8f28ca13b77eb43a2730585c49fc3f608cd811bb54b03b84bddaa8ef910988567f783012266199667a546a18fd88271fbf63a45ae4fd4884706da8befb9117c0a4d73de5172f8640b1091ed8a4aea3ed4641463f5ff6a5e3401ad7d0c92811f87956d1fd5f9a1d15c7f3839a08698d9f35f9d966e5000f7cb2655d7b6c4adcd8a9d950ea5f61bb7c9a33c17508f9baa313eecfee4ae493249ebe05a5d7770bbd3551b2eeb752e3649e0636de08e3d672e66cb90282010100ad93e4c31072b063fc5ab5fe22afacece775c795d0efdf7c704cfc027bde0d626a7646fc905bb5a80117e3ca49059af14e0160089f9190065be9bfecf12c3b2145b211c8e89e42dd91c38e9aa23ca73697063564f6f6aa6590088a738722df056004d18d7bccac62b3bafef6172fc2a4b071ea37f31eff7a076bcab7dd144e51a9da8754219352aef2c73478971539fa41de4759285ea626fa3c72e7085be47d554d915bbb5149cb6ef835351f231043049cd941506a034bf2f8767f3e1e42ead92f91cb3d75549b57ef7d56ac39c2d80d67f6a2b4ca192974bfc5060e2dd171217971002193dba12e7e4133ab201f07500a90495a38610279b13a48d54f0c99028201003e3a1ac0c2b67d54ed5c4bbe04a7db99103659d33a4f9d35809e1f60c282e5988dddc964527f3b05e6cc890eab3dcb571d66debf3a5527704c87264b3954d7265f4e8d2c637dd89b491b9cf23f264801f804b90454d65af0c4c830d1aef76f597ef61b26ca857ecce9cb78d4f6c2218c00d2975d46c2b013fbf59b750c3b92d8d3ed9e6d1fd0ef1ec091a5c286a3fe2dead292f40f380065731e2079ebb9f2a7ef2c415ecbb488da98f3a12609ca1b6ec8c734032c8bd513292ff842c375d4acd1b02dfb206b24cd815f8e2f9d4af8e7dea0370b19c1b23cc531d78b40e06e1119ee2e08f6f31c6e2e8444c568d13c5d451a291ae0c9f1d4f27d23b3a00d60ad
RSA_ID=QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG
RSA_CID=bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu

# ---- the shell derivation agrees with the spec-derived ids ---------------
for v in ED K1 EC RSA; do
  pub=${v}_PUB id=${v}_ID cid=${v}_CID
  d1=$(derive_peerid "${!pub}") d2=$(derive_cid "${!pub}")
  check "test helper derives the $v spec PeerId" "$([ "$d1" = "${!id}" ] && [ "$d2" = "${!cid}" ]; echo $?)" "$d1 $d2"
done

# ---- dispatch, help, usage -------------------------------------------------
run "$L"
check "no arguments: usage on stderr, exit 2" \
  "$([ $RC = 2 ] && [ ! -s "$T/out" ] && grep -q '^usage: lp2p' "$T/err"; echo $?)" "rc=$RC"
for h in --help help -h; do
  run "$L" $h
  check "lp2p $h: usage on stdout, exit 0" \
    "$([ $RC = 0 ] && [ ! -s "$T/err" ] && grep -q '^usage: lp2p' "$T/out" &&
      for w in keygen id peerid sign verify 'maddr encode' 'maddr decode' 'record seal' 'record open'; do
        grep -q "lp2p $w " "$T/out" || exit 1
      done; echo $?)" "rc=$RC" "$ERR"
done
run "$L" help keygen
check "help keygen: that verb's usage" \
  "$([ $RC = 0 ] && grep -q 'lp2p keygen \[--type' "$T/out" && ! grep -q 'lp2p verify' "$T/out"; echo $?)" "rc=$RC $OUT"
run "$L" keygen --out "$T/help.key" --help
check "keygen --help: usage on stdout, exit 0, no file written" \
  "$([ $RC = 0 ] && grep -q 'lp2p keygen' "$T/out" && [ ! -s "$T/err" ] && [ ! -e "$T/help.key" ]; echo $?)" "rc=$RC"
run "$L" maddr --help
check "maddr --help lists both subcommands" \
  "$([ $RC = 0 ] && grep -q 'maddr encode' "$T/out" && grep -q 'maddr decode' "$T/out"; echo $?)" "rc=$RC"
expect_fail "help for an unknown verb exits 2" 2 help "$L" help frobnicate
expect_fail "unknown verb exits 2" 2 frobnicate "$L" frobnicate
expect_fail "unknown verb with a newline stays one stderr line" 2 "bad?verb" "$L" $'bad\nverb'
expect_fail "maddr without subcommand exits 2" 2 maddr "$L" maddr
expect_fail "maddr unknown subcommand exits 2" 2 maddr "$L" maddr frob /ip4/1.2.3.4
expect_fail "record without subcommand exits 2" 2 record "$L" record
run "$L" --version
check "--version prints a version" "$([ $RC = 0 ] && grep -q '^lp2p ' "$T/out"; echo $?)" "rc=$RC"

# ---- peerid with the spec vectors -----------------------------------------
expect_ok "peerid ed25519 spec vector" "$ED_ID"$'\n'"$ED_CID" "$L" peerid $ED_PUB
expect_ok "peerid secp256k1 spec vector" "$K1_ID"$'\n'"$K1_CID" "$L" peerid $K1_PUB
expect_ok "peerid ecdsa spec vector" "$EC_ID"$'\n'"$EC_CID" "$L" peerid $EC_PUB
expect_ok "peerid rsa spec vector" "$RSA_ID"$'\n'"$RSA_CID" "$L" peerid $RSA_PUB
expect_ok "peerid accepts uppercase hex" "$ED_ID"$'\n'"$ED_CID" "$L" peerid "${ED_PUB^^}"
expect_fail "peerid: odd-length hex exits 1" 1 peerid "$L" peerid "${ED_PUB}0"
expect_fail "peerid: non-hex exits 1" 1 peerid "$L" peerid "zz${ED_PUB:2}"
expect_fail "peerid: truncated protobuf exits 1" 1 peerid "$L" peerid "${ED_PUB:0:40}"
expect_fail "peerid: ed25519 key of 31 bytes exits 1" 1 peerid "$L" peerid "0801121f${ED_PUB:8:62}"
expect_fail "peerid: unknown key type exits 1" 1 peerid "$L" peerid "0809${ED_PUB:4}"
expect_fail "peerid: empty input exits 1" 1 peerid "$L" peerid ""
expect_fail "peerid: missing argument exits 2" 2 peerid "$L" peerid
expect_fail "peerid: extra argument exits 2" 2 peerid "$L" peerid $ED_PUB $ED_PUB
expect_fail "peerid: unknown option exits 2" 2 peerid "$L" peerid --frob $ED_PUB

# ---- id with the spec private keys ----------------------------------------
for v in ED K1 EC RSA; do
  priv=${v}_PRIV pub=${v}_PUB id=${v}_ID
  hex2bin "${!priv}" >"$T/spec_$v.key"
  expect_ok "id --key on the $v spec private key gives the spec public key" \
    "${!id}"$'\n'"${!pub}" "$L" id --key "$T/spec_$v.key"
done
expect_ok "id --key=FILE form" "$ED_ID"$'\n'"$ED_PUB" "$L" id --key="$T/spec_ED.key"
expect_fail "id: missing --key exits 2" 2 id "$L" id
expect_fail "id: --key without value exits 2" 2 id "$L" id --key
expect_fail "id: empty --key value exits 2" 2 id "$L" id --key ""
expect_fail "id: empty --key= value exits 2" 2 id "$L" id --key=
expect_fail "id: --key twice exits 2" 2 id "$L" id --key "$T/spec_ED.key" --key "$T/spec_ED.key"
expect_fail "id: extra argument exits 2" 2 id "$L" id --key "$T/spec_ED.key" extra
expect_fail "id: missing key file exits 1" 1 id "$L" id --key "$T/nonexistent"
expect_fail "id: directory as key file exits 1" 1 id "$L" id --key "$T"
: >"$T/empty.key"
expect_fail "id: empty key file exits 1" 1 id "$L" id --key "$T/empty.key"
hex2bin "${ED_PRIV:0:60}" >"$T/trunc.key"
expect_fail "id: truncated key file exits 1" 1 id "$L" id --key "$T/trunc.key"
hex2bin "$ED_PUB" >"$T/pub_as_priv.key"
expect_fail "id: public key given as key file exits 1" 1 id "$L" id --key "$T/pub_as_priv.key"
head -c 100000 /dev/zero >"$T/huge.key"
expect_fail "id: oversized key file exits 1" 1 id "$L" id --key "$T/huge.key"

# ---- keygen ------------------------------------------------------------------
for ty in ed25519 secp256k1 ecdsa rsa; do
  f="$T/$ty.key"
  run "$L" keygen --type $ty --out "$f"
  gen_id=$OUT
  check "keygen --type $ty exits 0 and prints one PeerId line" \
    "$([ $RC = 0 ] && [ ! -s "$T/err" ] && [ "$(wc -l <"$T/out")" = 1 ] && [ -n "$gen_id" ]; echo $?)" "rc=$RC $ERR"
  check "keygen --type $ty writes the key file with mode 0600" \
    "$([ "$(file_mode "$f")" = 600 ]; echo $?)" "mode=$(file_mode "$f" 2>&1)"
  run "$L" id --key "$f"
  id_line=$(sed -n 1p "$T/out") pub_hex=$(sed -n 2p "$T/out")
  check "id --key on a $ty key prints the keygen PeerId and its public key" \
    "$([ $RC = 0 ] && [ "$id_line" = "$gen_id" ] && [ "$(wc -l <"$T/out")" = 2 ] &&
      [[ $pub_hex =~ ^[0-9a-f]+$ ]]; echo $?)" "rc=$RC id=$id_line gen=$gen_id"
  check "$ty PeerId matches the independent derivation from its public key" \
    "$([ "$(derive_peerid "$pub_hex")" = "$gen_id" ]; echo $?)" "derived=$(derive_peerid "$pub_hex") got=$gen_id"
  expect_ok "peerid of the $ty public key agrees with id" \
    "$gen_id"$'\n'"$(derive_cid "$pub_hex")" "$L" peerid "$pub_hex"
  case $ty in
  ed25519) want='^12D3KooW' ;; secp256k1) want='^16Uiu2' ;; *) want='^Qm' ;;
  esac
  check "$ty PeerId has the expected multihash form" "$([[ $gen_id =~ $want ]]; echo $?)" "$gen_id"
  data=00010203deadbeef$(printf '%02x' {0..200})
  run "$L" sign --key "$f" "$data"
  sig=$OUT
  check "sign with the $ty key prints a hex signature" \
    "$([ $RC = 0 ] && [[ $sig =~ ^[0-9a-f]+$ ]] && [ ! -s "$T/err" ]; echo $?)" "rc=$RC $ERR"
  verify_ok "verify a $ty signature" "$pub_hex" "$data" "$sig"
  expect_fail "verify fails on a flipped signature bit ($ty)" 1 verify \
    "$L" verify "$pub_hex" "$data" "$(flip_hex "$sig" -1)"
  expect_fail "verify fails on a flipped data bit ($ty)" 1 verify \
    "$L" verify "$pub_hex" "$(flip_hex "$data" 5)" "$sig"
  expect_fail "verify fails with another key's public key ($ty)" 1 verify \
    "$L" verify "$ED_PUB" "$data" "$sig"
  run "$L" sign --key "$f" ""
  verify_ok "sign and verify empty data ($ty)" "$pub_hex" "" "$OUT"
  eval "GEN_${ty}_PUB=\$pub_hex GEN_${ty}_ID=\$gen_id"
done
run "$L" keygen --out "$T/default.key"
run2_id=$OUT
run "$L" peerid "$(sed -n 2p < <("$L" id --key "$T/default.key"))"
check "keygen default type is ed25519" \
  "$([[ $run2_id =~ ^12D3KooW ]] && [ "$(head -c 4 "$T/default.key" | bin2hex)" = 08011240 ]; echo $?)" "$run2_id"
run "$L" keygen --out "$T/other.key"
check "two keygens give different keys" "$([ "$OUT" != "$run2_id" ]; echo $?)"
cp "$T/ed25519.key" "$T/before"
expect_fail "keygen refuses to overwrite an existing file (exit 1)" 1 keygen \
  "$L" keygen --out "$T/ed25519.key"
check "refused keygen leaves the existing file untouched" "$(cmp -s "$T/before" "$T/ed25519.key"; echo $?)"
ln -s "$T/target-does-not-exist" "$T/dangling"
expect_fail "keygen refuses a dangling symlink" 1 keygen "$L" keygen --out "$T/dangling"
check "keygen did not create the symlink target" "$([ ! -e "$T/target-does-not-exist" ]; echo $?)"
expect_fail "keygen into a missing directory exits 1" 1 keygen "$L" keygen --out "$T/no/such/dir.key"
(umask 0; "$L" keygen --out "$T/umask0.key" >/dev/null 2>&1)
check "keygen mode is 0600 even with umask 0" "$([ "$(file_mode "$T/umask0.key")" = 600 ]; echo $?)"
run "$L" keygen --type rsa --bits 3072 --out "$T/rsa3072.key"
check "keygen rsa --bits 3072" "$([ $RC = 0 ] && [[ $OUT =~ ^Qm ]]; echo $?)" "rc=$RC $ERR"
run "$L" id --key "$T/rsa3072.key"
pub_hex=$(sed -n 2p "$T/out")
# 3072-bit PKIX DER: the modulus is 384 bytes, so Data is about 422 bytes.
check "rsa --bits 3072 key has a 3072-bit sized public key" \
  "$([ ${#pub_hex} -gt 830 ] && [ ${#pub_hex} -lt 860 ]; echo $?)" "len=${#pub_hex}"
expect_fail "keygen: --bits with ed25519 exits 2" 2 keygen "$L" keygen --bits 2048 --out "$T/x1.key"
expect_fail "keygen: --bits with secp256k1 exits 2" 2 keygen "$L" keygen --type secp256k1 --bits 2048 --out "$T/x2.key"
expect_fail "keygen: rsa --bits 1024 exits 2" 2 keygen "$L" keygen --type rsa --bits 1024 --out "$T/x3.key"
expect_fail "keygen: rsa --bits 8192 exits 2" 2 keygen "$L" keygen --type rsa --bits 8192 --out "$T/x4.key"
expect_fail "keygen: rsa --bits not a number exits 2" 2 keygen "$L" keygen --type rsa --bits 2k --out "$T/x5.key"
expect_fail "keygen: rsa --bits -2048 exits 2" 2 keygen "$L" keygen --type rsa --bits=-2048 --out "$T/x6.key"
expect_fail "keygen: unknown --type exits 2" 2 keygen "$L" keygen --type dsa --out "$T/x7.key"
expect_fail "keygen: missing --out exits 2" 2 keygen "$L" keygen
expect_fail "keygen: extra argument exits 2" 2 keygen "$L" keygen --out "$T/x8.key" extra
expect_fail "keygen: unknown option exits 2" 2 keygen "$L" keygen --out "$T/x9.key" --force
expect_fail "keygen: short option exits 2" 2 keygen "$L" keygen -o "$T/x10.key"
check "failed keygens created no files" "$(ls "$T"/x*.key >/dev/null 2>&1; [ $? != 0 ]; echo $?)" "$(ls "$T"/x*.key 2>&1)"

# ---- sign / verify with the spec keys and bad input -----------------------
run "$L" sign --key "$T/spec_ED.key" 68656c6c6f
ED_SIG=$OUT
verify_ok "spec ed25519 key: sign then verify with the spec public key" $ED_PUB 68656c6c6f "$ED_SIG"
run "$L" sign --key "$T/spec_ED.key" 68656c6c6f
check "ed25519 signatures are deterministic" "$([ "$OUT" = "$ED_SIG" ] && [ ${#OUT} = 128 ]; echo $?)"
run "$L" sign --key "$T/spec_K1.key" 68656c6c6f
verify_ok "spec secp256k1 key: sign then verify with the spec public key" $K1_PUB 68656c6c6f "$OUT"
run "$L" sign --key "$T/spec_EC.key" 68656c6c6f
verify_ok "spec ecdsa key: sign then verify with the spec public key" $EC_PUB 68656c6c6f "$OUT"
run "$L" sign --key "$T/spec_RSA.key" 68656c6c6f
verify_ok "spec rsa key: sign then verify with the spec public key" $RSA_PUB 68656c6c6f "$OUT"
expect_fail "sign: bad data hex exits 1" 1 sign "$L" sign --key "$T/spec_ED.key" 6g
expect_fail "sign: odd data hex exits 1" 1 sign "$L" sign --key "$T/spec_ED.key" 123
expect_fail "sign: missing data exits 2" 2 sign "$L" sign --key "$T/spec_ED.key"
expect_fail "sign: missing --key exits 2" 2 sign "$L" sign 00
expect_fail "sign: bad key file exits 1" 1 sign "$L" sign --key "$T/trunc.key" 00
expect_fail "sign: missing key file exits 1" 1 sign "$L" sign --key "$T/nope" 00
expect_fail "verify: truncated signature exits 1" 1 verify "$L" verify $ED_PUB 68656c6c6f "${ED_SIG:0:126}"
expect_fail "verify: empty signature exits 1" 1 verify "$L" verify $ED_PUB 68656c6c6f ""
expect_fail "verify: signature with extra byte exits 1" 1 verify "$L" verify $ED_PUB 68656c6c6f "${ED_SIG}00"
expect_fail "verify: bad signature hex exits 1" 1 verify "$L" verify $ED_PUB 68656c6c6f "x${ED_SIG:1}"
expect_fail "verify: bad public key exits 1" 1 verify "$L" verify 0801 68656c6c6f "$ED_SIG"
expect_fail "verify: missing argument exits 2" 2 verify "$L" verify $ED_PUB 68656c6c6f
expect_fail "verify: extra argument exits 2" 2 verify "$L" verify $ED_PUB 68656c6c6f "$ED_SIG" 00

# ---- maddr -------------------------------------------------------------------
maddr_pair() { # TEXT HEX: encode, decode, both directions exact
  expect_ok "maddr encode $1" "$2" "$L" maddr encode "$1"
  expect_ok "maddr decode to $1" "$1" "$L" maddr decode "$2"
}
# Binary forms by the multiaddr spec: varint protocol code, then the value
# (ip4 4 bytes, ports 2 bytes big-endian, names and p2p multihashes
# varint-length-prefixed). Codes: ip4 04, tcp 06, udp 0111 (91 02), ip6 29,
# dns4 36, ws 01dd (dd 03), quic-v1 01cd (cd 03), p2p 01a5 (a5 03).
maddr_pair /ip4/127.0.0.1/tcp/4001 047f000001060fa1
maddr_pair /ip4/1.2.3.4/udp/1234/quic-v1 0401020304910204d2cd03
maddr_pair /ip6/::1/tcp/80 2900000000000000000000000000000001060050
maddr_pair /ip6/2001:db8::1/udp/4001/quic-v1 2920010db800000000000000000000000191020fa1cd03
maddr_pair /dns4/example.com/tcp/443 360b6578616d706c652e636f6d0601bb
maddr_pair /ip4/1.2.3.4/tcp/1/ws 0401020304060001dd03
maddr_pair /ip4/127.0.0.1/tcp/4001/p2p/$ED_ID 047f000001060fa1a50326$(pk_multihash $ED_PUB)
maddr_pair /p2p/$RSA_ID a50322$(pk_multihash $RSA_PUB)
expect_ok "maddr decode accepts uppercase hex" /ip4/127.0.0.1/tcp/4001 "$L" maddr decode 047F000001060FA1
expect_ok "maddr encode of a non-canonical ip6 form" 2900000000000000000000000000000001060050 \
  "$L" maddr encode /ip6/0:0:0:0:0:0:0:1/tcp/80
run "$L" maddr encode /ip6/0:0:0:0:0:0:0:1/tcp/80
expect_ok "maddr decode prints the canonical text" /ip6/::1/tcp/80 "$L" maddr decode "$OUT"
for bad in "" ip4/1.2.3.4 /ip4/256.0.0.1 /ip4/1.2.3 /ip4/1.2.3.4.5 /tcp/65536 /tcp/-1 /tcp/80x \
  /ip4 /ip4/1.2.3.4/tcp /frob/1 /ip6/::g /ip6/1:2:3:4:5:6:7:8:9 "/p2p/0OIl" "/ip4/1.2.3.4/tcp/1/p2p"; do
  expect_fail "maddr encode rejects '$bad' (exit 1)" 1 "maddr encode" "$L" maddr encode "$bad"
done
for bad in 047f 047f0000010600 06 0600 ffffffff0f 7f 047f000001060fa1a503 047f000001060fa1a50326 zz 047; do
  expect_fail "maddr decode rejects '$bad' (exit 1)" 1 "maddr decode" "$L" maddr decode "$bad"
done
expect_fail "maddr encode: missing argument exits 2" 2 "maddr encode" "$L" maddr encode
expect_fail "maddr encode: extra argument exits 2" 2 "maddr encode" "$L" maddr encode /ip4/1.2.3.4 /tcp/1
expect_fail "maddr decode: missing argument exits 2" 2 "maddr decode" "$L" maddr decode
expect_fail "maddr decode: unknown option exits 2" 2 "maddr decode" "$L" maddr decode --x 047f000001

# ---- record seal / open ------------------------------------------------------
A1=/ip4/127.0.0.1/tcp/4001 A2=/ip6/::1/udp/4001/quic-v1 A3=/dns4/example.com/tcp/443/ws
for ty in ed25519 secp256k1 ecdsa rsa; do
  idv=GEN_${ty}_ID
  run "$L" record seal --key "$T/$ty.key" --seq 42 $A1 $A2 $A3
  env_hex=$OUT
  check "record seal with a $ty key prints hex" \
    "$([ $RC = 0 ] && [[ $env_hex =~ ^[0-9a-f]+$ ]] && [ ! -s "$T/err" ]; echo $?)" "rc=$RC $ERR"
  expect_ok "record open of a $ty-signed record" \
    "peer ${!idv}"$'\n'"seq 42"$'\n'"addr $A1"$'\n'"addr $A2"$'\n'"addr $A3" \
    "$L" record open "$env_hex"
  expect_fail "record open: flipped last bit (signature) of a $ty envelope exits 1" 1 "record open" \
    "$L" record open "$(flip_hex "$env_hex" -1)"
  eval "ENV_$ty=\$env_hex"
done
E=$ENV_ed25519
# Flip a bit inside the signed payload: the address bytes of A1 (7f000001)
# sit in the payload, which the signature covers.
i=$(awk -v h="$E" 'BEGIN { print index(h, "047f000001060fa1") + 3 }')
check "the envelope carries the ip4 address bytes" "$([ "$i" -gt 3 ]; echo $?)"
expect_fail "record open: tampered payload exits 1" 1 "record open" "$L" record open "$(flip_hex "$E" "$i")"
expect_fail "record open: truncated envelope exits 1" 1 "record open" "$L" record open "${E:0:$((${#E} - 2))}"
expect_fail "record open: envelope with a trailing byte exits 1" 1 "record open" "$L" record open "${E}00"
expect_fail "record open: half an envelope exits 1" 1 "record open" "$L" record open "${E:0:$((${#E} / 2 & ~1))}"
expect_fail "record open: empty input exits 1" 1 "record open" "$L" record open ""
expect_fail "record open: garbage exits 1" 1 "record open" "$L" record open 0a0b0c0d
expect_fail "record open: bad hex exits 1" 1 "record open" "$L" record open "q$E"
expect_fail "record open: missing argument exits 2" 2 "record open" "$L" record open
run "$L" record seal --key "$T/ed25519.key" --seq 0 $A1
expect_ok "record seal with seq 0 and one address" "peer $GEN_ed25519_ID"$'\n'"seq 0"$'\n'"addr $A1" \
  "$L" record open "$OUT"
run "$L" record seal --key "$T/ed25519.key" --seq 18446744073709551615 $A1
expect_ok "record seal with the largest seq" "peer $GEN_ed25519_ID"$'\n'"seq 18446744073709551615"$'\n'"addr $A1" \
  "$L" record open "$OUT"
run "$L" record seal --key "$T/spec_ED.key" --seq 7 /ip4/1.2.3.4/tcp/1/p2p/$ED_ID
expect_ok "record seal with the spec key and a /p2p address" "peer $ED_ID"$'\n'"seq 7"$'\n'"addr /ip4/1.2.3.4/tcp/1/p2p/$ED_ID" \
  "$L" record open "$OUT"
expect_fail "record seal: invalid address exits 1" 1 "record seal" "$L" record seal --key "$T/ed25519.key" --seq 1 $A1 /ip4/300.1.1.1
expect_fail "record seal: missing --seq exits 2" 2 "record seal" "$L" record seal --key "$T/ed25519.key" $A1
expect_fail "record seal: missing --key exits 2" 2 "record seal" "$L" record seal --seq 1 $A1
expect_fail "record seal: non-numeric --seq exits 2" 2 "record seal" "$L" record seal --key "$T/ed25519.key" --seq x1 $A1
expect_fail "record seal: seq above 2^64-1 exits 2" 2 "record seal" "$L" record seal --key "$T/ed25519.key" --seq 18446744073709551616 $A1
expect_fail "record seal: no address exits 2" 2 "record seal" "$L" record seal --key "$T/ed25519.key" --seq 1
expect_fail "record seal: bad key file exits 1" 1 "record seal" "$L" record seal --key "$T/trunc.key" --seq 1 $A1

# Envelopes built here by hand from RFC 0002/0003 (signed with `lp2p sign`),
# so `record open` is checked against an independent encoder.
# pb_len HEX: one-byte length prefix (all fields here are < 128 bytes).
pb_len() { printf '%02x' $((${#1} / 2)); }
DOMAIN_HEX=$(printf 'libp2p-peer-record' | bin2hex)
hand_envelope() { # KEYFILE PUB_HEX DOMAIN_HEX PAYLOAD_HEX
  local sig
  sig=$("$L" sign --key "$1" "$(pb_len "$3")$3020301$(pb_len "$4")$4") || return 1
  printf '0a%s%s12020301' "$(pb_len "$2")" "$2"
  printf '1a%s%s2a%s%s\n' "$(pb_len "$4")" "$4" "$(pb_len "$sig")" "$sig"
}
addrinfo() { printf '1a%s0a%s%s' "$(printf '%02x' $((${#1} / 2 + 2)))" "$(pb_len "$1")" "$1"; }
ED_MH=$(pk_multihash $ED_PUB) K1_MH=$(pk_multihash $K1_PUB)
# PeerRecord {peer_id, seq 5, addrs: /ip4/127.0.0.1/tcp/4001 and an
# address with an unknown protocol code (0x3ffe), which must be skipped}.
REC="0a$(pb_len $ED_MH)${ED_MH}1005$(addrinfo 047f000001060fa1)$(addrinfo fe7f)"
HE=$(hand_envelope "$T/spec_ED.key" $ED_PUB "$DOMAIN_HEX" "$REC")
run "$L" record open "$HE"
check "record open of a hand-built envelope: record printed, unknown address skipped with a warning" \
  "$([ $RC = 0 ] && out_is "peer $ED_ID"$'\n'"seq 5"$'\n'"addr /ip4/127.0.0.1/tcp/4001" &&
    one_err_line "record open" && grep -q 'skipped' "$T/err"; echo $?)" "rc=$RC" "$OUT" "$ERR"
REC2="0a$(pb_len $K1_MH)${K1_MH}1005$(addrinfo 047f000001060fa1)"
expect_fail "record open: record for another peer than the signer exits 1" 1 "record open" \
  "$L" record open "$(hand_envelope "$T/spec_ED.key" $ED_PUB "$DOMAIN_HEX" "$REC2")"
expect_fail "record open: envelope signed under another domain exits 1" 1 "record open" \
  "$L" record open "$(hand_envelope "$T/spec_ED.key" $ED_PUB "$(printf 'libp2p-other' | bin2hex)" "$REC")"
expect_fail "record open: envelope signed by another key exits 1" 1 "record open" \
  "$L" record open "$(hand_envelope "$T/spec_K1.key" $ED_PUB "$DOMAIN_HEX" "$REC")"

# ---- output discipline ---------------------------------------------------------
"$L" peerid $ED_PUB >/dev/full 2>"$T/err"
RC=$? ERR=$(cat "$T/err")
check "a failed stdout write exits 1 with one error line" "$([ $RC = 1 ] && one_err_line peerid; echo $?)" "rc=$RC $ERR"
expect_ok "-- ends options" 047f000001060fa1 "$L" maddr encode -- /ip4/127.0.0.1/tcp/4001
expect_fail "a positional after -- may start with a dash" 1 "maddr encode" "$L" maddr encode -- --ip4
expect_fail "option value with a newline stays one stderr line" 2 keygen "$L" keygen --type $'ed\n25519' --out "$T/nl.key"

echo "# $FAILS failed"
[ $FAILS = 0 ]
