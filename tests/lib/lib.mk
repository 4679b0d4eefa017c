# Test tools that run inside the namespaces (tests/lib/netns.sh), and their unit tests.
# pathemu: what real paths do that Linux routers do not (delay, probes overtaken by new data,
# a firewall shifting sequence numbers), on an NFQUEUE in a router's namespace. It takes
# packets apart and opens its queue with the engine's own code.
PATHEMU_LIBS = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a
check_PROGRAMS += lib/pathemu lib/pathemu_test
TESTS += lib/pathemu_test
lib_pathemu_SOURCES = lib/pathemu.c lib/pathemu_pkt.c lib/pathemu.h
lib_pathemu_CFLAGS = $(AM_CFLAGS) $(NFQ_CFLAGS) $(MNL_CFLAGS)
lib_pathemu_LDADD = $(PATHEMU_LIBS) $(NFQ_LIBS) $(MNL_LIBS)
lib_pathemu_test_SOURCES = lib/pathemu_test.c lib/pathemu_pkt.c lib/pathemu.h
lib_pathemu_test_LDADD = $(PATHEMU_LIBS)
# flood: ICMP errors quoting a traced connection, faster than Python sends them (forged.sh).
check_PROGRAMS += lib/flood
lib_flood_SOURCES = lib/flood.c
# ttload: HTTP/1.0 load from the visitor, thousands of requests a second on one core, with each
# trace's hop list checked; a Python client was slower than the server it measured.
check_PROGRAMS += lib/ttload
lib_ttload_SOURCES = lib/ttload.c
# storebench: the broker's store alone writing traces into SQLite, as fast as it can
# (scripts/bench.sh's fleet section: the SQLite backend's own rate).
check_PROGRAMS += lib/storebench
lib_storebench_SOURCES = lib/storebench.c
lib_storebench_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
lib_storebench_LDADD = $(HELPER_UNIT_LIBS)
# querybench: operators' searches of a store storebench -q filled, through the store's calls
# (scripts/bench.sh's query section).
check_PROGRAMS += lib/querybench
lib_querybench_SOURCES = lib/querybench.c
lib_querybench_LDADD = $(HELPER_UNIT_LIBS)
