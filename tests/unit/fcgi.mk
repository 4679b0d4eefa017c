# unit tests of fcgi/: renderers and ordering (pure), routing and whole responses
FCGI_TESTS = unit/fcgi_stream_test unit/fcgi_route_test
FCGI_TEST_LIBS = $(top_builddir)/fcgi/libapp.a $(top_builddir)/common/libcommon.a
check_PROGRAMS += $(FCGI_TESTS)
TESTS += $(FCGI_TESTS)

unit_fcgi_stream_test_SOURCES = unit/fcgi_stream_test.c unit/fcgi_test.h unit/broker_standin.h
unit_fcgi_stream_test_LDADD = $(FCGI_TEST_LIBS)
unit_fcgi_route_test_SOURCES = unit/fcgi_route_test.c unit/fcgi_test.h unit/broker_standin.h
unit_fcgi_route_test_LDADD = $(FCGI_TEST_LIBS)

# Output formats against golden files (tests/golden: *.broker fixtures in, one file per format
# out); TT_UPDATE_GOLDEN=1 rewrites the goldens. atlas_check.py checks the Atlas output.
FCGI_TEST_LIBS += $(top_builddir)/web/libweb.a
check_PROGRAMS += unit/fcgi_render_test
TESTS += unit/fcgi_render_test
unit_fcgi_render_test_SOURCES = unit/fcgi_render_test.c unit/fcgi_test.h unit/broker_standin.h
unit_fcgi_render_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/web -DTT_TOP_SRCDIR='"$(abs_top_srcdir)"'
unit_fcgi_render_test_LDADD = $(FCGI_TEST_LIBS)
EXTRA_DIST += golden unit/atlas_check.py
