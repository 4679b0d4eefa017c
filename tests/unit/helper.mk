# unit tests of helper/
HELPER_UNIT_LIBS = ../helper/libhelper.a ../sql/libsql.a ../common/libcommon.a \
	$(NFQ_LIBS) $(MNL_LIBS) $(SQLITE_LIBS) $(CURL_LIBS) $(CARES_LIBS) $(PQ_LIBS) $(CAPNG_LIBS) $(SECCOMP_LIBS) \
	$(PTHREAD_LIBS)
check_PROGRAMS += unit/config_test unit/store_test unit/broker_test
TESTS += unit/config_test unit/store_test unit/broker_test
unit_config_test_SOURCES = unit/config_test.c
unit_config_test_LDADD = $(HELPER_UNIT_LIBS)
unit_store_test_SOURCES = unit/store_test.c
unit_store_test_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
unit_store_test_LDADD = $(HELPER_UNIT_LIBS)
unit_broker_test_SOURCES = unit/broker_test.c
unit_broker_test_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
unit_broker_test_LDADD = $(HELPER_UNIT_LIBS)
# An operator's search of the stored traces (helper/broker/store_query.c).
check_PROGRAMS += unit/query_test
TESTS += unit/query_test
unit_query_test_SOURCES = unit/query_test.c
unit_query_test_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
unit_query_test_LDADD = $(HELPER_UNIT_LIBS)
check_PROGRAMS += unit/enrich_test
TESTS += unit/enrich_test
unit_enrich_test_SOURCES = unit/enrich_test.c
unit_enrich_test_LDADD = $(HELPER_UNIT_LIBS)
# The fleet's resolver of the database's host names (helper/broker/resolve.c).
check_PROGRAMS += unit/resolve_test
TESTS += unit/resolve_test
unit_resolve_test_SOURCES = unit/resolve_test.c
unit_resolve_test_LDADD = $(HELPER_UNIT_LIBS)
# The seccomp filters, loaded as the daemon loads them; the engine's test of local addresses.
check_PROGRAMS += unit/seccomp_test
TESTS += unit/seccomp_test
unit_seccomp_test_SOURCES = unit/seccomp_test.c
unit_seccomp_test_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS) $(MNL_CFLAGS) -pthread
unit_seccomp_test_LDADD = $(HELPER_UNIT_LIBS) $(CAPNG_LIBS) $(SECCOMP_LIBS) -lpthread
# The metrics' text from fixed counters, and the HTTP requests of their endpoint.
check_PROGRAMS += unit/metrics_test
TESTS += unit/metrics_test
unit_metrics_test_SOURCES = unit/metrics_test.c
unit_metrics_test_LDADD = $(HELPER_UNIT_LIBS)
check_PROGRAMS += unit/local_test
TESTS += unit/local_test
unit_local_test_SOURCES = unit/local_test.c
unit_local_test_LDADD = $(HELPER_UNIT_LIBS)
check_PROGRAMS += unit/limit_test
TESTS += unit/limit_test
unit_limit_test_SOURCES = unit/limit_test.c unit/fixtures.h
unit_limit_test_LDADD = $(HELPER_UNIT_LIBS)
check_PROGRAMS += unit/admit_test
TESTS += unit/admit_test
unit_admit_test_SOURCES = unit/admit_test.c unit/fixtures.h
unit_admit_test_LDADD = $(HELPER_UNIT_LIBS)
check_PROGRAMS += unit/session_test
TESTS += unit/session_test
unit_session_test_SOURCES = unit/session_test.c
unit_session_test_LDADD = $(HELPER_UNIT_LIBS)
