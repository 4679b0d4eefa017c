/*
 * The packet engine: takes trace requests from the broker, verifies and marks
 * connections over ctnetlink, feeds queued packets to each trace's state
 * machine, sends probes through raw sockets and reports hops to the broker.
 */
#define _GNU_SOURCE	/* sendmmsg */
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>

#include "check.h"
#include "ct.h"
#include "local.h"
#include "emsg.h"
#include "log.h"
#include "overload.h"
#include "queue.h"
#include "pkt.h"
#include "privsep.h"
#include "trace.h"
#include "util.h"

struct engine;

struct etrace {
	struct engine *e;
	struct etrace *next;	/* in its bucket (by_visitor) */
	uint32_t handle;
	struct ct_tuple tuple;
	bool ended;
	bool late;		/* in the late ring: only its ICMP errors come, late answers */
	bool end_due;		/* ended: end goes to the broker in reap, after the mark's change */
	struct emsg end;
	struct trace t;
};

struct engine_stats {
	uint64_t packets, bad_packets, icmp_unmatched, icmp_foreign;
	uint64_t stamped, stamps_rejected;	/* queued packets with the kernel's arrival time */
	uint64_t wait_max_us;			/* the longest a stamped packet waited to be read */
	uint64_t probes_sent, replies_matched, traces;
	uint64_t overload_refused;		/* new traces refused busy while overloaded */
};

/* retry= when max-traces are running: a trace takes seconds (the broker's limit says the same). */
#define FULL_RETRY_S	5

/* At most one log line about overload in this time. */
#define OVERLOAD_LOG_US	(10 * 1000000ULL)

/*
 * Packets handled in one round of the loop, at most (and the rest of one
 * read): a visitor flooding its own traced connection must not keep the
 * timers of every trace from running.
 */
#define ROUND_PACKETS	256

/*
 * Traces by the visitor's address and port, for the packet path: under load
 * the table holds a thousand traces awaiting late answers, and scanning it
 * for every packet was a tenth of the engine's time. A visitor choosing its
 * ports to share a bucket gets no more than the scan it replaces.
 */
#define BUCKETS		1024	/* a power of two */

struct engine {
	const struct config *cfg;
	struct engine_socks *s;
	int fd;
	struct etrace **traces;		/* running or draining: cfg->max_traces slots */
	int ntraces;
	/*
	 * Traces awaiting late answers (ended, out of the queue but for their
	 * ICMP errors), oldest first: a ring of cfg->max_traces slots, which
	 * counts against max-traces with the running ones. Apart from those so
	 * that the loop's timers and reap scan only running traces: at 1,500
	 * traces a second a thousand wait here, and with them in the scans the
	 * engine spent milliseconds on some rounds while packets waited.
	 */
	struct etrace **late;
	int late_head, nlate;		/* nlate counts emptied slots until they reach the head */
	uint64_t reap_waits_since;	/* reap has waited for the queue to empty since; 0: not */
	struct etrace *bucket[BUCKETS];
	uint64_t last_arrival_us;	/* of the last packet read, on the engine's clock */
	struct engine_stats st;
	struct hopmem *mem;		/* recent traces' hops, shared by all (hopmem.h) */
	struct overload load;		/* how late the engine gets to its work (overload.h) */
	uint64_t overload_log_us;	/* when overload was last logged */
	int statm_fd;			/* its own /proc/self/statm, for STATUS's memory */
};

static volatile sig_atomic_t engine_stop;

/*
 * Records to the broker wait in outbox for the round's end (broker_flush): one
 * sendmmsg for up to OUT_BATCH instead of a send a record, each a system call
 * of 2-3 us on this project's VM (issue 15). Not more: the broker's overload
 * rule watches how long records wait for it, and the last of a burst of 64
 * waited for the 63 before it (some of 64 traces at once were refused busy).
 */
#define OUT_BATCH	16
static struct emsg outbox[OUT_BATCH];
static int nout;

/* FNV-1a over the visitor's address and port. */
static unsigned
by_visitor(const struct tt_addr *client, uint16_t cport)
{
	uint32_t h = 2166136261u;
	size_t n = client->family == AF_INET6 ? 16 : 4;

	for (size_t i = 0; i < n; i++)
		h = (h ^ client->u.b[i]) * 16777619u;
	h = (h ^ (cport & 0xff)) * 16777619u;
	h = (h ^ (cport >> 8)) * 16777619u;
	return h & (BUCKETS - 1);
}

static void
index_add(struct engine *e, struct etrace *et)
{
	struct etrace **b = &e->bucket[by_visitor(&et->tuple.src, et->tuple.sport)];

	et->next = *b;
	*b = et;
}

