/* The peer-ids spec's key test vectors for all four key types: private key
 * protobuf -> public key, byte-exact re-marshal, peer id, and cross-checks
 * of signatures against an independent implementation (signatures made
 * with the same keys by a separate library). Plus malformed-key cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/crypto.h"
#include "lp2p/peerid.h"

/* Spec vectors ("Test vectors" in peer-ids.md), hex split into chunks
 * (ISO C bounds string literal length). */
static const char *const ecdsa_priv[] = {
    "08031279307702010104203e5b1fe9712e6c314942a750bd67485de3c1efe85b",
    "1bfb520ae8f9ae3dfa4a4ca00a06082a8648ce3d030107a14403420004de3d30",
    "0fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f",
    "8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62", NULL};

static const char *const ecdsa_pub[] = {
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de",
    "3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b",
    "6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62", NULL};

static const char *const ed_priv[] = {
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9d",
    "a60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d4",
    "74fce27e", NULL};

static const char *const ed_pub[] = {
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d4",
    "74fce27e", NULL};

static const char *const secp_priv[] = {
    "0802122053dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d",
    "56ced8fb", NULL};

static const char *const secp_pub[] = {
    "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0",
    "e630bfca99", NULL};

static const char *const rsa_priv[] = {
    "080012ae123082092a0201000282020100e1beab071d08200bde24eef00d0494",
    "49b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f2",
    "9986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c44",
    "5c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873",
    "282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606",
    "f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141",
    "ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e205",
    "61da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b",
    "3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d",
    "7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086",
    "d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4",
    "029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7",
    "adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b47",
    "53c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bd",
    "f0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe6481",
    "01b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcb",
    "c90caeefc4135baca6fd475224269bbe1b02030100010282020100a472ffa858",
    "efd8588ce59ee264b957452f3673acdf5631d7bfd5ba0ef59779c231b0bc838a",
    "8b14cae367b6d9ef572c03c7883b0a3c652f5c24c316b1ccfd979f13d0cd7da2",
    "0c7d34d9ec32dfdc81ee7292167e706d705efde5b8f3edfcba41409e642f8897",
    "357df5d320d21c43b33600a7ae4e505db957c1afbc189d73f0b5d972d9aaaeeb",
    "232ca20eebd5de6fe7f29d01470354413cc9a0af1154b7af7c1029adcd67c74b",
    "4798afeb69e09f2cb387305e73a1b5f450202d54f0ef096fe1bde340219a1194",
    "d1ac9026e90b366cce0c59b239d10e4888f52ca1780824d39ae01a6b9f4dd605",
    "9191a7f12b2a3d8db3c2868cd4e5a5862b8b625a4197d52c6ac77710116ebd3c",
    "ed81c4d91ad5fdfbed68312ebce7eea45c1833ca3acf7da2052820eacf5c6b07",
    "d086dabeb893391c71417fd8a4b1829ae2cf60d1749d0e25da19530d889461c2",
    "1da3492a8dc6ccac7de83ac1c2185262c7473c8cc42f547cc9864b02a8073b6a",
    "a54a037d8c0de3914784e6205e83d97918b944f11b877b12084c0dd1d36592f8",
    "a4f8b8da5bb404c3d2c079b22b6ceabfbcb637c0dbe0201f0909d533f8bf308a",
    "da47aee641a012a494d31b54c974e58b87f140258258bb82f31692659db7aa07",
    "e17a5b2a0832c24e122d3a8babcc9ee74cbb07d3058bb85b15f6f6b2674aba9f",
    "d34367be9782d444335fbed31e3c4086c652597c27104938b47fa10282010100",
    "e9fdf843c1550070ca711cb8ff28411466198f0e212511c3186623890c0071bf",
    "6561219682fe7dbdfd81176eba7c4faba21614a20721e0fcd63768e6d925688e",
    "cc90992059ac89256e0524de90bf3d8a052ce6a9f6adafa712f3107a016e20c8",
    "0255c9e37d8206d1bc327e06e66eb24288da866b55904fd8b59e6b2ab31bc5ea",
    "b47e597093c63fab7872102d57b4c589c66077f534a61f5f65127459a33c91f6",
    "db61fc431b1ae90be92b4149a3255291baf94304e3efb77b1107b5a3bda91135",
    "9c40a53c347ff9100baf8f36dc5cd991066b5bdc28b39ed644f404afe9213f4d",
    "31c9d4e40f3a5f5e3c39bebeb244e84137544e1a1839c1c8aaebf0c78a7fad59",
    "0282010100f6fa1f1e6b803742d5490b7441152f500970f46feb0b73a6e4baba",
    "2aaf3c0e245ed852fc31d86a8e46eb48e90fac409989dfee45238f97e8f1f8e8",
    "3a136488c1b04b8a7fb695f37b8616307ff8a8d63e8cfa0b4fb9b9167ffaebab",
    "f111aa5a4344afbabd002ae8961c38c02da76a9149abdde93eb389eb32595c29",
    "ba30d8283a7885218a5a9d33f7f01dbdf85f3aad016c071395491338ec318d39",
    "220e1c7bd69d3d6b520a13a30d745c102b827ad9984b0dd6aed73916ffa82a06",
    "c1c111e7047dcd2668f988a0570a71474992eecf416e068f029ec323d5d635fd",
    "24694fc9bf96973c255d26c772a95bf8b7f876547a5beabf86f06cd21b67994f",
    "944e7a5493028201010095b02fd30069e547426a8bea58e8a2816f33688dac6c",
    "6f6974415af8402244a22133baedf34ce499d7036f3f19b38eb00897c18949b0",
    "c5a25953c71aeeccfc8f6594173157cc854bd98f16dffe8f28ca13b77eb43a27",
    "30585c49fc3f608cd811bb54b03b84bddaa8ef910988567f783012266199667a",
    "546a18fd88271fbf63a45ae4fd4884706da8befb9117c0a4d73de5172f8640b1",
    "091ed8a4aea3ed4641463f5ff6a5e3401ad7d0c92811f87956d1fd5f9a1d15c7",
    "f3839a08698d9f35f9d966e5000f7cb2655d7b6c4adcd8a9d950ea5f61bb7c9a",
    "33c17508f9baa313eecfee4ae493249ebe05a5d7770bbd3551b2eeb752e3649e",
    "0636de08e3d672e66cb90282010100ad93e4c31072b063fc5ab5fe22afacece7",
    "75c795d0efdf7c704cfc027bde0d626a7646fc905bb5a80117e3ca49059af14e",
    "0160089f9190065be9bfecf12c3b2145b211c8e89e42dd91c38e9aa23ca73697",
    "063564f6f6aa6590088a738722df056004d18d7bccac62b3bafef6172fc2a4b0",
    "71ea37f31eff7a076bcab7dd144e51a9da8754219352aef2c73478971539fa41",
    "de4759285ea626fa3c72e7085be47d554d915bbb5149cb6ef835351f23104304",
    "9cd941506a034bf2f8767f3e1e42ead92f91cb3d75549b57ef7d56ac39c2d80d",
    "67f6a2b4ca192974bfc5060e2dd171217971002193dba12e7e4133ab201f0750",
    "0a90495a38610279b13a48d54f0c99028201003e3a1ac0c2b67d54ed5c4bbe04",
    "a7db99103659d33a4f9d35809e1f60c282e5988dddc964527f3b05e6cc890eab",
    "3dcb571d66debf3a5527704c87264b3954d7265f4e8d2c637dd89b491b9cf23f",
    "264801f804b90454d65af0c4c830d1aef76f597ef61b26ca857ecce9cb78d4f6",
    "c2218c00d2975d46c2b013fbf59b750c3b92d8d3ed9e6d1fd0ef1ec091a5c286",
    "a3fe2dead292f40f380065731e2079ebb9f2a7ef2c415ecbb488da98f3a12609",
    "ca1b6ec8c734032c8bd513292ff842c375d4acd1b02dfb206b24cd815f8e2f9d",
    "4af8e7dea0370b19c1b23cc531d78b40e06e1119ee2e08f6f31c6e2e8444c568",
    "d13c5d451a291ae0c9f1d4f27d23b3a00d60ad",
    NULL};

