/* ctnetlink through libmnl: find a connection, set or clear our connmark bit, clear leftovers. */
#include "ct.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#define CT_MAX_CLEAR 4096
#define NL_BUF		32768	/* a dump answers many conntrack entries a read */

static uint32_t ct_seq;

bool
ct_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return addr_equal(&a->src, &b->src) && addr_equal(&a->dst, &b->dst) &&
	    a->sport == b->sport && a->dport == b->dport;
}

struct mnl_socket *
ct_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);

	if (nl == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	ct_seq = (uint32_t)time(NULL);
	return nl;
}

static void
put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ct_tuple *t)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, type), *nest;

	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (t->src.family == AF_INET) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t->src.u.b);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->dst.u.b);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, t->src.u.b);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, t->dst.u.b);
	}
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

struct nlmsghdr *
ct_build(char *buf, uint16_t msg_type, uint16_t flags, const struct ct_tuple *t)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg_type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++ct_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = t ? (uint8_t)t->src.family : AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (t)
		put_tuple(nlh, CTA_TUPLE_ORIG, t);
	return nlh;
}

/* Collects the attributes of one nest level, checking each one's type and length. */
struct attrs {
	const struct nlattr *a[CTA_MAX + 1];
	int max;
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, (uint16_t)tb->max) < 0)
		return MNL_CB_OK;	/* newer kernels add attributes: skip them */
	tb->a[type] = attr;
	return MNL_CB_OK;
}

/* Indexes the attributes nested in attr (types up to max) into tb; returns 0, or -1 if malformed. */
static int
nest(const struct nlattr *attr, int max, struct attrs *tb)
{
	memset(tb, 0, sizeof(*tb));
	tb->max = max;
	return mnl_attr_parse_nested(attr, attr_cb, tb) < 0 ? -1 : 0;
}

/* An address attribute of family's length into out; returns 0, or -1 if absent or malformed. */
static int
addr_attr(const struct nlattr *a, int family, struct tt_addr *out)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (a == NULL || mnl_attr_get_payload_len(a) != len)
		return -1;
	out->family = family;
	memcpy(out->u.b, mnl_attr_get_payload(a), len);
	return 0;
}

/* A TCP tuple (CTA_TUPLE_*) into t; returns 0, or -1 if malformed or not TCP. */
static int
parse_tuple(const struct nlattr *attr, int family, struct ct_tuple *t)
{
	struct attrs tb, ip, proto;

	if (nest(attr, CTA_TUPLE_MAX, &tb) < 0 || tb.a[CTA_TUPLE_IP] == NULL ||
	    tb.a[CTA_TUPLE_PROTO] == NULL)
		return -1;
	if (nest(tb.a[CTA_TUPLE_IP], CTA_IP_MAX, &ip) < 0 ||
	    nest(tb.a[CTA_TUPLE_PROTO], CTA_PROTO_MAX, &proto) < 0)
		return -1;
	if (family == AF_INET) {
		if (addr_attr(ip.a[CTA_IP_V4_SRC], AF_INET, &t->src) < 0 ||
		    addr_attr(ip.a[CTA_IP_V4_DST], AF_INET, &t->dst) < 0)
			return -1;
	} else if (addr_attr(ip.a[CTA_IP_V6_SRC], AF_INET6, &t->src) < 0 ||
	    addr_attr(ip.a[CTA_IP_V6_DST], AF_INET6, &t->dst) < 0)
		return -1;
	if (proto.a[CTA_PROTO_NUM] == NULL || mnl_attr_validate(proto.a[CTA_PROTO_NUM], MNL_TYPE_U8) < 0 ||
	    mnl_attr_get_u8(proto.a[CTA_PROTO_NUM]) != IPPROTO_TCP)
		return -1;
	if (proto.a[CTA_PROTO_SRC_PORT] == NULL || proto.a[CTA_PROTO_DST_PORT] == NULL ||
	    mnl_attr_validate(proto.a[CTA_PROTO_SRC_PORT], MNL_TYPE_U16) < 0 ||
	    mnl_attr_validate(proto.a[CTA_PROTO_DST_PORT], MNL_TYPE_U16) < 0)
		return -1;
	t->sport = ntohs(mnl_attr_get_u16(proto.a[CTA_PROTO_SRC_PORT]));
	t->dport = ntohs(mnl_attr_get_u16(proto.a[CTA_PROTO_DST_PORT]));
	return 0;
}

