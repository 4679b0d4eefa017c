/* libFuzzer target: a ctnetlink message as the kernel might answer, taken apart. */
#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "ct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ct_info info;

	/* The socket layer guarantees a whole message: mnl_nlmsg_ok() is what the engine relies on. */
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (!mnl_nlmsg_ok(nlh, (int)size))
		return 0;
	ct_parse(nlh, &info);
	return 0;
}
