/* sock_diag through libmnl: one inet_diag request for one TCP socket, by its four-tuple. */
#include "sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

struct segs_ctx {
	uint64_t segs;
	int found;
};

static int
msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct segs_ctx *ctx = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
		return MNL_CB_ERROR;
	mnl_attr_for_each(attr, nlh, sizeof(struct inet_diag_msg)) {
		size_t off = offsetof(struct tcp_info, tcpi_data_segs_out);
		uint32_t segs;

		/* An older kernel's tcp_info is shorter: no count there, no answer. */
		if (mnl_attr_get_type(attr) != INET_DIAG_INFO ||
		    mnl_attr_get_payload_len(attr) < off + sizeof(segs))
			continue;
		/* Copied out: the payload is 4-byte aligned, struct tcp_info wants 8. */
		memcpy(&segs, (const char *)mnl_attr_get_payload(attr) + off, sizeof(segs));
		ctx->segs = segs;
		ctx->found = 1;
	}
	return MNL_CB_OK;
}

int
sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint64_t *segs)
{
	struct segs_ctx ctx = { 0, 0 };
	int rc;

	/* mnl_cb_run checks lengths, the sequence number and turns NLMSG_ERROR into errno. */
	rc = mnl_cb_run(buf, len, seq, 0, msg_cb, &ctx);
	if (rc == MNL_CB_ERROR)
		return ctx.found ? 1 : -1;
	if (ctx.found)
		*segs = ctx.segs;
	return ctx.found;
}

struct mnl_socket *
sockdiag_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);

	if (nl != NULL && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

int
sockdiag_segs_out(struct mnl_socket *nl, const struct proto_trace_req *conn, uint64_t *segs)
{
	/* A new number each time: an answer left over from a failed read is not taken. */
	static uint32_t seq;
	char buf[8192];		/* one socket's answer: a few hundred bytes */
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *req;
	ssize_t n;

	if (seq == 0)
		seq = (uint32_t)time(NULL);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)conn->server.family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0U;
	/* The server's socket: local is the server's end. */
	req->id.idiag_sport = htons(conn->sport);
	req->id.idiag_dport = htons(conn->cport);
	memcpy(req->id.idiag_src, conn->server.u.b, addr_len(&conn->server));
	memcpy(req->id.idiag_dst, conn->client.u.b, addr_len(&conn->client));
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/*
	 * The kernel answers while it takes the request, so this read does not
	 * wait. One socket's answer fits it; a missing socket is an NLMSG_ERROR
	 * (ENOENT).
	 */
	if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0)
		return -1;
	return sockdiag_parse(buf, (size_t)n, seq, segs) == 1 ? 0 : -1;
}
