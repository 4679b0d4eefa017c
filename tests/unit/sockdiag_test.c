/*
 * Tests of helper/broker/sockdiag.c's parser: sock_diag answers as the kernel writes
 * them, built byte by byte, and broken ones. The live query runs in
 * tests/sys/diagnose.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "addr.h"

#include "sockdiag.h"
#include "tap.h"

#define SEQ	0x5eed

/* As the kernel lays it out: header, inet_diag_msg, then the attribute right after its 4 bytes. */
#define MSG_OFF		NLMSG_HDRLEN
#define ATTR_OFF	(MSG_OFF + NLMSG_ALIGN(sizeof(struct inet_diag_msg)))
#define INFO_OFF	(ATTR_OFF + NLA_HDRLEN)

struct answer {
	union {
		struct nlmsghdr nlh;
		uint64_t align;
	};
	unsigned char rest[INFO_OFF + sizeof(struct tcp_info)];
};

/* One socket's answer with tcp_info cut to info_len bytes; returns its length. */
static size_t
answer(struct answer *a, uint32_t seq, uint32_t segs, size_t info_len)
{
	unsigned char *b = (unsigned char *)a;
	struct inet_diag_msg msg;
	struct nlattr attr;
	struct tcp_info info;

	memset(a, 0, sizeof(*a));
	memset(&msg, 0, sizeof(msg));
	memset(&info, 0, sizeof(info));
	msg.idiag_family = 2;
	msg.idiag_state = 1;		/* TCP_ESTABLISHED */
	info.tcpi_data_segs_out = segs;
	attr.nla_type = INET_DIAG_INFO;
	attr.nla_len = (uint16_t)(NLA_HDRLEN + info_len);
	memcpy(b + MSG_OFF, &msg, sizeof(msg));
	memcpy(b + ATTR_OFF, &attr, sizeof(attr));
	memcpy(b + INFO_OFF, &info, info_len);
	a->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	a->nlh.nlmsg_seq = seq;
	a->nlh.nlmsg_len = (uint32_t)NLMSG_ALIGN(INFO_OFF + info_len);
	return a->nlh.nlmsg_len;
}

/* Sets the attribute's type in an answer. */
static void
attr_type(struct answer *a, uint16_t type)
{
	memcpy((unsigned char *)a + ATTR_OFF + offsetof(struct nlattr, nla_type), &type,
	    sizeof(type));
}

/*
 * The live query on a loopback connection of our own: the server end's
 * count starts at 0 and grows with what it sends; a closed one is gone.
 */
static void
test_live(void)
{
	struct sockaddr_in sin;
	struct proto_trace_req conn;
	socklen_t len = sizeof(sin);
	uint64_t before = 99, after = 99;
	struct mnl_socket *nl;
	uint16_t port;
	int l, c, s, one = 1;
	char buf[100];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(l, (struct sockaddr *)&sin, len) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&sin, &len) < 0 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sin, len) < 0 || (s = accept(l, NULL, NULL)) < 0) {
		ok(0, "a loopback connection");
		return;
	}
	memset(&conn, 0, sizeof(conn));
	addr_parse("127.0.0.1", &conn.server);
	addr_parse("127.0.0.1", &conn.client);
	conn.sport = ntohs(sin.sin_port);
	getsockname(c, (struct sockaddr *)&sin, &len);
	conn.cport = ntohs(sin.sin_port);
	if ((nl = sockdiag_open()) == NULL) {
		ok(0, "a sock_diag socket");
		return;
	}
	is_int(sockdiag_segs_out(nl, &conn, &before), 0, "the server's socket is found");
	ok(before == 0, "nothing sent yet: %llu", (unsigned long long)before);
	memset(buf, 'x', sizeof(buf));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < 3; i++) {
		if (write(s, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    read(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
	}
	is_int(sockdiag_segs_out(nl, &conn, &after), 0, "found again, on the same netlink socket");
	ok(after == 3, "three writes, each read before the next: 3 segments (%llu)",
	    (unsigned long long)after);
	/*
	 * A port nobody uses, once the listener (which a lookup falls back on)
	 * is gone; the connection stays open (a closed end lingers in TIME_WAIT).
	 */
	close(l);
	port = conn.cport;
	conn.cport = 1;
	errno = 0;
	is_int(sockdiag_segs_out(nl, &conn, &after), -1, "no such socket");
	is_int(errno, ENOENT, "... ENOENT");
	conn.cport = port;
	is_int(sockdiag_segs_out(nl, &conn, &after), 0, "the netlink socket answers after an ENOENT");
	close(c);
	close(s);
	mnl_socket_close(nl);
}

int
main(void)
{
	test_live();
	struct {
		struct nlmsghdr nlh;
		struct nlmsgerr err;
	} e;
	struct answer a;
	uint64_t segs = 99;
	size_t n;

	n = answer(&a, SEQ, 7, sizeof(struct tcp_info));
	is_int(sockdiag_parse(&a, n, SEQ, &segs), 1, "an established socket's answer");
	ok(segs == 7, "tcpi_data_segs_out read (%llu)", (unsigned long long)segs);

	n = answer(&a, SEQ, 4000000000U, sizeof(struct tcp_info));
	is_int(sockdiag_parse(&a, n, SEQ, &segs), 1, "a large count");
	ok(segs == 4000000000U, "... read whole");

	/* A kernel older than 4.6 has a tcp_info without the field. */
	segs = 99;
	n = answer(&a, SEQ, 7, offsetof(struct tcp_info, tcpi_data_segs_out));
	is_int(sockdiag_parse(&a, n, SEQ, &segs), 0, "tcp_info too short for the count: no answer");
	ok(segs == 99, "... and nothing written");

	n = answer(&a, SEQ, 7, sizeof(struct tcp_info));
	attr_type(&a, INET_DIAG_MEMINFO);
	is_int(sockdiag_parse(&a, n, SEQ, &segs), 0, "no INET_DIAG_INFO attribute: no answer");

	n = answer(&a, SEQ + 1, 7, sizeof(struct tcp_info));
	is_int(sockdiag_parse(&a, n, SEQ, &segs), -1, "another request's answer is refused");

	n = answer(&a, SEQ, 7, sizeof(struct tcp_info));
	is_int(sockdiag_parse(&a, n - 8, SEQ, &segs), 0, "a truncated answer: no answer");
	a.nlh.nlmsg_len = 20;
	is_int(sockdiag_parse(&a, n, SEQ, &segs), -1, "a message too short for inet_diag_msg");
	n = answer(&a, SEQ, 7, sizeof(struct tcp_info));
	a.nlh.nlmsg_type = 99;
	is_int(sockdiag_parse(&a, n, SEQ, &segs), -1, "a message of another type");

	/* No such socket: the kernel answers ENOENT. */
	memset(&e, 0, sizeof(e));
	e.nlh.nlmsg_len = sizeof(e);
	e.nlh.nlmsg_type = NLMSG_ERROR;
	e.nlh.nlmsg_seq = SEQ;
	e.err.error = -ENOENT;
	errno = 0;
	is_int(sockdiag_parse(&e, sizeof(e), SEQ, &segs), -1, "ENOENT: no socket");
	is_int(errno, ENOENT, "... errno says so");

	is_int(sockdiag_parse("", 0, SEQ, &segs), 0, "an empty read: no answer");
	return tap_done();
}
