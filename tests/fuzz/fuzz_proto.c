/* libFuzzer target: one line of the broker protocol, parsed and formatted back. */
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m;
	char buf[PROTO_LINE_MAX * 2];

	switch (proto_parse((const char *)data, size, &m)) {
	case PROTO_TRACE:
		proto_fmt_trace(buf, sizeof(buf), &m.req);
		break;
	case PROTO_HOP:
		proto_fmt_hop(buf, sizeof(buf), &m.hop);
		break;
	case PROTO_ERROR:
		proto_fmt_error(buf, sizeof(buf), m.code, m.msg);
		break;
	default:
		break;
	}
	return 0;
}
