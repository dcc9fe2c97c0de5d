# lp2p build. `make` builds the libraries and tools, `make test` runs the
# whole suite (including an ASan+UBSan pass), `make demo` shows the main job.
# Every target that compiles first makes sure the Debian build deps exist.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
OPT     ?= -O2 -g
WERROR  ?=
SAN     ?=
SECONDS ?= 60

# The one version number: liblp2p.so.$(VERSION) with SONAME
# liblp2p.so.$(SOMAJOR) (the major changes on ABI breaks; 0.x promises
# none yet), lp2p.pc's Version and lp2p_version().
VERSION := 0.2.0
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME  := liblp2p.so.$(SOMAJOR)

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wconversion $(WERROR)
CPPFLAGS_ALL := -Iinclude -I. -D_DEFAULT_SOURCE -DLP2P_VERSION_TEXT='"$(VERSION)"'
CFLAGS_ALL   := -std=c11 $(OPT) -fPIC -fvisibility=hidden $(WARN) $(SAN) $(EXTRA_CFLAGS)
LIBS    := -lsodium -lcrypto -lbearssl -lsecp256k1 -lexpat -lm -lpthread

LIB_SRCS  := $(sort $(wildcard proto/*/*.c crypto/*.c sys/*.c drivers/*.c drivers/sim/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TOOLS     := $(sort $(notdir $(wildcard tools/*)))
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/obj/%.o)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/%.c=%)
# A target too big for one file keeps its parts in fuzz/<name>/*.c (fuzz_X's
# in fuzz/X/), linked into that target only: $(call fuzz_parts,fuzz_X,DIR)
# names their objects under DIR.
fuzz_parts = $(patsubst %.c,$(2)/fuzzobj/%.o,$(sort $(wildcard fuzz/$(patsubst fuzz_%,%,$(1))/*.c)))
# Fuzz builds compile the library again with LP2P_FUZZING (null AEAD inside
# crypto/ only, so fuzzers reach the Noise transport phase).
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
LIBFUZZ_DIR := build-libfuzzer
LIBFUZZ_BINS := $(FUZZ_NAMES:%=$(LIBFUZZ_DIR)/%)

.PHONY: all deps lib tools tests fuzz-replay test test-asan check-purity fuzz \
        nat-matrix fuzz-run bench bench-compare demo sim-soak soak sim-kad \
        sim-kad-10k install clean format

all: deps lib tools

deps:
	@mk/deps.sh

lib: $(BUILD)/lib/liblp2p.a $(BUILD)/lib/liblp2p.so

tools: $(TOOL_BINS)

# Atomic writes (tmp + mv) so parallel makes in one tree never see torn files.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -MT $@ -MF $@.d -c $< -o $@.$$$$.tmp && mv $@.$$$$.tmp $@

$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -DLP2P_FUZZING $(CFLAGS_ALL) -MMD -MP -MT $@ -MF $@.d -c $< -o $@.$$$$.tmp && mv $@.$$$$.tmp $@

$(BUILD)/lib/liblp2p.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@.$$$$.tmp && ar rcs $@.$$$$.tmp $^ && mv $@.$$$$.tmp $@

# The real file carries the full version; the SONAME link is what programs
# load at run time, the unversioned link what `-llp2p` finds at link time.
$(BUILD)/lib/liblp2p.so.$(VERSION): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN) -Wl,-soname,$(SONAME) -o $@.$$$$.tmp $^ $(LIBS) && mv $@.$$$$.tmp $@

$(BUILD)/lib/$(SONAME): $(BUILD)/lib/liblp2p.so.$(VERSION)
	ln -sfn liblp2p.so.$(VERSION) $@

$(BUILD)/lib/liblp2p.so: $(BUILD)/lib/$(SONAME)
	ln -sfn $(SONAME) $@

# lp2p_version() is compiled from VERSION: rebuild it when the Makefile
# changes.
$(BUILD)/obj/proto/common/err.o $(BUILD)/fuzzobj/proto/common/err.o: Makefile

$(BUILD)/lib/liblp2p-fuzz.a: $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@.$$$$.tmp && ar rcs $@.$$$$.tmp $^ && mv $@.$$$$.tmp $@

.SECONDEXPANSION:
$(BUILD)/bin/%: $$(addprefix $(BUILD)/obj/,$$(addsuffix .o,$$(basename $$(wildcard tools/$$*/*.c)))) $(BUILD)/lib/liblp2p.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@.$$$$.tmp $(filter %.o,$^) $(BUILD)/lib/liblp2p.a $(LIBS) && mv $@.$$$$.tmp $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TESTLIB_OBJS) $(BUILD)/lib/liblp2p.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@.$$$$.tmp $< $(TESTLIB_OBJS) $(BUILD)/lib/liblp2p.a -lcmocka $(LIBS) && mv $@.$$$$.tmp $@

$(BUILD)/fuzz/%: $(BUILD)/fuzzobj/fuzz/%.o $$(call fuzz_parts,$$*,$(BUILD)) $(BUILD)/fuzzobj/fuzz/lib/standalone.o $(BUILD)/lib/liblp2p-fuzz.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@.$$$$.tmp $^ $(LIBS) && mv $@.$$$$.tmp $@

