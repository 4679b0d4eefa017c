/*
 * ct_build() and ct_parse() without a socket: requests walked with libmnl,
 * kernel-style replies built attribute by attribute, and malformed ones.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "ct.h"
#include "tap.h"
#include "fixtures.h"

#define BUFSZ 4096

/* A buffer aligned for netlink headers. */
union nlbuf {
	char c[BUFSZ];
	struct nlmsghdr align;
};

/* Collects one nest level's attributes by type, counting them. */
struct seen {
	const struct nlattr *a[64];
	int n;
};

static int
seen_cb(const struct nlattr *attr, void *data)
{
	struct seen *s = data;
	uint16_t type = mnl_attr_get_type(attr);

	s->n++;
	if (type < 64)
		s->a[type] = attr;
	return MNL_CB_OK;
}

static void
test_build(int family)
{
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	union nlbuf buf;
	struct ct_tuple t = fx_tuple(family);
	struct nlmsghdr *nlh;
	const struct nfgenmsg *nfg;
	struct seen top, tup, ip, proto;
	const uint8_t *port;
	size_t alen = family == AF_INET ? 4 : 16;
	uint16_t src_type = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	uint16_t dst_type = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;

	memset(&buf, 0xee, sizeof(buf));
	nlh = ct_build(buf.c, IPCTNL_MSG_CT_GET, NLM_F_ACK, &t);
	ok(nlh == (struct nlmsghdr *)buf.c, "%s build: the message starts the buffer", f);
	is_int(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, "%s build: ctnetlink GET", f);
	is_int(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK, "%s build: request, ACK", f);
	ok(mnl_nlmsg_ok(nlh, (int)sizeof(buf)) && nlh->nlmsg_len < 200, "%s build: a well-formed, small message", f);
	nfg = mnl_nlmsg_get_payload(nlh);
	ok(nfg->nfgen_family == family && nfg->version == NFNETLINK_V0 && nfg->res_id == 0,
	    "%s build: nfgenmsg family %d, version 0", f, family);

	memset(&top, 0, sizeof(top));
	ok(mnl_attr_parse(nlh, sizeof(*nfg), seen_cb, &top) >= 0 && top.n == 1 && top.a[CTA_TUPLE_ORIG],
	    "%s build: one attribute, CTA_TUPLE_ORIG", f);
	if (!top.a[CTA_TUPLE_ORIG])
		return;
	ok(top.a[CTA_TUPLE_ORIG]->nla_type & NLA_F_NESTED, "%s build: the tuple is marked nested", f);
	memset(&tup, 0, sizeof(tup));
	ok(mnl_attr_parse_nested(top.a[CTA_TUPLE_ORIG], seen_cb, &tup) >= 0 && tup.n == 2 &&
	    tup.a[CTA_TUPLE_IP] && tup.a[CTA_TUPLE_PROTO], "%s build: tuple holds IP and PROTO", f);
	if (!tup.a[CTA_TUPLE_IP] || !tup.a[CTA_TUPLE_PROTO])
		return;
	memset(&ip, 0, sizeof(ip));
	memset(&proto, 0, sizeof(proto));
	mnl_attr_parse_nested(tup.a[CTA_TUPLE_IP], seen_cb, &ip);
	mnl_attr_parse_nested(tup.a[CTA_TUPLE_PROTO], seen_cb, &proto);
	ok(ip.n == 2 && ip.a[src_type] && ip.a[dst_type], "%s build: source and destination addresses", f);
	ok(ip.a[src_type] && mnl_attr_get_payload_len(ip.a[src_type]) == alen &&
	    memcmp(mnl_attr_get_payload(ip.a[src_type]), t.src.u.b, alen) == 0, "%s build: source is the visitor", f);
	ok(ip.a[dst_type] && mnl_attr_get_payload_len(ip.a[dst_type]) == alen &&
	    memcmp(mnl_attr_get_payload(ip.a[dst_type]), t.dst.u.b, alen) == 0, "%s build: destination is the server", f);
	ok(proto.n == 3 && proto.a[CTA_PROTO_NUM] && mnl_attr_get_payload_len(proto.a[CTA_PROTO_NUM]) == 1 &&
	    mnl_attr_get_u8(proto.a[CTA_PROTO_NUM]) == IPPROTO_TCP, "%s build: protocol TCP", f);
	port = proto.a[CTA_PROTO_SRC_PORT] ? mnl_attr_get_payload(proto.a[CTA_PROTO_SRC_PORT]) : NULL;
	ok(port && mnl_attr_get_payload_len(proto.a[CTA_PROTO_SRC_PORT]) == 2 && port[0] == 0xc3 && port[1] == 0x50,
	    "%s build: source port 50000 big-endian (c3 50)", f);
	port = proto.a[CTA_PROTO_DST_PORT] ? mnl_attr_get_payload(proto.a[CTA_PROTO_DST_PORT]) : NULL;
	ok(port && mnl_attr_get_payload_len(proto.a[CTA_PROTO_DST_PORT]) == 2 && port[0] == 0x01 && port[1] == 0xbb,
	    "%s build: destination port 443 big-endian (01 bb)", f);

	/* What ct_build writes, ct_parse reads back. */
	{
		struct ct_info info;

		ok(ct_parse(nlh, &info) == 0 && addr_equal(&info.orig.src, &t.src) &&
		    addr_equal(&info.orig.dst, &t.dst) && info.orig.sport == 50000 && info.orig.dport == 443 &&
		    !info.have_state && info.mark == 0, "%s build: parses back to the same tuple", f);
	}

	/* Another type and flags: the update that ct_mark sends. */
	nlh = ct_build(buf.c, IPCTNL_MSG_CT_NEW, NLM_F_ACK, &t);
	is_int(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, "%s build: ctnetlink NEW", f);
	ok(!(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)), "%s build: an update never creates", f);
}