static const char *const rsa_pub[] = {
    "080012a60430820222300d06092a864886f70d01010105000382020f00308202",
    "0a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d",
    "5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae988008970",
    "4a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23",
    "c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e",
    "9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395",
    "ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83",
    "729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb4",
    "8d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766d",
    "a295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae924",
    "38a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc1462237",
    "5d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeff",
    "d7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa",
    "4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851",
    "a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c",
    "79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025",
    "ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd47",
    "5224269bbe1b0203010001",
    NULL};

static size_t unhex_parts(const char *const *parts, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (int i = 0; parts[i]; i++) {
    size_t k = strlen(parts[i]) / 2;
    assert_true(n + k <= cap);
    for (size_t j = 0; j < k; j++) {
      unsigned v;
      char b[3] = {parts[i][2 * j], parts[i][2 * j + 1], 0};
      assert_int_equal(sscanf(b, "%2x", &v), 1);
      out[n++] = (uint8_t)v;
    }
  }
  return n;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  const char *parts[] = {s, NULL};
  return unhex_parts(parts, out, cap);
}

typedef struct vec {
  lp2p_key_type type;
  const char *const *priv;
  const char *const *pub;
  const char *peer_b58; /* computed independently (python hashlib/base58) */
  const char *peer_cid;
} vec;