tests: $(TEST_BINS) $(BUILD)/tests/nat/nfq-delay

# The NAT lab's latency helper (tests/nat/nfq_delay.c): an NFQUEUE delay,
# since the lab's kernel may have no netem.
$(BUILD)/tests/nat/nfq-delay: tests/nat/nfq_delay.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_DEFAULT_SOURCE $(OPT) $(WARN) $(SAN) -o $@.$$$$.tmp $< -lnetfilter_queue && mv $@.$$$$.tmp $@
fuzz-replay: $(FUZZ_REPLAY_BINS)

check-purity: $(filter $(BUILD)/obj/proto/%,$(LIB_OBJS))
	@mk/check-purity.sh $^

# The whole suite: unit tests, CLI tests, fuzz corpus replay, purity, then
# the same again under ASan+UBSan (clang). Ends with "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all tests fuzz-replay
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  lib tools tests fuzz-replay
	@mk/run-tests.sh $(BUILD) build-asan

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  lib tools tests fuzz-replay
	@mk/run-tests.sh build-asan

# libFuzzer binaries (clang); `make fuzz-run SECONDS=N` runs each for N s.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(LIBFUZZ_DIR) CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  $(LIBFUZZ_DIR)/lib/liblp2p-fuzz.a $(FUZZ_NAMES:%=$(LIBFUZZ_DIR)/fuzzobj/fuzz/%.o) \
	  $(foreach f,$(FUZZ_NAMES),$(call fuzz_parts,$(f),$(LIBFUZZ_DIR)))
	@$(foreach f,$(FUZZ_NAMES),\
	  clang -fsanitize=fuzzer,address,undefined -o $(LIBFUZZ_DIR)/$(f) \
	    $(LIBFUZZ_DIR)/fuzzobj/fuzz/$(f).o $(call fuzz_parts,$(f),$(LIBFUZZ_DIR)) \
	    $(LIBFUZZ_DIR)/lib/liblp2p-fuzz.a $(LIBS) || exit 1;)

fuzz-run: fuzz
	@mk/fuzz-run.sh $(LIBFUZZ_DIR) $(SECONDS) $(FUZZ_NAMES)

# `make bench OLD=<git rev>` also runs the old/new comparison below.
bench: all
	@$(MAKE) --no-print-directory $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))
	@mk/run-bench.sh $(BUILD)
	@if [ -n "$(OLD)" ]; then sh mk/bench-compare.sh $(OLD) $(BUILD); fi

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/lib/liblp2p.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LIBS)

# Old and new side by side: `make bench-compare OLD=<git rev>`.
OLD ?=
bench-compare: all
	@[ -n "$(OLD)" ] || { echo "bench-compare: give OLD=<git rev>" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))
	@sh mk/bench-compare.sh $(OLD) $(BUILD)

# The whole hole-punching matrix of the NAT lab (tests/nat/holepunch.sh):
# every NAT pair x drop/RST firewall x latencies, >= 3 runs each, and a
# table. Needs root or unprivileged user namespaces.
nat-matrix: all
	@$(MAKE) --no-print-directory $(BUILD)/tests/nat/nfq-delay
	@LP2P_BUILD=$(BUILD) bash tests/nat/holepunch.sh --matrix

# Random-seed soak of the simulator scenarios: `make sim-soak SEEDS=N`.
SEEDS ?= 100
sim-soak: all
	@bash tests/sim/soak.sh $(SEEDS)

# punch's end-to-end suite with 10 GiB through the forwarder (issue 14);
# `make test` runs it with 1 GiB.
soak: all
	@PUNCH_INTEGRITY_BYTES=10737418240 LP2P_BUILD=$(BUILD) bash tests/punch/run.sh

# The full-size DHT scenarios of issue 10 (minutes each, so make test runs
# their 200-host variants instead): `make sim-kad` runs kad, kad-churn and
# kad-partition with 1,000 hosts, `make sim-kad-10k` kad with 10,000 hosts
# (heap per host; lookups/s through bench/kad_sim.sh). KAD_SEED picks the
# seed (1).
KAD_SEED ?= 1
sim-kad: all
	@for sc in kad kad-churn kad-partition; do \
	  echo "== lp2p-sim --scenario $$sc --seed $(KAD_SEED)"; \
	  $(BUILD)/bin/lp2p-sim --scenario $$sc --seed $(KAD_SEED) || exit 1; \
	done

sim-kad-10k: all
	@LP2P_BUILD=$(BUILD) LP2P_BENCH_KAD_SEED=$(KAD_SEED) sh bench/kad_sim.sh kad-10k

demo: all
	@mk/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/include/lp2p $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/lp2p/*.h $(DESTDIR)$(PREFIX)/include/lp2p/
	install -m 644 $(BUILD)/lib/liblp2p.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/lib/liblp2p.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sfn liblp2p.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(PREFIX)/lib/liblp2p.so
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' mk/lp2p.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lp2p.pc

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan $(LIBFUZZ_DIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
