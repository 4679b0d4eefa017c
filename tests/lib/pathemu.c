/*
 * pathemu: what a real path does that a chain of Linux routers does not, for the system
 * tests. Runs in a router's namespace, bound to an NFQUEUE that the test's iptables rules
 * feed (tests/lib/netns.sh: netns_pathemu), in one of two modes:
 *
 *   --hold-ms D [--hold-old | --hold-dup]  holds each queued packet D ms, then accepts it,
 *       in arrival order: path delay, as this kernel has no netem. With --hold-old only the
 *       data segments toward the visitor that lie wholly at or below the visitor's highest
 *       acknowledgement (copies of old bytes: probes) are held, the rest accepted at once,
 *       so new data overtakes them, as on a path where the probes take a slower queue. With
 *       --hold-dup, the one-byte data segments toward the visitor whose byte went by before
 *       (copies: probes, including those right behind the segment they copy; a longer
 *       segment sent again is a retransmission, and passes).
 *   --seq-shift K  a firewall that shifts the server's sequence numbers by K (pf's
 *       "modulate state"): seq + K toward the visitor, ack and SACK edges - K back. It does
 *       not translate the quotes of ICMP errors, as such firewalls do not.
 *   --drop-first  loses the first data segment toward the visitor of each connection (once:
 *       its retransmission passes), the rest passing at once: a real loss of the response's
 *       first segment.
 *
 * --port P is the server's port (which side is which). SIGTERM or SIGINT accepts what is
 * held and ends it; SIGUSR1 prints the counts, which it also prints at exit, to stderr.
 */
#define _GNU_SOURCE	/* ppoll */
#include "pathemu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "log.h"
#include "queue.h"

#define MAX_HELD	2048	/* past this the oldest goes early; below queue_open's 4096 */
#define PKT_MAX		0x10000
#define NL_BUF		(PKT_MAX + 8192)

struct held {
	uint32_t id;
	uint64_t due_ns;
};

struct emu {
	struct mnl_socket *nl;
	uint16_t queue, port;
	long hold_ms;		/* -1: not holding */
	bool hold_old, hold_dup, shift, drop_first;
	uint32_t k;
	struct held *ring;	/* MAX_HELD entries, oldest at head */
	size_t head, nheld;
	struct pe_flows flows;
	uint64_t packets, held, early, passed, shifted, unshifted, dropped, bad, errors;
};

static volatile sig_atomic_t stop, report;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
counts(const struct emu *e)
{
	fprintf(stderr, "pathemu: queue %u packets=%" PRIu64 " held=%" PRIu64 " early=%" PRIu64
	    " passed=%" PRIu64 " shifted=%" PRIu64 " unshifted=%" PRIu64 " dropped=%" PRIu64
	    " bad=%" PRIu64 " errors=%" PRIu64 "\n", e->queue, e->packets, e->held, e->early,
	    e->passed, e->shifted, e->unshifted, e->dropped, e->bad, e->errors);
}

/* Accepts packet id, with pkt (len bytes) in place of the queued one when pkt is not NULL. */
static void
verdict_as(struct emu *e, uint32_t id, int v, const uint8_t *pkt, size_t len)
{
	static char buf[NL_BUF];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, e->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, v);
	if (pkt != NULL)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)len);
	if (mnl_socket_sendto(e->nl, nlh, nlh->nlmsg_len) < 0)
		e->errors++;
}

static void
verdict(struct emu *e, uint32_t id, const uint8_t *pkt, size_t len)
{
	verdict_as(e, id, NF_ACCEPT, pkt, len);
}

/* Accepts the held packets that are due (all of them when everything is). */
static void
release(struct emu *e, bool everything)
{
	uint64_t now = now_ns();

	while (e->nheld > 0 && (everything || e->ring[e->head].due_ns <= now)) {
		verdict(e, e->ring[e->head].id, NULL, 0);
		e->head = (e->head + 1) % MAX_HELD;
		e->nheld--;
	}
}

static void
hold(struct emu *e, uint32_t id)
{
	if (e->nheld == MAX_HELD) {
		/* The delay is the same for all: the oldest is the next due. */
		verdict(e, e->ring[e->head].id, NULL, 0);
		e->head = (e->head + 1) % MAX_HELD;
		e->nheld--;
		e->early++;
	}
	e->ring[(e->head + e->nheld) % MAX_HELD] = (struct held){
		id, now_ns() + (uint64_t)e->hold_ms * 1000000u };
	e->nheld++;
	e->held++;
}