static const vec vecs[] = {
    {LP2P_KEY_ED25519, ed_priv, ed_pub,
     "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
     "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"},
    {LP2P_KEY_SECP256K1, secp_priv, secp_pub,
     "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
     "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte"},
    {LP2P_KEY_ECDSA, ecdsa_priv, ecdsa_pub,
     "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk",
     "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64"},
    {LP2P_KEY_RSA, rsa_priv, rsa_pub,
     "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG",
     "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu"},
};

static void check_vector(const vec *v) {
  static uint8_t priv[LP2P_PRIVKEY_PB_MAX], pub[LP2P_PUBKEY_PB_MAX],
      out[LP2P_PRIVKEY_PB_MAX];
  size_t privn = unhex_parts(v->priv, priv, sizeof(priv));
  size_t pubn = unhex_parts(v->pub, pub, sizeof(pub));
  size_t n;

  /* private key -> its public key, marshalled byte for byte as the spec */
  lp2p_privkey k;
  assert_int_equal(lp2p_privkey_unmarshal(&k, priv, privn), 0);
  assert_int_equal(k.type, v->type);
  assert_int_equal(lp2p_pubkey_marshal(&k.pub, out, sizeof(out), &n), 0);
  assert_int_equal(n, pubn);
  assert_memory_equal(out, pub, pubn);
  /* byte-exact re-marshal of the private key */
  assert_int_equal(lp2p_privkey_marshal(&k, out, sizeof(out), &n), 0);
  assert_int_equal(n, privn);
  assert_memory_equal(out, priv, privn);
  /* public key unmarshal / re-marshal */
  lp2p_pubkey p;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pub, pubn), 0);
  assert_true(lp2p_pubkey_equal(&p, &k.pub));
  assert_int_equal(lp2p_pubkey_marshal(&p, out, sizeof(out), &n), 0);
  assert_int_equal(n, pubn);
  assert_memory_equal(out, pub, pubn);
  /* NOSPACE on a short buffer, and the size is still reported */
  assert_int_equal(lp2p_pubkey_marshal(&p, out, pubn - 1, &n),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(n, pubn);

  /* peer id, both text forms, and parse back */
  lp2p_peerid id, id2;
  char text[LP2P_PEERID_TEXT_MAX];
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &p), 0);
  assert_int_equal(lp2p_peerid_to_base58(&id, text, sizeof(text), &n), 0);
  assert_string_equal(text, v->peer_b58);
  assert_int_equal(n, strlen(v->peer_b58));
  assert_int_equal(lp2p_peerid_to_cid_base32(&id, text, sizeof(text), &n), 0);
  assert_string_equal(text, v->peer_cid);
  assert_int_equal(lp2p_peerid_parse(&id2, v->peer_b58, strlen(v->peer_b58)),
                   0);
  assert_true(lp2p_peerid_equal(&id, &id2));
  assert_int_equal(lp2p_peerid_parse(&id2, v->peer_cid, strlen(v->peer_cid)),
                   0);
  assert_true(lp2p_peerid_equal(&id, &id2));
  assert_true(lp2p_peerid_matches_pubkey(&id, &k.pub));

  /* the spec key signs, and the spec public key verifies */
  uint8_t sig[LP2P_SIG_MAX];
  size_t sl = sizeof(sig);
  assert_int_equal(lp2p_key_sign(&k, (const uint8_t *)"hello", 5, sig, &sl), 0);
  assert_int_equal(lp2p_key_verify(&p, (const uint8_t *)"hello", 5, sig, sl),
                   0);
}

