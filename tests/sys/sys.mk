# system tests (root, network namespaces): each builds its own network of namespaces with real
# Linux routers, runs tracetrout-serve from the build tree in it and cleans up, even on failure.
# Without root they say "1..0 # SKIP"; TRACETROUT_SKIP_SYSTEM=1 skips them too.
SYS_TESTS = \
	sys/rules.sh \
	sys/trace.sh \
	sys/privsep.sh \
	sys/links.sh \
	sys/trace-long.sh \
	sys/silent.sh \
	sys/nat.sh \
	sys/bulk.sh \
	sys/untraced.sh \
	sys/helper-down.sh \
	sys/cleanup.sh \
	sys/ratelimit.sh \
	sys/requests.sh \
	sys/kills.sh \
	sys/forged.sh \
	sys/sanitizers.sh \
	sys/exact-load.sh \
	sys/load.sh \
	sys/overload.sh \
	sys/limits.sh \
	sys/datasafety.sh \
	sys/history.sh \
	sys/truncate.sh \
	sys/enrich.sh \
	sys/names.sh \
	sys/browser.sh \
	sys/webservers.sh \
	sys/keepalive.sh \
	sys/nosack.sh \
	sys/sites.sh \
	sys/metrics.sh \
	sys/engine-checks.sh \
	sys/prefixes.sh \
	sys/proxy.sh \
	sys/diagnose.sh \
	sys/path-gro.sh \
	sys/path-hold.sh \
	sys/path-invalid.sh \
	sys/path-lostfirst.sh \
	sys/path-ipid.sh \
	sys/path-loss.sh \
	sys/late.sh \
	sys/path-nodsack.sh \
	sys/path-nosack.sh \
	sys/path-seqshift.sh \
	sys/fleet.sh \
	sys/query.sh \
	sys/install.sh
TESTS += $(SYS_TESTS)
dist_check_SCRIPTS += $(SYS_TESTS)
EXTRA_DIST += sys/lib.sh

# The tests run tracetrout-serve and tracetrout-rules, which the top directory makes after this
# one; make them first.
SYS_BUILT = $(top_builddir)/tracetrout-serve $(top_builddir)/tracetrout-rules
$(SYS_TESTS:.sh=.log): $(SYS_BUILT)
$(SYS_BUILT): $(top_srcdir)/scripts/tracetrout-serve.in $(top_srcdir)/scripts/tracetrout-rules.in
	cd $(top_builddir) && $(MAKE) $(AM_MAKEFLAGS) tracetrout-serve tracetrout-rules