static void
index_del(struct engine *e, struct etrace *et)
{
	struct etrace **p = &e->bucket[by_visitor(&et->tuple.src, et->tuple.sport)];

	while (*p != NULL && *p != et)
		p = &(*p)->next;
	if (*p != NULL)
		*p = et->next;
}

static int
raw_open(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -1;
	/* Probes carry the mark, so the OUTPUT rule does not queue them back to us. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
engine_open(const struct config *cfg, struct engine_socks *s)
{
	memset(s, 0, sizeof(*s));
	s->raw4 = s->raw6 = -1;
	s->local.fd4 = s->local.fd6 = -1;
	if ((s->nfq = queue_open(cfg->queue)) == NULL) {
		log_warn("cannot bind NFQUEUE %u (is another tracetroutd running?)", cfg->queue);
		goto fail;
	}
	if ((s->ct = ct_open()) == NULL) {
		log_warn("cannot open ctnetlink");
		goto fail;
	}
	if (local_open(&s->local) < 0) {
		log_warn("cannot open /proc/self/net/fib_trie and if_inet6");
		goto fail;
	}
	if ((s->raw4 = raw_open(AF_INET, cfg->mark)) < 0) {
		log_warn("cannot open the IPv4 raw socket");
		goto fail;
	}
	if ((s->raw6 = raw_open(AF_INET6, cfg->mark)) < 0)
		log_warn("cannot open the IPv6 raw socket; IPv6 traces will lose their probes");
	return 0;
fail:
	engine_close(s);
	return -1;
}

void
engine_close(struct engine_socks *s)
{
	if (s->nfq)
		mnl_socket_close(s->nfq);
	if (s->ct)
		mnl_socket_close(s->ct);
	local_close(&s->local);
	if (s->raw4 >= 0)
		close(s->raw4);
	if (s->raw6 >= 0)
		close(s->raw6);
	s->nfq = s->ct = NULL;
	s->raw4 = s->raw6 = -1;
}

/*
 * The connmark bit that queues only a connection's ICMP errors, after its
 * trace ended, for late answers (tracetrout-rules): the bit below the trace
 * bit; none when that is bit 0.
 */
static uint32_t
late_bit(const struct config *cfg)
{
	return cfg->mark >> 1;
}

int
engine_clear_marks(const struct config *cfg, struct engine_socks *s)
{
	int n = ct_clear_all(s->ct, cfg->mark);
	int l = late_bit(cfg) ? ct_clear_all(s->ct, late_bit(cfg)) : 0;

	n = n < 0 || l < 0 ? -1 : n + l;
	if (n < 0)
		log_warn("cannot clear old trace marks");
	else if (n > 0)
		log_info("cleared the trace mark from %d connection(s) left by an earlier run", n);
	return n;
}

/* Sends the records waiting in outbox, in order. */
static void
broker_flush(struct engine *e)
{
	struct mmsghdr mm[OUT_BATCH];
	struct iovec iov[OUT_BATCH];
	uint64_t now = time_us(CLOCK_MONOTONIC);
	int sent = 0;

	/* The broker measures its own lag from here; the engine's it measures itself. */
	for (int i = 0; i < nout; i++)
		outbox[i].sent_us = now;
	mmsg_init(mm, iov, outbox, sizeof(outbox[0]), nout);
	while (sent < nout) {
		int n = sendmmsg(e->fd, mm + sent, (unsigned)(nout - sent), MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("engine: lost the broker");
			engine_stop = 1;
			break;
		}
		sent += n;
	}
	nout = 0;
}

static void
to_broker(struct engine *e, const struct emsg *m)
{
	outbox[nout++] = *m;
	if (nout == OUT_BATCH)
		broker_flush(e);
}

/* A trace not started: code says why; retry_s, for busy, when trying again makes sense (0: unsaid). */
static void
refuse_retry(struct engine *e, uint32_t handle, const char *code, const char *text, int retry_s)
{
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = EMSG_REFUSED;
	m.trace = handle;
	snprintf(m.u.end.code, sizeof(m.u.end.code), "%s", code);
	snprintf(m.u.end.text, sizeof(m.u.end.text), "%s", text);
	m.u.end.retry_s = retry_s;
	to_broker(e, &m);
}

static void
refuse(struct engine *e, uint32_t handle, const char *code, const char *text)
{
	refuse_retry(e, handle, code, text, 0);
}

/*
 * Refuses a new trace while the engine is overloaded (overload.h): the traces
 * running keep what CPU it gets. Logged at most every OVERLOAD_LOG_US.
 */
static void
refuse_overloaded(struct engine *e, uint32_t handle, uint64_t now)
{
	e->st.overload_refused++;
	if (e->overload_log_us == 0 || now - e->overload_log_us >= OVERLOAD_LOG_US) {
		log_info("engine: overloaded (most queued packets waited over %d ms to be read): "
		    "refusing new traces; %llu refused so far", OVERLOAD_TARGET_US / 1000,
		    (unsigned long long)e->st.overload_refused);
		e->overload_log_us = now;
	}
	refuse_retry(e, handle, "busy", "the tracing engine is overloaded", OVERLOAD_RETRY_S);
}

/* trace_ops callbacks */

static int
op_send(void *ctx, const uint8_t *pkt, size_t len, int family, uint64_t *sent_us)
{
	struct etrace *et = ctx;
	struct engine *e = et->e;
	struct sockaddr_storage ss;
	uint64_t sent;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, et->tuple.src.u.b, 4);
		sl = sizeof(*sin);
		fd = e->s->raw4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, et->tuple.src.u.b, 16);
		sl = sizeof(*sin6);
		fd = e->s->raw6;
	}
	/*
	 * The probe leaves now: read before sendto(), as traceroute does. On a
	 * path of veth links (and loopback) the kernel forwards the probe and
	 * even brings its answer back into our queue, stamped, before sendto()
	 * returns, so a time read after it can be later than the answer.
	 */
	/* Never ahead of a segment read already: its verdict goes first. */
	if (queue_flush(e->s->nfq) < 0)
		log_warn("nfq: verdicts");
	sent = time_us(CLOCK_MONOTONIC);
	if (fd < 0 || sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		log_debug("probe send: %s", strerror(errno));
		return -1;
	}
	*sent_us = sent;
	e->st.probes_sent++;
	return 0;
}

