/* The NFQUEUE socket: binding a queue, reading packets, giving verdicts (libnetfilter_queue on libmnl). */
#define _GNU_SOURCE	/* recvmmsg */
#include "queue.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "log.h"
#include "util.h"

#define QUEUE_LEN	4096
#define QUEUE_RCVBUF	(8 << 20)
#define NL_BUF		8192	/* one netlink message of ours, or a page of answers */

/* Sends one config message and waits for its ACK. */
static int
cfg_send(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[NL_BUF];
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -1 : 0;
}

struct mnl_socket *
queue_open(uint16_t num)
{
	char buf[NL_BUF] = { 0 };	/* no stray stack bytes go to the kernel */
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	int one = 1, rcvbuf = QUEUE_RCVBUF;

	if ((nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (cfg_send(nl, nlh) < 0)
		goto fail;

	/* Whole packets, a long queue, and pass packets when it is full. No GSO: see DESIGN.md. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_LEN);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	if (cfg_send(nl, nlh) < 0)
		goto fail;

	/* A bigger buffer keeps packets in order when a connection leaves the queue. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		log_warn("nfq: SO_RCVBUFFORCE");
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	/*
	 * The kernel stamps packets on arrival only while a socket somewhere
	 * asks for timestamps; this one does, so that every queued packet
	 * carries its arrival time (NFQA_TIMESTAMP) and a reply's RTT does not
	 * include its wait in the queue. Nothing is ever read as a cmsg.
	 */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one)) < 0)
		log_warn("nfq: SO_TIMESTAMP; RTTs will include the wait in the queue");
	return nl;
fail:
	mnl_socket_close(nl);
	return NULL;
}

struct read_ctx {
	struct mnl_socket *nl;
	uint16_t num;
	queue_packet_cb cb;
	void *arg;
	int count;
};

/* A verdict; with pkt, the packet goes on changed to those bytes. */
/*
 * Verdicts wait here and go to the kernel in one send per read (queue_flush):
 * a send per packet was a third of the engine's system calls under load
 * (issue 15). Room for two verdicts carrying a whole changed packet each.
 */
#define VERDICT_ROOM	256	/* a verdict's headers, without the packet */
static char vbuf[2 * (0x10000 + VERDICT_ROOM)];
static size_t vlen;

int
queue_flush(struct mnl_socket *nl)
{
	ssize_t n;

	if (vlen == 0)
		return 0;
	n = mnl_socket_sendto(nl, vbuf, vlen);
	vlen = 0;
	return n < 0 ? -1 : 0;
}

static int
verdict(struct mnl_socket *nl, uint16_t num, uint32_t id, int v, const uint8_t *pkt, size_t len)
{
	struct nlmsghdr *nlh;
	int rc = 0;

	if (vlen + VERDICT_ROOM + (pkt != NULL ? len : 0) > sizeof(vbuf))
		rc = queue_flush(nl);
	nlh = nfq_nlmsg_put(vbuf + vlen, NFQNL_MSG_VERDICT, num);
	nfq_nlmsg_verdict_put(nlh, (int)id, v);
	if (pkt != NULL)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)len);
	vlen += NLMSG_ALIGN(nlh->nlmsg_len);
	return rc;
}

/* NFQA_TIMESTAMP in microseconds of CLOCK_REALTIME; 0 when absent or malformed. */
static uint64_t
packet_tstamp(const struct nlattr *a)
{
	struct nfqnl_msg_packet_timestamp ts;
	uint64_t sec, usec;

	if (a == NULL || mnl_attr_get_payload_len(a) < sizeof(ts))
		return 0;
	memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
	sec = be64toh(ts.sec);
	usec = be64toh(ts.usec);
	if (usec >= 1000000 || sec == 0 || sec > UINT64_MAX / 1000000 - 1)
		return 0;
	return sec * 1000000 + usec;
}

static int
packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *c = data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct queue_packet p = { 0 };
	int v = NF_ACCEPT;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return MNL_CB_OK;	/* nothing to give a verdict to */
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (attr[NFQA_PAYLOAD]) {
		p.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
		p.tstamp_us = packet_tstamp(attr[NFQA_TIMESTAMP]);
		v = c->cb(c->arg, &p);
	}
	if (verdict(c->nl, c->num, ntohl(ph->packet_id), v, p.changed ? p.data : NULL, p.len) < 0)
		log_warn("nfq: verdict");
	c->count++;
	return MNL_CB_OK;
}

/*
 * Packets taken from the socket in one recvmmsg: one recv a packet, each a
 * system call of 2-3 us on this project's VM, was a large part of the engine's
 * time under load (issue 15). Their buffers are touched only as far as the
 * packets reach.
 */
#define READ_BATCH	16

int
queue_read(struct mnl_socket *nl, uint16_t num, int max, queue_packet_cb cb, void *arg)
{
	static char bufs[READ_BATCH][0x10000 + NL_BUF];
	struct mmsghdr msgs[READ_BATCH];
	struct iovec iov[READ_BATCH];
	struct read_ctx c = { nl, num, cb, arg, 0 };

	while (c.count < max) {
		/* Never past max: the caller's bound on a round (the engine's ROUND_PACKETS). */
		int want = max - c.count < READ_BATCH ? max - c.count : READ_BATCH, n;

		mmsg_init(msgs, iov, bufs, sizeof(bufs[0]), want);
		n = recvmmsg(mnl_socket_get_fd(nl), msgs, (unsigned)want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return c.count;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				log_warnx("nfq: receive buffer overrun, packets were passed unseen");
				continue;
			}
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (mnl_cb_run(bufs[i], msgs[i].msg_len, 0, mnl_socket_get_portid(nl),
			    packet_cb, &c) < 0 && errno != 0)
				log_debug("nfq: netlink message not understood");
		/* The read's verdicts go now: its packets wait for nothing else. */
		if (queue_flush(nl) < 0)
			log_warn("nfq: verdicts");
		if (n < want)
			return c.count;	/* the socket is empty: no recv to learn it again */
	}
	return c.count;
}