static void
test_build_dump(void)
{
	union nlbuf buf;
	struct nlmsghdr *nlh = ct_build(buf.c, IPCTNL_MSG_CT_GET, NLM_F_DUMP, NULL);
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct seen top;

	ok((nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && (nlh->nlmsg_flags & NLM_F_REQUEST),
	    "dump: request with NLM_F_DUMP");
	is_int(nfg->nfgen_family, AF_UNSPEC, "dump: family AF_UNSPEC");
	memset(&top, 0, sizeof(top));
	mnl_attr_parse(nlh, sizeof(*nfg), seen_cb, &top);
	is_int(top.n, 0, "dump: no attributes");
}

/* What a kernel-style reply holds; each flag breaks it one way. */
struct kopt {
	int family;			/* nfgenmsg family */
	bool no_orig, no_ip, no_proto, no_src, no_dst, no_num, no_sport;
	int addr_len;			/* 0: the family's */
	int port_len;			/* 0: 2 */
	int num_len;			/* 0: 1 */
	uint8_t proto;			/* 0: TCP */
	bool v4_addrs;			/* IPv4 address attributes whatever the family */
	int mark_len;			/* 0: 4 */
	int state_len;			/* 0: 1 */
	int flags_len;			/* 0: 2 */
	bool unknown_attr;		/* an attribute type beyond CTA_MAX */
	bool no_protoinfo;
};

static void
put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ct_tuple *t, const struct kopt *o)
{
	struct nlattr *tup = mnl_attr_nest_start(nlh, type), *n;
	bool v4 = o->v4_addrs || t->src.family == AF_INET;
	size_t alen = o->addr_len ? (size_t)o->addr_len : v4 ? 4 : 16;
	uint8_t a[20];

	if (!o->no_ip) {
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		if (!o->no_src) {
			memset(a, 0, sizeof(a));
			memcpy(a, t->src.u.b, alen > 16 ? 16 : alen);
			mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, a);
		}
		if (!o->no_dst) {
			memset(a, 0, sizeof(a));
			memcpy(a, t->dst.u.b, alen > 16 ? 16 : alen);
			mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, a);
		}
		mnl_attr_nest_end(nlh, n);
	}
	if (!o->no_proto) {
		uint8_t num[4] = { o->proto ? o->proto : IPPROTO_TCP, 0, 0, 0 };
		uint8_t sp[4] = { (uint8_t)(t->sport >> 8), (uint8_t)t->sport, 0, 0 };
		uint8_t dp[4] = { (uint8_t)(t->dport >> 8), (uint8_t)t->dport, 0, 0 };
		size_t plen = o->port_len ? (size_t)o->port_len : 2;

		n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		if (!o->no_num)
			mnl_attr_put(nlh, CTA_PROTO_NUM, o->num_len ? (size_t)o->num_len : 1, num);
		if (!o->no_sport)
			mnl_attr_put(nlh, CTA_PROTO_SRC_PORT, plen, sp);
		mnl_attr_put(nlh, CTA_PROTO_DST_PORT, plen, dp);
		mnl_attr_nest_end(nlh, n);
	}
	mnl_attr_nest_end(nlh, tup);
}