static void test_vector_ed25519(void **state) {
  (void)state;
  check_vector(&vecs[0]);
}
static void test_vector_secp256k1(void **state) {
  (void)state;
  check_vector(&vecs[1]);
}
static void test_vector_ecdsa(void **state) {
  (void)state;
  check_vector(&vecs[2]);
}
static void test_vector_rsa(void **state) {
  (void)state;
  check_vector(&vecs[3]);
}

/* Signatures over this message made with the spec keys by an independent
 * implementation (Python "cryptography"). Ed25519 and RSA PKCS#1 v1.5 are
 * deterministic, so ours must be identical; the ECDSA ones use random
 * nonces, and the secp256k1 one was deliberately given a high S. */
static const char kat_msg[] = "lp2p known-answer message";
static const char *const kat_ed[] = {
    "e43308a6d81c1675f34588056d0f964b687d8232638e8402123a42daadea0b29",
    "5ff211e19cf798520885b9ec837ac6b54d3ec7213c480868b9d682d662e4ea01", NULL};
static const char *const kat_rsa[] = {
    "8cdd23c6075cf2b9c39810b9b7f2135e50d666a08c13da22c2ba9a96117134da",
    "2d1087101413f251e4d8468e848456749c4b817dd5ab868098adc5540d530c08",
    "852eeacd9c6e36da9ebc9f6fd695a67c4e185c5d6d879cc5b1fe827d9ba36ce8",
    "a20b048a7cc13f86e2443a0116146dc6ed747e9b6f7728562af8fea1dc82e76b",
    "93823acee602f326ad5076516873d440232b918566cef1c7b4370f2e2b1fde38",
    "2f54ee3ceb8f8fc1398e218e3026a23ac7630ebaa42604e7ddc1792889305411",
    "33d9ee6e97eb94464e56cff26345cc43e55b1e44d4f4da583d6d77c78ed9dfbf",
    "91096e948b7dc81a94d50781de988c7c0eaede3af951e2330d4a0c5d71bb8020",
    "5e530dd9899a350728de2a950b62ef4cd2edfde3211a6c8699e7092437bcfb49",
    "55fa29da6788ef5f8c0866d656504a2a50aa8f85f2321b0682bba23b8bf36910",
    "0300b0e1fc1a5f39fe2664e63b7cdf4881b1ef575c323f569420e91c2888329f",
    "ac882b55316678ab3a719ec2dd7c9939a35e242d689d06f1b8ee75583b9ed008",
    "eccaf2c12c373ef540447120dd3d01d52ddbed3d11e31475e79105065a7f78a3",
    "3950d2e14a6b56f4bcd4e4510a4bf370b4054368161f960e7c39277185e1f89c",
    "9e68b2dbbd812070de0488605632aa43dec293255f65f844217ef0a851fc5259",
    "3c4df3f2cd47c78dcb3112a51d68bc6a0f565a3b943b687f72d7ab5adf990a7d",
    NULL};
static const char *kat_ecdsa =
    "3046022100dfe9cd31dfbbf8320b3395a001230ee95f89af2686c6d23e1a7e669d21c2"
    "49d602210099bc321caf63ce13d885e9d4af850a6bf8b5c7085b1634d91672c36481ae"
    "6cb1";
static const char *kat_secp_high_s =
    "304602210087c77ccdd972b357d9d92587cc783efa0d3b3d003bef4e3397f51d701e01"
    "1fe40221009835876f1228adedd95d4f883af0e07ecdd25abae28776f4e3e341fe1578"
    "387c";

static void load_priv(const vec *v, lp2p_privkey *k) {
  static uint8_t buf[LP2P_PRIVKEY_PB_MAX];
  size_t n = unhex_parts(v->priv, buf, sizeof(buf));
  assert_int_equal(lp2p_privkey_unmarshal(k, buf, n), 0);
}

static void test_kat_deterministic_signatures(void **state) {
  (void)state;
  uint8_t want[LP2P_SIG_MAX], sig[LP2P_SIG_MAX];
  const uint8_t *m = (const uint8_t *)kat_msg;
  size_t mn = strlen(kat_msg);
  lp2p_privkey k;

  load_priv(&vecs[0], &k);
  size_t wn = unhex_parts(kat_ed, want, sizeof(want)), sl = sizeof(sig);
  assert_int_equal(lp2p_key_sign(&k, m, mn, sig, &sl), 0);
  assert_int_equal(sl, wn);
  assert_memory_equal(sig, want, wn);
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, want, wn), 0);

  load_priv(&vecs[3], &k);
  wn = unhex_parts(kat_rsa, want, sizeof(want));
  sl = sizeof(sig);
  assert_int_equal(wn, 512);
  assert_int_equal(lp2p_key_sign(&k, m, mn, sig, &sl), 0);
  assert_int_equal(sl, wn);
  assert_memory_equal(sig, want, wn);
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, want, wn), 0);
}