static void
op_hop(void *ctx, const struct proto_hop *hop)
{
	struct etrace *et = ctx;
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = EMSG_HOP;
	m.trace = et->handle;
	m.u.hop = *hop;
	/* The wall clock: the browser shows when a hop settled. */
	m.u.hop.at_us = time_us(CLOCK_REALTIME);
	to_broker(et->e, &m);
}

/*
 * A trace's END waits from op_end until reap takes its connection out of the
 * queue, the drain over: the app answers the END with the response's last
 * segments and FIN, and when they or the visitor's ACKs of them waited in
 * the queue behind other traces' packets longer than a tail-loss probe's
 * timer (2 RTTs and a few ms) they were sent again.
 */
static void
end_send(struct etrace *et)
{
	if (!et->end_due)
		return;
	et->end_due = false;
	to_broker(et->e, &et->end);
}

static void
op_late(void *ctx, int ttl, const struct proto_reply *r)
{
	struct etrace *et = ctx;
	struct emsg m;

	end_send(et);	/* the broker takes late answers only after the end */
	memset(&m, 0, sizeof(m));
	m.type = EMSG_LATE;
	m.trace = et->handle;
	m.u.hop.ttl = ttl;
	m.u.hop.nreplies = 1;
	m.u.hop.r[0] = *r;
	m.u.hop.at_us = time_us(CLOCK_REALTIME);
	to_broker(et->e, &m);
}

static void
op_end(void *ctx, const char *reason, int hops)
{
	struct etrace *et = ctx;
	struct emsg *m = &et->end;

	memset(m, 0, sizeof(*m));
	m->type = EMSG_END;
	m->trace = et->handle;
	snprintf(m->u.end.code, sizeof(m->u.end.code), "%s", reason);
	m->u.end.hops = hops;
	et->ended = et->end_due = true;	/* sent by reap, this round */
}

static void
op_log(void *ctx, const char *msg)
{
	struct etrace *et = ctx;

	log_debug("trace %u: %s", et->handle, msg);
}

static struct etrace *
find_handle(struct engine *e, uint32_t handle)
{
	for (int i = 0; i < e->ntraces; i++)
		if (e->traces[i]->handle == handle)
			return e->traces[i];
	return NULL;
}

static void reap(struct engine *e, bool may_wait);

static void end_send(struct etrace *et);

/*
 * A trace's connection leaves the queue: its trace and late bits become
 * value (the late bit, or none), then its END may go.
 */
static void
leave_queue(struct engine *e, struct etrace *et, uint32_t value)
{
	/* The connection may be gone already (closed): nothing to change then. */
	if (ct_mark(e->s->ct, &et->tuple, e->cfg->mark | late_bit(e->cfg), value) < 0 &&
	    errno != ENOENT)
		log_warn("ctnetlink: cannot change the mark of trace %u", et->handle);
	end_send(et);
}

