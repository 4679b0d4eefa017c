# libFuzzer targets (./configure --enable-fuzzer CC=clang). Seeds live in fuzz/corpus/<target>/.
if ENABLE_FUZZER
FUZZ_CFLAGS = -fsanitize=fuzzer,address,undefined
noinst_PROGRAMS = fuzz/fuzz_pkt fuzz/fuzz_proto fuzz/fuzz_ct
fuzz_fuzz_pkt_SOURCES = fuzz/fuzz_pkt.c
fuzz_fuzz_pkt_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_fuzz_pkt_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_pkt_LDADD = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a
fuzz_fuzz_proto_SOURCES = fuzz/fuzz_proto.c
fuzz_fuzz_proto_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_fuzz_proto_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_proto_LDADD = $(top_builddir)/common/libcommon.a
fuzz_fuzz_ct_SOURCES = fuzz/fuzz_ct.c
fuzz_fuzz_ct_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(MNL_CFLAGS)
fuzz_fuzz_ct_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_ct_LDADD = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a $(MNL_LIBS)

# Runs each target for FUZZ_SECONDS (default 60) from its seed corpus; fails on any crash.
FUZZ_SECONDS ?= 60
fuzz: $(noinst_PROGRAMS)
	@for t in pkt proto ct; do \
		mkdir -p fuzz/work-$$t; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		./fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -print_final_stats=1 \
			fuzz/work-$$t $(srcdir)/fuzz/corpus/$$t > fuzz/fuzz_$$t.out 2>&1; rc=$$?; \
		tail -4 fuzz/fuzz_$$t.out; test $$rc = 0 || exit 1; \
	done
.PHONY: fuzz
endif
EXTRA_DIST += fuzz/fuzz_pkt.c fuzz/fuzz_proto.c fuzz/fuzz_ct.c fuzz/corpus fuzz/make-seeds.py