static void test_kat_foreign_ecdsa_signatures(void **state) {
  (void)state;
  uint8_t sig[80];
  const uint8_t *m = (const uint8_t *)kat_msg;
  size_t mn = strlen(kat_msg);
  lp2p_privkey k;

  load_priv(&vecs[2], &k);
  size_t sl = unhex(kat_ecdsa, sig, sizeof(sig));
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, sig, sl), 0);
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn - 1, sig, sl),
                   LP2P_ERR_SIGNATURE);
  /* non-minimal DER (extra leading zero in r) is rejected */
  uint8_t bad[81];
  bad[0] = 0x30;
  bad[1] = (uint8_t)(sig[1] + 1);
  bad[2] = 0x02;
  bad[3] = (uint8_t)(sig[3] + 1);
  bad[4] = 0x00;
  memcpy(bad + 5, sig + 4, sl - 4);
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, bad, sl + 1),
                   LP2P_ERR_SIGNATURE);

  /* secp256k1: a high-S signature verifies after normalization, as in
   * go-libp2p */
  load_priv(&vecs[1], &k);
  sl = unhex(kat_secp_high_s, sig, sizeof(sig));
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, sig, sl), 0);
  sig[sl - 1] ^= 1;
  assert_int_equal(lp2p_key_verify(&k.pub, m, mn, sig, sl), LP2P_ERR_SIGNATURE);
}

static void test_ed25519_legacy_96(void **state) {
  (void)state;
  uint8_t priv[200], legacy[200], out[200];
  size_t n = unhex_parts(ed_priv, priv, sizeof(priv)), on;
  assert_int_equal(n, 68);
  /* 08 01 12 60 || seed || pub || pub */
  memcpy(legacy, priv, 4);
  legacy[3] = 0x60;
  memcpy(legacy + 4, priv + 4, 64);
  memcpy(legacy + 68, priv + 36, 32);
  lp2p_privkey k;
  assert_int_equal(lp2p_privkey_unmarshal(&k, legacy, 100), 0);
  assert_int_equal(k.len, 64); /* normalized to the preferred form */
  assert_int_equal(lp2p_privkey_marshal(&k, out, sizeof(out), &on), 0);
  assert_int_equal(on, n);
  assert_memory_equal(out, priv, n);
  /* the two public key copies must agree */
  legacy[99] ^= 1;
  assert_int_equal(lp2p_privkey_unmarshal(&k, legacy, 100), LP2P_ERR_PARSE);
  /* and the public half must belong to the seed */
  priv[67] ^= 1;
  assert_int_equal(lp2p_privkey_unmarshal(&k, priv, n), LP2P_ERR_PARSE);
}

static void test_protobuf_strictness(void **state) {
  (void)state;
  uint8_t pub[64], b[80];
  size_t n = unhex_parts(ed_pub, pub, sizeof(pub));
  lp2p_pubkey p;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pub, n), 0);
  /* unknown key type */
  memcpy(b, pub, n);
  b[1] = 4;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_KEY_TYPE);
  /* missing Data, missing Type */
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pub, 2), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pub + 2, n - 2), LP2P_ERR_PARSE);
  /* fields out of order */
  memcpy(b, pub + 2, n - 2);
  memcpy(b + n - 2, pub, 2);
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  /* extra trailing field */
  memcpy(b, pub, n);
  b[n] = 0x18;
  b[n + 1] = 0x01;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n + 2), LP2P_ERR_PARSE);
  /* non-minimal type varint (0x81 0x00) */
  b[0] = 0x08;
  b[1] = 0x81;
  b[2] = 0x00;
  memcpy(b + 3, pub + 2, n - 2);
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n + 1), LP2P_ERR_PARSE);
  /* truncated Data, over-long Data */
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pub, n - 1), LP2P_ERR_PARSE);
  memcpy(b, pub, n);
  b[n] = 0;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n + 1), LP2P_ERR_PARSE);
  /* wrong ed25519 length (31 bytes, consistent protobuf) */
  memcpy(b, pub, n - 1);
  b[3] = 31;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n - 1), LP2P_ERR_PARSE);
  /* Data longer than LP2P_PUBKEY_DATA_MAX */
  static uint8_t big[LP2P_PUBKEY_DATA_MAX + 8];
  big[0] = 0x08;
  big[1] = 0x00;
  big[2] = 0x12;
  big[3] = 0xd9; /* 601 = 0x259 */
  big[4] = 0x04;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, big, 5 + 601), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_pubkey_unmarshal(&p, NULL, 0), LP2P_ERR_PARSE);
}