/* Frees a trace that left the running ones, its connection out of the queue. */
static void
release(struct engine *e, struct etrace *et)
{
	leave_queue(e, et, 0);
	e->st.replies_matched += et->t.stats.replies_matched;
	index_del(e, et);
	free(et);
}

static struct etrace **
late_slot(struct engine *e, int i)
{
	return &e->late[(e->late_head + i) % e->cfg->max_traces];
}

/* Takes the oldest slot off the ring; its trace, if any, is released. */
static void
late_pop(struct engine *e)
{
	struct etrace **slot = late_slot(e, 0);

	if (*slot != NULL)
		release(e, *slot);
	*slot = NULL;
	e->late_head = (e->late_head + 1) % e->cfg->max_traces;
	e->nlate--;
}

/* Releases the traces whose late answers' window closed (the oldest first), by now. */
static void
late_expire(struct engine *e, uint64_t now)
{
	while (e->nlate > 0 && (*late_slot(e, 0) == NULL ||
	    trace_late_until(&(*late_slot(e, 0))->t, now) == 0))
		late_pop(e);
}

/* When the oldest trace awaiting late answers is due, if any. */
static uint64_t
late_next(struct engine *e)
{
	late_expire(e, 0);	/* only emptied slots go */
	return e->nlate > 0 ? trace_late_until(&(*late_slot(e, 0))->t, 0) : UINT64_MAX;
}

/*
 * Room for a new trace: the oldest trace awaiting late answers gives way,
 * else every draining one does.
 */
static void
make_room(struct engine *e)
{
	while (e->nlate > 0 && e->ntraces + e->nlate >= e->cfg->max_traces)
		late_pop(e);
	if (e->ntraces + e->nlate < e->cfg->max_traces)
		return;
	for (int i = 0; i < e->ntraces; i++)
		if (e->traces[i]->ended)
			trace_abort(&e->traces[i]->t, "drained");
	reap(e, false);
}

/*
 * The time up to which every queued packet has been read, for the timers:
 * read began at before; a read that emptied the queue saw every packet that
 * arrived before it began, one that stopped at its bound only those up to the
 * last one read (the queue is in arrival order). A hop is then never settled
 * as silent while its answer still waits in the queue.
 */
uint64_t
engine_seen_until(uint64_t before, bool drained, uint64_t last_arrival)
{
	return drained || last_arrival > before ? before : last_arrival;
}

/*
 * How late the loop came to its timers: poll was to wake it timeout_ms after
 * before (rounded up to whole ms: no lateness of ours), or at once when the
 * earliest timer, next, was due already. Returns false when no timer was due.
 */
bool
engine_timer_lag(uint64_t before, int timeout_ms, uint64_t next, uint64_t now, uint64_t *lag)
{
	uint64_t due = timeout_ms > 0 ? before + (uint64_t)timeout_ms * 1000 : next;

	if (next == UINT64_MAX || timeout_ms < 0 || now < due)
		return false;
	*lag = now - due;
	return true;
}

/* The highest trace bit with eight connmark bits above it for the SYN's TTL. */
#define TTL_MARK_TOP	0x800000u

/*
 * The TTL of the visitor's SYN, which tracetrout-rules keeps in the eight
 * connmark bits above the trace bit (docs/engine.md); 0 when the trace bit
 * is too high for them, or the connection began before the rules.
 */
static uint8_t
syn_ttl(uint32_t mark_bit, uint32_t ctmark)
{
	return mark_bit <= TTL_MARK_TOP ? (uint8_t)(ctmark / (mark_bit << 1)) : 0;
}

/*
 * The trace of tuple, running (late false) or awaiting late answers, by its
 * bucket: scanning the thousand awaiting late answers at every new trace
 * was a twentieth of the engine's time under load (perf, issue 15).
 */
static struct etrace *
find_trace(struct engine *e, const struct ct_tuple *tuple, bool late)
{
	struct etrace *et = e->bucket[by_visitor(&tuple->src, tuple->sport)];

	while (et != NULL && (et->late != late || !ct_tuple_equal(&et->tuple, tuple)))
		et = et->next;
	return et;
}

