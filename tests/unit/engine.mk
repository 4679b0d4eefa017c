# unit tests of the engine (pkt, probe, trace, ct): pure code, byte fixtures, no root
ENGINE_TEST_LIBS = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a

check_PROGRAMS += unit/pkt_test unit/probe_test unit/trace_test unit/ct_test unit/hopmem_test
TESTS += unit/pkt_test unit/probe_test unit/trace_test unit/ct_test unit/hopmem_test

unit_pkt_test_SOURCES = unit/pkt_test.c unit/fixtures.h
unit_pkt_test_CPPFLAGS = $(AM_CPPFLAGS) -DTT_TOP_SRCDIR='"$(abs_top_srcdir)"'
unit_pkt_test_LDADD = $(ENGINE_TEST_LIBS)

unit_probe_test_SOURCES = unit/probe_test.c unit/fixtures.h
unit_probe_test_LDADD = $(ENGINE_TEST_LIBS)

unit_trace_test_SOURCES = unit/trace_test.c unit/fixtures.h
unit_trace_test_LDADD = $(ENGINE_TEST_LIBS)

# The hop memory: the ICMP budget and reuse rules, struct fixtures and a fake clock.
unit_hopmem_test_SOURCES = unit/hopmem_test.c unit/fixtures.h
unit_hopmem_test_LDADD = $(ENGINE_TEST_LIBS)

unit_ct_test_SOURCES = unit/ct_test.c unit/fixtures.h
unit_ct_test_CPPFLAGS = $(AM_CPPFLAGS) -DTT_TOP_SRCDIR='"$(abs_top_srcdir)"'
unit_ct_test_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
unit_ct_test_LDADD = $(ENGINE_TEST_LIBS) $(MNL_LIBS)

check_PROGRAMS += unit/sockdiag_test
TESTS += unit/sockdiag_test
unit_sockdiag_test_SOURCES = unit/sockdiag_test.c
unit_sockdiag_test_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
unit_sockdiag_test_LDADD = $(ENGINE_TEST_LIBS) $(MNL_LIBS)

# The engine's own checks of a request, reached directly with fixtures (no broker in front).
check_PROGRAMS += unit/check_test
TESTS += unit/check_test
unit_check_test_SOURCES = unit/check_test.c unit/fixtures.h
unit_check_test_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
unit_check_test_LDADD = $(top_builddir)/helper/libhelper.a $(top_builddir)/common/libcommon.a $(MNL_LIBS) $(CAPNG_LIBS)

# The overload detector (helper/overload.c), with a fake clock, and how late the engine's loop
# came to its timers (engine.c).
check_PROGRAMS += unit/overload_test
TESTS += unit/overload_test
unit_overload_test_SOURCES = unit/overload_test.c
unit_overload_test_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
unit_overload_test_LDADD = $(ENGINE_TEST_LIBS) $(NFQ_LIBS) $(MNL_LIBS) $(CAPNG_LIBS) $(SECCOMP_LIBS)

# engine.c's pure parts: the time the timers run at after a bounded read of the queue.
check_PROGRAMS += unit/engine_test
TESTS += unit/engine_test
unit_engine_test_SOURCES = unit/engine_test.c
unit_engine_test_CFLAGS = $(AM_CFLAGS) $(MNL_CFLAGS)
unit_engine_test_LDADD = $(ENGINE_TEST_LIBS) $(NFQ_LIBS) $(MNL_LIBS) $(CAPNG_LIBS) $(SECCOMP_LIBS)

# emsg_check, the engine's validator of the broker's records, from fuzz_emsg's seed files.
check_PROGRAMS += unit/emsg_test
TESTS += unit/emsg_test
unit_emsg_test_SOURCES = unit/emsg_test.c
unit_emsg_test_CPPFLAGS = $(AM_CPPFLAGS) -DTT_TOP_SRCDIR='"$(abs_top_srcdir)"'
unit_emsg_test_LDADD = $(ENGINE_TEST_LIBS)