static void test_malformed_keys(void **state) {
  (void)state;
  static uint8_t b[LP2P_PRIVKEY_PB_MAX];
  size_t n;
  lp2p_pubkey p;
  lp2p_privkey k;

  /* secp256k1: not a curve point (x = 5 has no square root? use x = 0) */
  n = unhex_parts(secp_pub, b, sizeof(b));
  memset(b + 5, 0, 32);
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  /* secp256k1 private: zero scalar and the group order are invalid */
  n = unhex_parts(secp_priv, b, sizeof(b));
  memset(b + 4, 0, 32);
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), LP2P_ERR_PARSE);
  unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        b + 4, 32);
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), LP2P_ERR_PARSE);

  /* ECDSA: point off the curve, wrong curve OID, wrong embedded key */
  n = unhex_parts(ecdsa_pub, b, sizeof(b));
  b[n - 1] ^= 1;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  b[n - 1] ^= 1;
  b[26] ^= 1; /* inside the curve OID */
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  n = unhex_parts(ecdsa_priv, b, sizeof(b));
  b[n - 1] ^= 1;
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), LP2P_ERR_PARSE);
  b[n - 1] ^= 1;
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), 0);

  /* RSA public: any change to the DER structure is rejected */
  n = unhex_parts(rsa_pub, b, sizeof(b));
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), 0);
  b[5] ^= 1; /* outer SEQUENCE length */
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  b[5] ^= 1;
  b[13] ^= 1; /* algorithm OID */
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n), LP2P_ERR_PARSE);
  b[13] ^= 1;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, b, n - 1), LP2P_ERR_PARSE);

  /* RSA private: a changed prime no longer multiplies to n. The spec key's
   * DER: 5 bytes of protobuf header, then p's contents at DER offset 1050
   * (after version, n, e, d; checked by the length asserts). */
  n = unhex_parts(rsa_priv, b, sizeof(b));
  assert_int_equal(n, 2355);
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), 0);
  assert_int_equal(b[5 + 1050 - 4], 0x02); /* INTEGER tag of p: 02 82 01 01 */
  b[5 + 1050 + 100] ^= 0x10;
  assert_int_equal(lp2p_privkey_unmarshal(&k, b, n), LP2P_ERR_PARSE);
  b[5 + 1050 + 100] ^= 0x10;
  /* a non-minimal INTEGER (version 0 as 02 02 00 00) is not DER */
  static uint8_t c[LP2P_PRIVKEY_PB_MAX + 1];
  memcpy(c, b, 9); /* 08 00 12 ae 12 30 82 09 2a */
  c[3] = 0xaf;     /* Data length + 1 */
  c[8] = 0x2b;     /* SEQUENCE length + 1 */
  c[9] = 0x02;
  c[10] = 0x02;
  c[11] = 0x00;
  c[12] = 0x00;
  memcpy(c + 13, b + 12, n - 12);
  assert_int_equal(lp2p_privkey_unmarshal(&k, c, n + 1), LP2P_ERR_PARSE);
  c[12] = 0x80; /* ... while 02 02 00 80 would be minimal but not 0 */
  assert_int_equal(lp2p_privkey_unmarshal(&k, c, n + 1), LP2P_ERR_PARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_ed25519),
      cmocka_unit_test(test_vector_secp256k1),
      cmocka_unit_test(test_vector_ecdsa),
      cmocka_unit_test(test_vector_rsa),
      cmocka_unit_test(test_kat_deterministic_signatures),
      cmocka_unit_test(test_kat_foreign_ecdsa_signatures),
      cmocka_unit_test(test_ed25519_legacy_96),
      cmocka_unit_test(test_protobuf_strictness),
      cmocka_unit_test(test_malformed_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