static void
parse_protoinfo(const struct nlattr *attr, struct ct_info *out)
{
	struct attrs pi, tcp;
	const struct nf_ct_tcp_flags *f;

	if (nest(attr, CTA_PROTOINFO_MAX, &pi) < 0 || pi.a[CTA_PROTOINFO_TCP] == NULL ||
	    nest(pi.a[CTA_PROTOINFO_TCP], CTA_PROTOINFO_TCP_MAX, &tcp) < 0)
		return;
	if (tcp.a[CTA_PROTOINFO_TCP_STATE] &&
	    mnl_attr_validate(tcp.a[CTA_PROTOINFO_TCP_STATE], MNL_TYPE_U8) == 0) {
		out->tcp_state = mnl_attr_get_u8(tcp.a[CTA_PROTOINFO_TCP_STATE]);
		out->have_state = true;
	}
	if (tcp.a[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL] &&
	    mnl_attr_get_payload_len(tcp.a[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]) == sizeof(*f)) {
		f = mnl_attr_get_payload(tcp.a[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]);
		out->sack_orig = f->flags & IP_CT_TCP_FLAG_SACK_PERM;
	}
	if (tcp.a[CTA_PROTOINFO_TCP_FLAGS_REPLY] &&
	    mnl_attr_get_payload_len(tcp.a[CTA_PROTOINFO_TCP_FLAGS_REPLY]) == sizeof(*f)) {
		f = mnl_attr_get_payload(tcp.a[CTA_PROTOINFO_TCP_FLAGS_REPLY]);
		out->sack_reply = f->flags & IP_CT_TCP_FLAG_SACK_PERM;
	}
}

int
ct_parse(const struct nlmsghdr *nlh, struct ct_info *out)
{
	struct attrs tb;
	const struct nfgenmsg *nfg;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nfg)))
		return -1;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return -1;
	memset(&tb, 0, sizeof(tb));
	tb.max = CTA_MAX;
	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, &tb) < 0 || tb.a[CTA_TUPLE_ORIG] == NULL)
		return -1;
	if (parse_tuple(tb.a[CTA_TUPLE_ORIG], nfg->nfgen_family, &out->orig) < 0)
		return -1;
	if (tb.a[CTA_MARK] && mnl_attr_validate(tb.a[CTA_MARK], MNL_TYPE_U32) == 0)
		out->mark = ntohl(mnl_attr_get_u32(tb.a[CTA_MARK]));
	if (tb.a[CTA_PROTOINFO])
		parse_protoinfo(tb.a[CTA_PROTOINFO], out);
	return 0;
}

struct lookup_ctx {
	struct ct_info *info;
	int found;
};

static int
lookup_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lookup_ctx *c = data;

	if (ct_parse(nlh, c->info) == 0)
		c->found = 1;
	return MNL_CB_OK;
}

int
ct_transact(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_BUF];
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	int ret;

	/* No address: the engine's filter allows no other send on local.c's socket. */
	if (send(mnl_socket_get_fd(nl), nlh, nlh->nlmsg_len, 0) < 0)
		return -1;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -1;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	} while (ret > 0);
	return ret < 0 ? -1 : 0;
}

int
ct_lookup(struct mnl_socket *nl, const struct ct_tuple *t, struct ct_info *out)
{
	char buf[NL_BUF] = { 0 };	/* no stray stack bytes go to the kernel */
	struct lookup_ctx c = { out, 0 };
	struct nlmsghdr *nlh = ct_build(buf, IPCTNL_MSG_CT_GET, NLM_F_ACK, t);

	if (ct_transact(nl, nlh, lookup_cb, &c) < 0)
		return -1;
	if (!c.found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
ct_mark(struct mnl_socket *nl, const struct ct_tuple *t, uint32_t mask, uint32_t value)
{
	char buf[NL_BUF] = { 0 };
	/* No NLM_F_CREATE: only an existing connection is updated. */
	struct nlmsghdr *nlh = ct_build(buf, IPCTNL_MSG_CT_NEW, NLM_F_ACK, t);

	/* The kernel computes (mark & ~mask) ^ value: only our bits change. */
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(value & mask));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
	return ct_transact(nl, nlh, NULL, NULL);
}

struct clear_ctx {
	uint32_t mask;
	struct ct_tuple *list;
	int n;
};

static int
clear_cb(const struct nlmsghdr *nlh, void *data)
{
	struct clear_ctx *c = data;
	struct ct_info info;

	if (ct_parse(nlh, &info) == 0 && (info.mark & c->mask) && c->n < CT_MAX_CLEAR)
		c->list[c->n++] = info.orig;
	return MNL_CB_OK;
}

int
ct_clear_all(struct mnl_socket *nl, uint32_t mask)
{
	char buf[NL_BUF] = { 0 };
	struct clear_ctx c = { mask, NULL, 0 };
	struct nlmsghdr *nlh;
	int cleared = 0;

	if ((c.list = calloc(CT_MAX_CLEAR, sizeof(*c.list))) == NULL)
		return -1;
	/* Dump, then update: a conntrack dump must not be changed while it runs. */
	nlh = ct_build(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, NULL);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(mask));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
	if (ct_transact(nl, nlh, clear_cb, &c) < 0) {
		free(c.list);
		return -1;
	}
	for (int i = 0; i < c.n; i++)
		if (ct_mark(nl, &c.list[i], mask, 0) == 0)
			cleared++;
	free(c.list);
	return cleared;
}