/*
 * A conntrack entry as the kernel sends it for a GET: the original and reply
 * tuples, status, timeout, TCP protoinfo, mark, id, use.
 */
static struct nlmsghdr *
kernel_msg(char *buf, const struct ct_tuple *t, uint32_t mark, uint8_t state,
    uint8_t flags_orig, uint8_t flags_reply, const struct kopt *o)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct ct_tuple r;
	struct kopt plain;

	memset(buf, 0, BUFSZ);		/* libmnl may leave attribute padding unset */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_seq = 7;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)(o->family ? o->family : t->src.family);
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;

	memset(&plain, 0, sizeof(plain));
	r = *t;
	r.src = t->dst, r.dst = t->src, r.sport = t->dport, r.dport = t->sport;
	if (!o->no_orig)
		put_tuple(nlh, CTA_TUPLE_ORIG, t, o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r, o->no_orig ? o : &plain);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x18e));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(431999));
	if (!o->no_protoinfo) {
		struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
		uint8_t st[4] = { state, 0, 0, 0 };
		struct { uint8_t flags, mask, pad[2]; } fo = { flags_orig, 0, { 0, 0 } }, fr = { flags_reply, 0, { 0, 0 } };
		size_t flen = o->flags_len ? (size_t)o->flags_len : 2;

		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_STATE, o->state_len ? (size_t)o->state_len : 1, st);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_REPLY, 9);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, flen, &fo);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, flen, &fr);
		mnl_attr_nest_end(nlh, tcp);
		mnl_attr_nest_end(nlh, pi);
	}
	{
		uint8_t m[8];

		fx_put32(m, mark);
		fx_put32(m + 4, 0);
		mnl_attr_put(nlh, CTA_MARK, o->mark_len ? (size_t)o->mark_len : 4, m);
	}
	mnl_attr_put_u32(nlh, CTA_ID, htonl(0xabcdef01));
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	if (o->unknown_attr)
		mnl_attr_put_u32(nlh, CTA_MAX + 3, htonl(5));
	return nlh;
}

