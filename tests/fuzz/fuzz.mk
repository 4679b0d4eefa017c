# libFuzzer targets (./configure --enable-fuzzer CC=clang). Seeds live in fuzz/corpus/<target>/.
FUZZ_TARGETS = pkt proto ct fcgi emsg
# What each target links, as a fuzzer and as its replay below.
FUZZ_PKT_LIBS = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a
FUZZ_PROTO_LIBS = $(top_builddir)/common/libcommon.a
FUZZ_CT_LIBS = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a $(MNL_LIBS)
FUZZ_FCGI_LIBS = $(top_builddir)/fcgi/libapp.a $(top_builddir)/web/libweb.a \
	$(top_builddir)/common/libcommon.a
FUZZ_EMSG_LIBS = $(FUZZ_CT_LIBS)
if ENABLE_FUZZER
FUZZ_CFLAGS = -fsanitize=fuzzer,address,undefined
noinst_PROGRAMS = fuzz/fuzz_pkt fuzz/fuzz_proto fuzz/fuzz_ct fuzz/fuzz_fcgi fuzz/fuzz_emsg
fuzz_fuzz_pkt_SOURCES = fuzz/fuzz_pkt.c
fuzz_fuzz_pkt_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_fuzz_pkt_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_pkt_LDADD = $(FUZZ_PKT_LIBS)
fuzz_fuzz_proto_SOURCES = fuzz/fuzz_proto.c
fuzz_fuzz_proto_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_fuzz_proto_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_proto_LDADD = $(FUZZ_PROTO_LIBS)
fuzz_fuzz_ct_SOURCES = fuzz/fuzz_ct.c
fuzz_fuzz_ct_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(MNL_CFLAGS)
fuzz_fuzz_ct_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_ct_LDADD = $(FUZZ_CT_LIBS)
fuzz_fuzz_fcgi_SOURCES = fuzz/fuzz_fcgi.c
fuzz_fuzz_fcgi_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_fuzz_fcgi_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_fcgi_LDADD = $(FUZZ_FCGI_LIBS)
fuzz_fuzz_emsg_SOURCES = fuzz/fuzz_emsg.c
fuzz_fuzz_emsg_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(MNL_CFLAGS)
fuzz_fuzz_emsg_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_emsg_LDADD = $(FUZZ_EMSG_LIBS)

# Runs each target for FUZZ_SECONDS (default 60) from its seed corpus (new inputs go to
# fuzz/work-<target>, the tree's corpus is not touched); fails on any crash, leak or timeout.
# FUZZ_TARGETS="fcgi" runs one. The summary's figures come from -print_final_stats.
FUZZ_SECONDS ?= 60
fuzz: $(noinst_PROGRAMS)
	@rm -f fuzz/summary; fail=0; \
	for t in $(FUZZ_TARGETS); do \
		rm -rf fuzz/work-$$t; mkdir -p fuzz/work-$$t; \
		dict=; test -f $(srcdir)/fuzz/$$t.dict && dict=-dict=$(srcdir)/fuzz/$$t.dict; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		./fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=fuzz/crash-$$t- $$dict \
			fuzz/work-$$t $(srcdir)/fuzz/corpus/$$t > fuzz/fuzz_$$t.out 2>&1; rc=$$?; \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz/fuzz_$$t.out); \
		rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' fuzz/fuzz_$$t.out); \
		cov=$$(grep -o 'cov: [0-9]*' fuzz/fuzz_$$t.out | tail -1 | cut -d' ' -f2); \
		if test $$rc = 0; then res=ok; else res="CRASH (exit $$rc)"; fail=$$((fail + 1)); \
			grep -A30 -m1 'ERROR: \|runtime error:\|==ERROR' fuzz/fuzz_$$t.out; fi; \
		printf '%-12s %6s s %12s execs %8s exec/s cov %-6s new inputs %4s  %s\n' fuzz_$$t \
			$(FUZZ_SECONDS) "$${execs:-?}" "$${rate:-?}" "$${cov:-?}" \
			$$(ls fuzz/work-$$t | wc -l) "$$res" >> fuzz/summary; \
	done; \
	echo "== fuzz summary (crashes: $$fail target(s) failed)"; cat fuzz/summary; \
	test $$fail = 0
.PHONY: fuzz
endif
EXTRA_DIST += fuzz/fuzz_pkt.c fuzz/fuzz_proto.c fuzz/fuzz_ct.c fuzz/fuzz_fcgi.c fuzz/fuzz_emsg.c \
	fuzz/fcgi.dict \
	fuzz/corpus fuzz/make-seeds.py


# Every target's seeds, replayed without libFuzzer as a TAP test in make check (one test point
# a seed file), with the normal compiler: fuzz/replay_TARGET is replay.c and fuzz_TARGET.c.
# fuzz/replay_TARGET FILE|DIR... replays others (a crash input, a work directory).
FUZZ_REPLAYS = fuzz/replay_pkt fuzz/replay_proto fuzz/replay_ct fuzz/replay_fcgi fuzz/replay_emsg
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
fuzz_replay_pkt_SOURCES = fuzz/replay.c fuzz/fuzz_pkt.c
fuzz_replay_pkt_CPPFLAGS = $(AM_CPPFLAGS) -DTT_FUZZ_TARGET='"pkt"' \
	-DTT_FUZZ_CORPUS='"$(abs_srcdir)/fuzz/corpus/pkt"'
fuzz_replay_pkt_LDADD = $(FUZZ_PKT_LIBS)
fuzz_replay_proto_SOURCES = fuzz/replay.c fuzz/fuzz_proto.c
fuzz_replay_proto_CPPFLAGS = $(AM_CPPFLAGS) -DTT_FUZZ_TARGET='"proto"' \
	-DTT_FUZZ_CORPUS='"$(abs_srcdir)/fuzz/corpus/proto"'
fuzz_replay_proto_LDADD = $(FUZZ_PROTO_LIBS)
fuzz_replay_ct_SOURCES = fuzz/replay.c fuzz/fuzz_ct.c
fuzz_replay_ct_CPPFLAGS = $(AM_CPPFLAGS) -DTT_FUZZ_TARGET='"ct"' \
	-DTT_FUZZ_CORPUS='"$(abs_srcdir)/fuzz/corpus/ct"'
fuzz_replay_ct_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
fuzz_replay_ct_LDADD = $(FUZZ_CT_LIBS)
fuzz_replay_fcgi_SOURCES = fuzz/replay.c fuzz/fuzz_fcgi.c
fuzz_replay_fcgi_CPPFLAGS = $(AM_CPPFLAGS) -DTT_FUZZ_TARGET='"fcgi"' \
	-DTT_FUZZ_CORPUS='"$(abs_srcdir)/fuzz/corpus/fcgi"'
fuzz_replay_fcgi_LDADD = $(FUZZ_FCGI_LIBS)
fuzz_replay_emsg_SOURCES = fuzz/replay.c fuzz/fuzz_emsg.c
fuzz_replay_emsg_CPPFLAGS = $(AM_CPPFLAGS) -DTT_FUZZ_TARGET='"emsg"' \
	-DTT_FUZZ_CORPUS='"$(abs_srcdir)/fuzz/corpus/emsg"'
fuzz_replay_emsg_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
fuzz_replay_emsg_LDADD = $(FUZZ_EMSG_LIBS)