static void
start(struct engine *e, const struct emsg *m)
{
	const struct proto_trace_req *r = &m->u.start;
	struct ct_tuple tuple = { r->client, r->server, r->cport, r->sport };
	struct trace_cfg tc;
	struct trace_ops ops = { op_send, op_hop, op_end, op_log, op_late, NULL };
	struct ct_info info;
	struct check_refusal no;
	struct etrace *et;
	uint16_t ipid;
	struct emsg ok;
	uint64_t now;

	/* A trace of this connection that ended and is only draining gives way at once. */
	if ((et = find_trace(e, &tuple, false)) != NULL) {
		if (!et->ended)
			return refuse(e, m->trace, "traced",
			    "this connection is being traced (another request on it asked)");
		trace_abort(&et->t, "drained");
		reap(e, false);
	}
	/* So does one awaiting late answers: its slot stays empty until it is the oldest. */
	if (find_trace(e, &tuple, true) != NULL)
		for (int i = 0; i < e->nlate; i++) {
			struct etrace **slot = late_slot(e, i);

			if (*slot != NULL && ct_tuple_equal(&(*slot)->tuple, &tuple)) {
				release(e, *slot);
				*slot = NULL;
			}
		}
	/* Before any look-up: an overloaded engine spends nothing on a trace it will not run. */
	now = time_us(CLOCK_MONOTONIC);
	if (overload_now(&e->load, now))
		return refuse_overloaded(e, m->trace, now);
	make_room(e);
	if (e->ntraces + e->nlate >= e->cfg->max_traces)
		return refuse_retry(e, m->trace, "busy", "too many traces running", FULL_RETRY_S);
	/* The port first: no look-up at all for a port that may not be traced. */
	no = check_request(e->cfg, &tuple, check_port_allowed(e->cfg, r->sport) ?
	    local_check(&e->s->local, &r->server, now) : 1);
	if (no.code == NULL) {
		bool found = ct_lookup(e->s->ct, &tuple, &info) == 0;

		no = check_found(&tuple, found ? &info : NULL, found ? 0 : errno);
	}
	if (no.code != NULL)
		return refuse(e, m->trace, no.code, no.text);
	if (ct_mark(e->s->ct, &tuple, e->cfg->mark, e->cfg->mark) < 0) {
		log_warn("ctnetlink: cannot mark the connection");
		return refuse(e, m->trace, "internal", "cannot mark the connection");
	}
	if ((et = calloc(1, sizeof(*et))) == NULL) {
		ct_mark(e->s->ct, &tuple, e->cfg->mark, 0);
		return refuse(e, m->trace, "internal", "out of memory");
	}
	et->e = e;
	et->handle = m->trace;
	et->tuple = tuple;
	ops.ctx = et;
	tc.hop_timeout_us = e->cfg->hop_timeout_us;
	tc.probes_per_hop = 1 + e->cfg->hop_retries;
	tc.max_hops = e->cfg->max_hops;
	tc.gap_limit = e->cfg->gap_limit;
	tc.deadline_us = e->cfg->deadline_us;
	tc.max_probes = e->cfg->max_probes;
	tc.start_timeout_us = e->cfg->start_timeout_us;
	if (getrandom(&ipid, sizeof(ipid), GRND_NONBLOCK) != sizeof(ipid))
		ipid = (uint16_t)time_us(CLOCK_MONOTONIC);
	trace_init(&et->t, &tc, &ops, &r->client, r->cport, &r->server, r->sport, ipid,
	    time_us(CLOCK_MONOTONIC));
	trace_syn_ttl(&et->t, syn_ttl(e->cfg->mark, info.mark));
	trace_memory(&et->t, e->mem);
	e->traces[e->ntraces++] = et;
	index_add(e, et);
	e->st.traces++;

	memset(&ok, 0, sizeof(ok));
	ok.type = EMSG_STARTED;
	ok.trace = m->trace;
	to_broker(e, &ok);
}

static int on_packet(void *arg, struct queue_packet *qp);

/*
 * Reads the queue until it is empty, at most DRAIN_ROUNDS times
 * ROUND_PACKETS packets; true when it emptied.
 */
#define DRAIN_ROUNDS	8
/*
 * How long reap lets connections wait in the queue for it to empty. A flood
 * (tests/sys/forged.sh: 50,000 forged errors in a second) never lets it:
 * the traces it rides on then end with no more than this delay, and a
 * segment left behind is the flood's harm, not every trace's.
 */
#define REAP_WAIT_MAX_US	10000
static bool
queue_drain(struct engine *e)
{
	for (int i = 0; i < DRAIN_ROUNDS; i++) {
		int n = queue_read(e->s->nfq, e->cfg->queue, ROUND_PACKETS, on_packet, e);

		if (n < 0) {
			log_warn("engine: queue socket");
			return false;
		}
		if (n < ROUND_PACKETS)
			return true;
	}
	return false;
}