static int
packet_cb(const struct nlmsghdr *nlh, void *data)
{
	static uint8_t pkt[PKT_MAX];
	struct emu *e = data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct pkt p;
	size_t len = 0;
	uint32_t id;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return MNL_CB_OK;	/* nothing to give a verdict to */
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	e->packets++;
	if (attr[NFQA_PAYLOAD] != NULL) {
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
		if (len > sizeof(pkt))
			len = 0;
		else
			memcpy(pkt, mnl_attr_get_payload(attr[NFQA_PAYLOAD]), len);
	}
	if (!e->shift && !e->hold_old && !e->hold_dup && !e->drop_first) {
		hold(e, id);	/* path delay: every packet, whatever it carries */
		return MNL_CB_OK;
	}
	if (len == 0 || pkt_parse(pkt, len, &p) != PKT_OK || p.kind != PKT_TCP) {
		e->bad++;	/* another protocol or a short copy: passes as it is */
		verdict(e, id, NULL, 0);
		return MNL_CB_OK;
	}
	if (e->shift) {
		switch (pe_shift(pkt, len, e->port, e->k)) {
		case PE_TO_VISITOR:
			e->shifted++;
			verdict(e, id, pkt, len);
			break;
		case PE_TO_SERVER:
			e->unshifted++;
			verdict(e, id, pkt, len);
			break;
		case PE_OTHER:
			e->passed++;
			verdict(e, id, NULL, 0);
			break;
		}
		return MNL_CB_OK;
	}
	if (e->drop_first) {
		if (pe_first_data(&e->flows, &p.u.tcp, e->port)) {
			e->dropped++;
			verdict_as(e, id, NF_DROP, NULL, 0);
		} else {
			e->passed++;
			verdict(e, id, NULL, 0);
		}
		return MNL_CB_OK;
	}
	if (e->hold_dup ? pe_dup(&e->flows, &p.u.tcp, e->port) : pe_old(&e->flows, &p.u.tcp, e->port))
		hold(e, id);
	else {
		e->passed++;
		verdict(e, id, NULL, 0);
	}
	return MNL_CB_OK;
}

/* Reads what the queue has, without waiting; -1 on a socket error. */
static int
emu_read(struct emu *e)
{
	static char buf[NL_BUF];

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(e->nl), buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				e->errors++;
				continue;
			}
			return -1;
		}
		if (mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(e->nl), packet_cb, e) < 0)
			e->errors++;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: pathemu --queue N --port P (--hold-ms D [--hold-old | --hold-dup] | "
	    "--seq-shift K | --drop-first)\n");
	exit(2);
}

static long
number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "port", required_argument, NULL, 'p' },
		{ "hold-ms", required_argument, NULL, 'd' },
		{ "hold-old", no_argument, NULL, 'o' },
		{ "hold-dup", no_argument, NULL, 'u' },
		{ "seq-shift", required_argument, NULL, 'k' },
		{ "drop-first", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct emu e;
	struct sigaction sa;
	sigset_t block, wait_mask;
	long queue = -1, port = -1;
	int c, rc = 0;

	memset(&e, 0, sizeof(e));
	e.hold_ms = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': queue = number(optarg, 65535); break;
		case 'p': port = number(optarg, 65535); break;
		case 'd': e.hold_ms = number(optarg, 60000); break;
		case 'o': e.hold_old = true; break;
		case 'u': e.hold_dup = true; break;
		case 'k': e.k = (uint32_t)number(optarg, 0xffffffffL); e.shift = true; break;
		case 'f': e.drop_first = true; break;
		default: usage();
		}
	}
	if (optind != argc || queue < 0 || port < 0 || e.shift + (e.hold_ms >= 0) + e.drop_first != 1 ||
	    ((e.hold_old || e.hold_dup) && e.hold_ms < 0) || (e.hold_old && e.hold_dup))
		usage();
	e.queue = (uint16_t)queue;
	e.port = (uint16_t)port;
	if ((e.ring = calloc(MAX_HELD, sizeof(*e.ring))) == NULL) {
		perror("pathemu: calloc");
		return 1;
	}

	/* The signals arrive only inside ppoll: no packet is half handled when we stop. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGUSR1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	log_init("pathemu", 1, 0);
	/* Whole packets with full checksums (no GSO flag), fail-open: see DESIGN.md section 5. */
	if ((e.nl = queue_open(e.queue)) == NULL) {
		perror("pathemu: binding the queue");
		free(e.ring);
		return 1;
	}
	while (!stop) {
		struct pollfd pfd = { mnl_socket_get_fd(e.nl), POLLIN, 0 };
		struct timespec ts, *tp = NULL;

		if (e.nheld > 0) {
			uint64_t now = now_ns(), due = e.ring[e.head].due_ns;
			uint64_t left = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(left / 1000000000u);
			ts.tv_nsec = (long)(left % 1000000000u);
			tp = &ts;
		}
		if (ppoll(&pfd, 1, tp, &wait_mask) < 0 && errno != EINTR) {
			perror("pathemu: ppoll");
			rc = 1;
			break;
		}
		if (report) {
			report = 0;
			counts(&e);
		}
		if ((pfd.revents & POLLIN) && emu_read(&e) < 0) {
			perror("pathemu: recv");
			rc = 1;
			break;
		}
		release(&e, false);
	}
	release(&e, true);
	counts(&e);
	mnl_socket_close(e.nl);
	free(e.ring);
	return rc;
}