static void
test_parse(int family)
{
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	union nlbuf buf;
	struct ct_tuple t = fx_tuple(family);
	struct ct_info info;
	struct kopt o;
	struct nlmsghdr *nlh;

	memset(&o, 0, sizeof(o));
	nlh = kernel_msg(buf.c, &t, 0x80000001, CT_TCP_ESTABLISHED,
	    IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_FLAG_WINDOW_SCALE, &o);
	is_int(ct_parse(nlh, &info), 0, "%s parse: a kernel reply parses", f);
	ok(addr_equal(&info.orig.src, &t.src) && addr_equal(&info.orig.dst, &t.dst),
	    "%s parse: the original direction's addresses", f);
	ok(info.orig.sport == 50000 && info.orig.dport == 443, "%s parse: ports in host order", f);
	ok(info.have_state && info.tcp_state == CT_TCP_ESTABLISHED, "%s parse: TCP state ESTABLISHED", f);
	is_int(info.mark, 0x80000001, "%s parse: the mark, from big-endian", f);
	ok(info.sack_orig && !info.sack_reply, "%s parse: SACK permitted by the visitor only", f);

	nlh = kernel_msg(buf.c, &t, 0, 2, IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_FLAG_SACK_PERM, &o);
	ok(ct_parse(nlh, &info) == 0 && info.tcp_state == 2 && !info.sack_orig && info.sack_reply && info.mark == 0,
	    "%s parse: another state, SACK from the server only, mark 0", f);

	o.no_protoinfo = true;
	nlh = kernel_msg(buf.c, &t, 5, 0, 0, 0, &o);
	ok(ct_parse(nlh, &info) == 0 && !info.have_state && info.mark == 5, "%s parse: no protoinfo: no state", f);
	memset(&o, 0, sizeof(o));

	o.unknown_attr = true;
	nlh = kernel_msg(buf.c, &t, 5, 3, 0, 0, &o);
	ok(ct_parse(nlh, &info) == 0 && info.mark == 5, "%s parse: an attribute from a newer kernel is skipped", f);
	memset(&o, 0, sizeof(o));

	/* Wrong lengths of optional attributes: ignored, not trusted. */
	o.mark_len = 2;
	nlh = kernel_msg(buf.c, &t, 0x12345678, 3, 0, 0, &o);
	ok(ct_parse(nlh, &info) == 0 && info.mark == 0, "%s parse: a 2-byte mark is ignored", f);
	o.mark_len = 8;
	nlh = kernel_msg(buf.c, &t, 0x12345678, 3, 0, 0, &o);
	ok(ct_parse(nlh, &info) == 0 && info.mark == 0, "%s parse: an 8-byte mark is ignored", f);
	o.mark_len = 0;
	o.state_len = 4;
	nlh = kernel_msg(buf.c, &t, 1, 3, 0, 0, &o);
	ok(ct_parse(nlh, &info) == 0 && !info.have_state, "%s parse: a 4-byte TCP state is ignored", f);
	o.state_len = 0;
	o.flags_len = 1;
	nlh = kernel_msg(buf.c, &t, 1, 3, IP_CT_TCP_FLAG_SACK_PERM, IP_CT_TCP_FLAG_SACK_PERM, &o);
	ok(ct_parse(nlh, &info) == 0 && !info.sack_orig && !info.sack_reply, "%s parse: 1-byte TCP flags are ignored", f);
	o.flags_len = 3;
	nlh = kernel_msg(buf.c, &t, 1, 3, IP_CT_TCP_FLAG_SACK_PERM, IP_CT_TCP_FLAG_SACK_PERM, &o);
	ok(ct_parse(nlh, &info) == 0 && !info.sack_orig, "%s parse: 3-byte TCP flags are ignored", f);
}