/* What reap does with a running trace now. */
enum fate {
	KEEP,		/* running or draining */
	TO_LATE,	/* done draining: out of the queue but for its ICMP errors */
	FREE,		/* over: its connection out of the queue */
};

static enum fate
fate(const struct etrace *et, uint32_t late, uint64_t now)
{
	if (!et->ended || !trace_over(&et->t, now))
		return KEEP;
	return trace_late_until(&et->t, now) == 0 || late == 0 ? FREE : TO_LATE;
}

/*
 * Frees traces that are over (ended, done draining the answers to probes
 * sent beyond the visitor, and past the late answers' window) and takes
 * their connections out of the queue; one done draining goes to the late
 * ring, only its ICMP errors queued until its late answers' window closes.
 * A trace's END goes once its connection left the queue (end_send). With
 * may_wait, a queue that does not empty first keeps every connection in it
 * until a later round, for REAP_WAIT_MAX_US at most; without, they leave
 * after the reads (room for a new trace, or the engine stopping, cannot
 * wait).
 */
static void
reap(struct engine *e, bool may_wait)
{
	uint64_t now = time_us(CLOCK_MONOTONIC);
	uint32_t late = late_bit(e->cfg);
	bool marks = false;
	int i;

	late_expire(e, now);
	for (i = 0; i < e->ntraces && !marks; i++)
		marks = fate(e->traces[i], late, now) != KEEP;
	/*
	 * Give every packet already queued its verdict before a connection
	 * leaves the queue: one still held while later ones pass unqueued
	 * would reach the visitor out of order and cost a retransmission (seen
	 * under load, when a read bounded to ROUND_PACKETS left a hop line's
	 * segment behind and the FIN passed it).
	 */
	if (marks && !queue_drain(e) && may_wait) {
		if (e->reap_waits_since == 0)
			e->reap_waits_since = now;
		if (now - e->reap_waits_since < REAP_WAIT_MAX_US)
			return;
	}
	e->reap_waits_since = 0;
	for (i = 0; i < e->ntraces;) {
		struct etrace *et = e->traces[i];
		enum fate f = fate(et, late, now);

		if (f == KEEP) {
			/* Draining on for a hole the server must fill: the END goes now. */
			if (trace_end_may_go(&et->t, now))
				end_send(et);
			i++;
			continue;
		}
		e->traces[i] = e->traces[--e->ntraces];
		if (f == FREE) {
			release(e, et);
			continue;
		}
		leave_queue(e, et, late);
		et->late = true;
		/* Room: running and late traces together are at most max-traces. */
		*late_slot(e, e->nlate++) = et;
	}
	if (!marks)
		return;
	/*
	 * A segment that entered the queue between the read above and the mark's
	 * change would wait for the next round while the connection's later
	 * segments pass unqueued, and reach the visitor after them.
	 */
	queue_drain(e);
}

/* A verdict for the queue: a probe's D-SACK block is taken out of an ACK that goes on. */
static int
segment_verdict(struct engine *e, struct trace *t, const struct pkt_tcp *seg, bool out,
    uint64_t now, struct queue_packet *qp)
{
	switch (trace_segment(t, seg, out, now)) {
	case TRACE_DROP:
		return NF_DROP;
	case TRACE_STRIP:
		if (pkt_strip_sack(qp->data, qp->len, t->strip) == 0)
			qp->changed = true;
		else
			e->st.bad_packets++;	/* cannot happen: the trace parsed its SACK */
		return NF_ACCEPT;
	case TRACE_ACCEPT:
		break;
	}
	return NF_ACCEPT;
}

/*
 * A queued packet is stamped on arrival, in wall-clock time. The engine reads
 * its queue within milliseconds (in the namespace lab at most 4.3 ms idle, 31
 * ms with every CPU busy and four traces at once): a stamp older than this
 * when read says rather that the wall clock was set forward meanwhile, and is
 * not used (one set back shows as a stamp in the future).
 */
#define QUEUE_AGE_MAX_US	1000000

/*
 * When the kernel received a queued packet, on the engine's clock
 * (CLOCK_MONOTONIC): now, less the packet's age by the wall clock. Without a
 * stamp (packets this host sends), or with one that cannot be right (ahead of
 * the wall clock, or too old: the clock was set meanwhile), it is now.
 */
