# unit tests of common/
COMMON_UNIT_LIBS = ../common/libcommon.a
check_PROGRAMS += unit/proto_test unit/addr_test unit/util_test unit/brokerclient_test \
	unit/path_test
TESTS += unit/proto_test unit/addr_test unit/util_test unit/brokerclient_test unit/path_test
unit_proto_test_SOURCES = unit/proto_test.c
unit_proto_test_CPPFLAGS = $(AM_CPPFLAGS) -DTT_TOP_SRCDIR='"$(abs_top_srcdir)"'
unit_proto_test_LDADD = $(COMMON_UNIT_LIBS)
unit_addr_test_SOURCES = unit/addr_test.c
unit_addr_test_LDADD = $(COMMON_UNIT_LIBS)
unit_util_test_SOURCES = unit/util_test.c
unit_util_test_LDADD = $(COMMON_UNIT_LIBS)
unit_path_test_SOURCES = unit/path_test.c
unit_path_test_LDADD = $(COMMON_UNIT_LIBS)
# The broker client against a scripted stand-in on a real socket.
unit_brokerclient_test_SOURCES = unit/brokerclient_test.c unit/broker_standin.h
unit_brokerclient_test_LDADD = $(COMMON_UNIT_LIBS)