/* Each malformed reply is refused (-1), never half-trusted. */
static void
test_malformed(int family)
{
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	const int alen = family == AF_INET ? 4 : 16;
	static struct kopt cases[16];
	static const char *names[16];
	union nlbuf buf;
	struct ct_tuple t = fx_tuple(family);
	struct ct_info info;
	int n = 0;

	memset(cases, 0, sizeof(cases));
	names[n] = "no CTA_TUPLE_ORIG (only the reply tuple)", cases[n++].no_orig = true;
	names[n] = "no CTA_TUPLE_IP", cases[n++].no_ip = true;
	names[n] = "no CTA_TUPLE_PROTO", cases[n++].no_proto = true;
	names[n] = "no source address", cases[n++].no_src = true;
	names[n] = "no destination address", cases[n++].no_dst = true;
	names[n] = "no protocol number", cases[n++].no_num = true;
	names[n] = "no source port", cases[n++].no_sport = true;
	names[n] = "addresses one byte short", cases[n++].addr_len = alen - 1;
	names[n] = "addresses one byte long", cases[n++].addr_len = alen + 1;
	names[n] = "1-byte ports", cases[n++].port_len = 1;
	names[n] = "4-byte ports", cases[n++].port_len = 4;
	names[n] = "2-byte protocol number", cases[n++].num_len = 2;
	names[n] = "UDP", cases[n++].proto = IPPROTO_UDP;
	names[n] = "addresses of the other family", family == AF_INET6 ? (void)(cases[n].v4_addrs = true) :
	    (void)(cases[n].family = AF_INET6), n++;
	names[n] = "nfgenmsg family 99", cases[n++].family = 99;
	for (int i = 0; i < n; i++) {
		struct nlmsghdr *nlh = kernel_msg(buf.c, &t, 1, 3, 0, 0, &cases[i]);

		is_int(ct_parse(nlh, &info), -1, "%s malformed: %s: refused", f, names[i]);
	}
	{
		struct nlmsghdr *nlh = kernel_msg(buf.c, &t, 1, 3, 0, 0, &cases[15]);
		struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

		nfg->nfgen_family = AF_UNSPEC;
		is_int(ct_parse(nlh, &info), -1, "%s malformed: family AF_UNSPEC: refused", f);
		nlh->nlmsg_len = sizeof(struct nlmsghdr) + 2;
		is_int(ct_parse(nlh, &info), -1, "%s malformed: shorter than nfgenmsg: refused", f);
		nlh->nlmsg_len = 0;
		is_int(ct_parse(nlh, &info), -1, "%s malformed: nlmsg_len 0: refused", f);
	}
}

/* Offset of the first top-level attribute of type `type`, and its end. */
static void
attr_span(const struct nlmsghdr *nlh, uint16_t type, size_t *off, size_t *end)
{
	const struct nlattr *a;

	*off = *end = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == type) {
			*off = (size_t)((const char *)a - (const char *)nlh);
			*end = *off + a->nla_len;
			return;
		}
}

/*
 * Truncation: the message cut at every length (as a heap copy of that size,
 * rounded up to netlink alignment) parses only once the whole original
 * tuple is in, and never reads past it (valgrind, ASan).
 */
static void
test_truncated(int family)
{
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	union nlbuf buf;
	struct ct_tuple t = fx_tuple(family);
	struct ct_info info;
	struct kopt o;
	struct nlmsghdr *nlh;
	size_t full, off, end;
	int wrong = 0;

	memset(&o, 0, sizeof(o));
	nlh = kernel_msg(buf.c, &t, 9, 3, IP_CT_TCP_FLAG_SACK_PERM, 0, &o);
	full = nlh->nlmsg_len;
	attr_span(nlh, CTA_TUPLE_ORIG, &off, &end);
	ok(off > 0 && end > off && end < full, "%s truncated: the tuple is in the message (%zu..%zu of %zu)", f, off, end, full);
	for (size_t n = sizeof(struct nlmsghdr); n <= full; n++) {
		size_t cap = MNL_ALIGN(n);
		struct nlmsghdr *c = calloc(1, cap);
		int r;

		if (c == NULL)
			abort();
		memcpy(c, buf.c, n);
		c->nlmsg_len = (uint32_t)n;
		r = ct_parse(c, &info);
		/* libmnl bounds attributes by the aligned length, as the kernel pads every message. */
		if (r != (MNL_ALIGN(n) >= end ? 0 : -1) && wrong++ == 0)
			printf("#   cut at %zu bytes: ct_parse returned %d\n", n, r);
		if (r == 0 && (info.orig.sport != 50000 || !addr_equal(&info.orig.src, &t.src)))
			wrong++;
		free(c);
	}
	is_int(wrong, 0, "%s truncated: every cut before the tuple's end refused, every later one parsed", f);

	/* The tuple claims more than the message holds. */
	nlh = kernel_msg(buf.c, &t, 9, 3, 0, 0, &o);
	((struct nlattr *)(buf.c + off))->nla_len = (uint16_t)(full - off + 4);
	is_int(ct_parse(nlh, &info), -1, "%s truncated: a tuple longer than the message: refused", f);

	/* Inside the tuple, CTA_TUPLE_IP claims more than the tuple holds. */
	nlh = kernel_msg(buf.c, &t, 9, 3, 0, 0, &o);
	((struct nlattr *)(buf.c + off + 4))->nla_len = (uint16_t)(end - off);
	is_int(ct_parse(nlh, &info), -1, "%s truncated: an IP nest longer than its tuple: refused", f);

	/* An address attribute with a length below its own header. */
	nlh = kernel_msg(buf.c, &t, 9, 3, 0, 0, &o);
	((struct nlattr *)(buf.c + off + 8))->nla_len = 3;
	is_int(ct_parse(nlh, &info), -1, "%s truncated: an attribute of length 3: refused", f);

	/* A tuple of length 4: an empty nest. */
	nlh = kernel_msg(buf.c, &t, 9, 3, 0, 0, &o);
	((struct nlattr *)(buf.c + off))->nla_len = 4;
	is_int(ct_parse(nlh, &info), -1, "%s truncated: an empty tuple nest: refused", f);
}