static uint64_t
arrival_us(struct engine *e, uint64_t tstamp_us, uint64_t now, uint64_t *waited)
{
	uint64_t real, age;

	*waited = 0;
	if (tstamp_us == 0)
		return now;
	real = time_us(CLOCK_REALTIME);
	if (tstamp_us > real || (age = real - tstamp_us) > QUEUE_AGE_MAX_US || age > now) {
		e->st.stamps_rejected++;
		return now;
	}
	e->st.stamped++;
	if (age > e->st.wait_max_us)
		e->st.wait_max_us = age;
	*waited = age;
	return now - age;
}

static int
on_packet(void *arg, struct queue_packet *qp)
{
	struct engine *e = arg;
	uint64_t read_at = time_us(CLOCK_MONOTONIC), waited;
	uint64_t now = arrival_us(e, qp->tstamp_us, read_at, &waited);
	struct pkt p;
	enum pkt_err err;
	struct etrace *et;
	bool out, quoted = false;

	e->st.packets++;
	e->last_arrival_us = now;
	if ((err = pkt_parse(qp->data, qp->len, &p)) != PKT_OK) {
		/* Not ours to judge: pass it on unchanged. */
		if (err != PKT_OTHER_PROTO) {
			e->st.bad_packets++;
			log_debug("queued packet not parsed: %s", pkt_strerror(err));
		}
		return NF_ACCEPT;
	}
	if (p.kind == PKT_TCP) {
		const struct pkt_tcp *seg = &p.u.tcp;

		/* The visitor is the destination of the server's segments, the source of its own. */
		for (int dir = 0; dir < 2; dir++) {
			et = e->bucket[dir ? by_visitor(&seg->src, seg->sport) :
			    by_visitor(&seg->dst, seg->dport)];
			for (; et != NULL; et = et->next)
				/* One awaiting late answers has only its errors queued. */
				if (!et->late && trace_owns(&et->t, seg, &out)) {
					overload_wait(&e->load, waited, read_at);
					return segment_verdict(e, &et->t, seg, out, now, qp);
				}
		}
		return NF_ACCEPT;
	}
	if (p.kind != PKT_ICMP)
		return NF_ACCEPT;
	/* The trace of the connection, or one of two (a new trace, an old one's late answers). */
	for (et = e->bucket[by_visitor(&p.u.icmp.qdst, p.u.icmp.qdport)]; et; et = et->next)
		if (trace_quotes(&et->t, &p.u.icmp)) {
			quoted = true;
			if (trace_icmp(&et->t, &p.u.icmp, now) == TRACE_DROP) {
				overload_wait(&e->load, waited, read_at);
				return NF_DROP;
			}
		}
	/*
	 * An error that answers no probe is not counted as work that waited: a
	 * visitor flooding its own connection with forged errors must not make
	 * the engine refuse every other visitor's trace (tests/sys/forged.sh).
	 */
	if (quoted) {
		/* It quotes the connection but no probe of ours: forged or stray. */
		e->st.icmp_unmatched++;
		log_debug("ICMP error from a router quoting seq %u matches no probe", p.u.icmp.qseq);
	} else
		e->st.icmp_foreign++;
	return NF_ACCEPT;
}

static void
status_answer(struct engine *e)
{
	struct emsg m;
	uint64_t matched = e->st.replies_matched;

	/* Traces' answers are added to the total only when they are freed: add them here. */
	for (int i = 0; i < e->ntraces; i++)
		matched += e->traces[i]->t.stats.replies_matched;
	for (int i = 0; i < e->nlate; i++)
		if (*late_slot(e, i) != NULL)
			matched += (*late_slot(e, i))->t.stats.replies_matched;
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	m.u.status.traces = e->st.traces;
	m.u.status.running = (uint64_t)e->ntraces;
	m.u.status.packets = e->st.packets;
	m.u.status.bad_packets = e->st.bad_packets;
	m.u.status.probes_sent = e->st.probes_sent;
	m.u.status.replies_matched = matched;
	m.u.status.icmp_unmatched = e->st.icmp_unmatched;
	m.u.status.icmp_foreign = e->st.icmp_foreign;
	m.u.status.overload_refused = e->st.overload_refused;
	m.u.status.rss_bytes = statm_rss(e->statm_fd);
	to_broker(e, &m);
}

