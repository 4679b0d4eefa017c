# unit tests of fcgi/: renderers and ordering (pure), routing and whole responses, the broker client
FCGI_TESTS = unit/fcgi_stream_test unit/fcgi_route_test unit/fcgi_client_test
FCGI_TEST_LIBS = $(top_builddir)/fcgi/libapp.a $(top_builddir)/common/libcommon.a
check_PROGRAMS += $(FCGI_TESTS)
TESTS += $(FCGI_TESTS)

unit_fcgi_stream_test_SOURCES = unit/fcgi_stream_test.c unit/fcgi_test.h
unit_fcgi_stream_test_LDADD = $(FCGI_TEST_LIBS)
unit_fcgi_route_test_SOURCES = unit/fcgi_route_test.c unit/fcgi_test.h
unit_fcgi_route_test_LDADD = $(FCGI_TEST_LIBS)
unit_fcgi_client_test_SOURCES = unit/fcgi_client_test.c unit/fcgi_test.h
unit_fcgi_client_test_LDADD = $(FCGI_TEST_LIBS)