/* Every byte after the headers set to a few telling values: no crash, no read past the message. */
static void
test_mutations(int family)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x03, 0x04, 0x05, 0x08, 0x7f, 0x80, 0xff };
	union nlbuf buf;
	struct ct_tuple t = fx_tuple(family);
	struct kopt o;
	struct ct_info info;
	struct nlmsghdr *nlh;
	size_t full;
	int runs = 0, parsed = 0;

	memset(&o, 0, sizeof(o));
	nlh = kernel_msg(buf.c, &t, 9, 3, IP_CT_TCP_FLAG_SACK_PERM, 0, &o);
	full = nlh->nlmsg_len;
	for (size_t i = sizeof(struct nlmsghdr); i < full; i++)
		for (size_t v = 0; v < sizeof(vals); v++) {
			struct nlmsghdr *c = calloc(1, MNL_ALIGN(full));

			if (c == NULL)
				abort();
			memcpy(c, buf.c, full);
			((uint8_t *)c)[i] = vals[v];
			runs++;
			parsed += ct_parse(c, &info) == 0;
			free(c);
		}
	ok(runs > 0 && parsed < runs, "%s mutations: %d single-byte changes parsed without a crash (%d accepted)",
	    family == AF_INET ? "IPv4" : "IPv6", runs, parsed);
}

/* fuzz_ct's seed (make-seeds.py): the visitor's ESTABLISHED connection, SACK on, marked. */
static void
test_seed(void)
{
	struct tt_addr c = fx_addr("198.51.100.7"), srv = fx_addr("192.0.2.10");
	union nlbuf buf;
	struct ct_info info;
	size_t len = 0;
	char *b = tap_seed("ct", "ct-established", &len);
	bool read = b != NULL && len <= sizeof(buf);

	if (read)
		memcpy(buf.c, b, len);
	free(b);
	if (!read || !mnl_nlmsg_ok(&buf.align, (int)len) || ct_parse(&buf.align, &info) != 0) {
		ok(0, "seed ct-established: read and parsed");
		return;
	}
	ok(addr_equal(&info.orig.src, &c) && addr_equal(&info.orig.dst, &srv) &&
	    info.orig.sport == 51000 && info.orig.dport == 443,
	    "seed ct-established: 198.51.100.7:51000 to 192.0.2.10:443");
	ok(info.have_state && info.tcp_state == CT_TCP_ESTABLISHED && info.mark == 0x100000 &&
	    info.sack_orig && info.sack_reply, "seed ct-established: ESTABLISHED, SACK both ways, marked");
}

int
main(void)
{
	test_build(AF_INET);
	test_build(AF_INET6);
	test_build_dump();
	test_parse(AF_INET);
	test_parse(AF_INET6);
	test_malformed(AF_INET);
	test_malformed(AF_INET6);
	test_truncated(AF_INET);
	test_truncated(AF_INET6);
	test_mutations(AF_INET);
	test_mutations(AF_INET6);
	test_seed();
	return tap_done();
}