static void
from_broker(struct engine *e)
{
	struct emsg m;
	ssize_t n = emsg_recv(e->fd, &m);
	struct etrace *et;
	uint64_t now, wait;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_warn("engine: broker socket");
		engine_stop = 1;
		return;
	}
	/* The broker is the only peer; anything malformed means it is not itself. */
	if (emsg_check(&m, (size_t)n) < 0)
		fatalx("engine: malformed message from the broker (type %u, %zd bytes)", m.type, n);
	/* A START that waited for the engine is work that waited, as a queued packet is. */
	now = time_us(CLOCK_MONOTONIC);
	if (emsg_wait(&m, now, &wait))
		overload_wait(&e->load, wait, now);
	switch (m.type) {
	case EMSG_START:
		start(e, &m);
		break;
	case EMSG_CANCEL:
		if ((et = find_handle(e, m.trace)) != NULL)
			trace_abort(&et->t, "cancelled");
		break;
	case EMSG_STATUS:
		status_answer(e);
		break;
	default:
		fatalx("engine: unexpected message type %u from the broker", m.type);
	}
}

void
engine_main(const struct config *cfg, struct engine_socks *s, int fd)
{
	struct engine e = { .cfg = cfg, .s = s, .fd = fd };
	int status = 0;

	/* main() ignores SIGINT and SIGTERM here: the engine stops when the broker closes fd. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Its own memory, for the metrics: opened before the filter (which
	 * allows no open) and the change of user (a process of another user,
	 * not dumpable, may be hidden in /proc), then read with pread.
	 */
	if ((e.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) < 0)
		log_debug("engine: /proc/self/statm: %s; its memory is not reported",
		    strerror(errno));
	/* The sockets are open: no root, no other capability, no other system call from here. */
	if (privsep_engine(cfg) < 0)
		exit(1);
	if ((e.traces = calloc((size_t)cfg->max_traces, sizeof(*e.traces))) == NULL ||
	    (e.late = calloc((size_t)cfg->max_traces, sizeof(*e.late))) == NULL ||
	    (e.mem = hopmem_new()) == NULL)
		fatal("engine");
	overload_init(&e.load, time_us(CLOCK_MONOTONIC), OVERLOAD_TARGET_US);
	log_info("engine: queue %u, mark 0x%x", cfg->queue, cfg->mark);

	while (!engine_stop) {
		struct pollfd pfd[2] = {
			{ mnl_socket_get_fd(s->nfq), POLLIN, 0 },
			{ fd, POLLIN, 0 },
		};
		uint64_t now = time_us(CLOCK_MONOTONIC), next = late_next(&e), before, lag;
		int timeout = -1;

		for (int i = 0; i < e.ntraces; i++) {
			uint64_t t = trace_next_timeout(&e.traces[i]->t);

			if (t < next)
				next = t;
		}
		if (next != UINT64_MAX)
			timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
		before = now;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			log_warn("engine: poll");
			status = 1;
			break;
		}
		now = time_us(CLOCK_MONOTONIC);
		/* A trace's timer that fires late is harm too, and the sign of a starved engine. */
		if (engine_timer_lag(before, timeout, next, now, &lag))
			overload_wait(&e.load, lag, now);
		if (pfd[1].revents)
			from_broker(&e);
		now = time_us(CLOCK_MONOTONIC);
		if (pfd[0].revents) {
			int n = queue_read(s->nfq, cfg->queue, ROUND_PACKETS, on_packet, &e);

			if (n < 0) {
				log_warn("engine: queue socket");
				status = 1;
				break;
			}
			now = engine_seen_until(now, n < ROUND_PACKETS, e.last_arrival_us);
		}
		for (int i = 0; i < e.ntraces; i++)
			trace_tick(&e.traces[i]->t, now);
		reap(&e, true);
		broker_flush(&e);
	}

	/* Stopping: every running trace ends, and no mark stays behind. */
	for (int i = 0; i < e.ntraces; i++)
		trace_abort(&e.traces[i]->t, "engine-down");
	reap(&e, false);
	while (e.nlate > 0)
		late_pop(&e);
	broker_flush(&e);
	log_info("engine: stopped; %llu packets (%llu with the kernel's arrival time, read within "
	    "%llu us of it; %llu with one not used), %llu probes, %llu unmatched ICMP errors, "
	    "overloaded %llu ms (%llu new traces refused)",
	    (unsigned long long)e.st.packets, (unsigned long long)e.st.stamped,
	    (unsigned long long)e.st.wait_max_us, (unsigned long long)e.st.stamps_rejected,
	    (unsigned long long)e.st.probes_sent, (unsigned long long)e.st.icmp_unmatched,
	    (unsigned long long)(e.load.intervals_over * OVERLOAD_INTERVAL_US / 1000),
	    (unsigned long long)e.st.overload_refused);
	free(e.traces);
	free(e.late);
	hopmem_free(e.mem);
	if (e.statm_fd >= 0)
		close(e.statm_fd);
	engine_close(s);
	exit(status);
}
