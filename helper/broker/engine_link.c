/*
 * The broker's link to the engine: records queued and sent on the
 * socketpair, the engine's records read and handed to their sessions, and
 * the engine's end.
 */
#define _GNU_SOURCE	/* recvmmsg */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "internal.h"
#include "log.h"
#include "sockdiag.h"

#define ENGINE_BATCH		64		/* engine records per poll round */
#define ENGINE_WAIT_MS		10000		/* at exit, for the engine to clear its marks */
#define DIAG_LOG_S		60		/* between warnings of one setup fault */

static void engine_failed(struct broker *b);

/* A code from the engine goes into a protocol line: keep it one token of [a-z0-9-]. */
static const char *
safe_code(const char *code)
{
	if (*code == '\0')
		return "internal";
	for (const char *p = code; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return "internal";
	return code;
}

/* Sends what is queued for the engine while the socketpair takes it. */
void
engine_flush(struct broker *b)
{
	while (b->eqlen > 0 && !b->engine_down) {
		const struct emsg *m = &b->eq[b->eqhead];

		if (send(b->efd, m, sizeof(*m), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			log_warn("broker: send to the engine");
			engine_failed(b);
			return;
		}
		b->eqhead = (b->eqhead + 1) % b->eqcap;
		b->eqlen--;
	}
}

/*
 * Queues a record for the engine and sends what it can. The queue never
 * fills: each trace sends at most a START and a CANCEL, and it has room for
 * two records per trace allowed at once.
 */
void
engine_send(struct broker *b, uint32_t type, uint32_t handle, const struct proto_trace_req *req)
{
	struct emsg *m;

	if (b->engine_down)
		return;
	if (b->eqlen == b->eqcap) {
		log_warnx("broker: engine queue full (%zu records)", b->eqcap);
		engine_failed(b);
		return;
	}
	m = &b->eq[(b->eqhead + b->eqlen) % b->eqcap];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->trace = handle;
	/* Ready now, whenever the socketpair takes it: the engine counts its wait from here. */
	m->sent_us = time_us(CLOCK_MONOTONIC);
	if (req != NULL)
		m->u.start = *req;
	b->eqlen++;
	engine_flush(b);
}

/*
 * The data segments the server's socket of conn has sent (sockdiag.h), on a
 * netlink socket kept for the broker's life: this is asked at every trace's
 * start. A socket that failed is opened again at the next question.
 */
int
conn_segs(struct broker *b, const struct proto_trace_req *conn, uint64_t *segs)
{
	if (b->diag == NULL && (b->diag = sockdiag_open()) == NULL)
		return -1;
	if (sockdiag_segs_out(b->diag, conn, segs) == 0)
		return 0;
	if (errno != ENOENT) {
		mnl_socket_close(b->diag);
		b->diag = NULL;
	}
	return -1;
}

/*
 * The engine saw no segment of the response in time. The web server's socket
 * says which of two setup faults it is: it sent nothing (the web server holds
 * the response back: buffering), or it sent segments that never reached the
 * queue (the firewall rules are missing or miss this port). Either is said to
 * the visitor, and logged at most once per DIAG_LOG_S.
 */
static const char *
no_segment_why(struct broker *b, struct session *s)
{
	uint64_t segs, now = time_ms(CLOCK_MONOTONIC);
	const char *why;

	if (!s->segs0_ok || conn_segs(b, &s->req, &segs) < 0)
		return "no-segment";	/* the socket is gone, or sock_diag is not there */
	if (segs == s->segs0) {
		why = "buffered";
		if (now >= b->buffered_logged_ms) {
			log_warnx("trace %s: the web server sent nothing for the response in %llu ms: "
			    "it is buffering it (nginx: fastcgi_buffering off; lighttpd: "
			    "server.stream-response-body = 2; Apache: flushpackets=on or "
			    "FcgidOutputBufferSize 0)", s->id,
			    (unsigned long long)(b->cfg->start_timeout_us / 1000));
			b->buffered_logged_ms = now + DIAG_LOG_S * 1000;
		}
	} else {
		why = "no-rules";
		if (now >= b->norules_logged_ms) {
			log_warnx("trace %s: the web server sent %llu segments but none reached queue "
			    "%d: the firewall rules are missing or do not cover port %u "
			    "(tracetrout-rules add)", s->id, (unsigned long long)(segs - s->segs0),
			    b->cfg->queue, s->req.sport);
			b->norules_logged_ms = now + DIAG_LOG_S * 1000;
		}
	}
	return why;
}

/*
 * A late answer (engine.md): stored as one more reply of its hop, in a
 * trace that runs or ended stored; the live stream never changes.
 */
static void
late_answer(struct broker *b, struct emsg *m)
{
	struct session *s = session_find(b, m->trace);
	const struct tt_addr *client = s != NULL ? &s->req.client : NULL;
	const char *id = NULL;
	int off = b->cfg->hop_offset;

	if (s != NULL && s->stored && !s->store_failed)
		id = s->id;
	for (int i = 0; s == NULL && id == NULL && i < LATE_TRACES; i++)
		if (b->ended[i].handle == m->trace && b->ended[i].id[0]) {
			id = b->ended[i].id;
			client = &b->ended[i].client;
		}
	if (id == NULL || m->u.hop.ttl <= off)
		return;
	hop_truncate(b, client, &m->u.hop);
	if (store_late_reply(b->st, id, m->u.hop.ttl - off, &m->u.hop.r[0]) < 0)
		log_debug("broker: trace %s: a late answer at TTL %d not stored", id, m->u.hop.ttl - off);
}

static void
engine_record(struct broker *b, struct emsg *m)
{
	struct session *s;
	enum session_event ev;
	int off = b->cfg->hop_offset;

	if (m->type == EMSG_LATE) {
		late_answer(b, m);
		return;
	}
	if (m->type == EMSG_STATUS_ANSWER) {
		if (!b->status_asked)
			log_warnx("broker: engine counters nobody asked for; ignored");
		else
			status_answer(b, &m->u.status);
		return;
	}
	if ((s = session_find(b, m->trace)) == NULL) {
		log_warnx("broker: engine record type %u for unknown trace %u; ignored",
		    m->type, m->trace);
		return;
	}
	switch (m->type) {
	case EMSG_STARTED:
		ev = SESSION_EV_STARTED;
		break;
	case EMSG_REFUSED:
		ev = SESSION_EV_REFUSED;
		break;
	case EMSG_HOP:
		ev = SESSION_EV_HOP;
		break;
	case EMSG_END:
		ev = SESSION_EV_END;
		break;
	default:
		/* emsg_check() let through a broker-to-engine type. */
		log_warnx("broker: engine sent record type %u; stopping", m->type);
		engine_failed(b);
		return;
	}
	switch (session_step(s->state, ev)) {
	case SESSION_DO_BEGIN:
		session_begin(b, s);
		break;
	case SESSION_DO_HOP:
		session_hop(b, s, &m->u.hop);
		break;
	case SESSION_DO_REFUSE:
		session_refused(b, s, safe_code(m->u.end.code), m->u.end.text, m->u.end.retry_s);
		break;
	case SESSION_DO_END:
		if (ev == SESSION_EV_REFUSED) {
			log_warnx("broker: trace %s: REFUSED after STARTED; ending it", s->id);
			session_end(b, s, "internal", 0);
			break;
		}
		session_end(b, s, strcmp(m->u.end.code, "no-segment") == 0 ? no_segment_why(b, s) :
		    safe_code(m->u.end.code), m->u.end.hops > off ? m->u.end.hops - off : 0);
		break;
	default:
		log_warnx("broker: trace %s: engine record type %u %s; ignored", s->id, m->type,
		    s->state == SESSION_STARTING ? "before STARTED" :
		    s->state == SESSION_RUNNING ? "after STARTED" : "after the trace ended");
		break;
	}
}

/*
 * The engine's records waiting, ENGINE_BATCH at most, in one recvmmsg a
 * read: one recv a record, each a system call of 2-3 us on this project's VM,
 * was a large part of the broker's time under load (issue 15).
 */
#define READ_BATCH		16

void
engine_read(struct broker *b)
{
	static struct emsg in[READ_BATCH];
	struct mmsghdr mm[READ_BATCH];
	struct iovec iov[READ_BATCH];
	uint64_t now, wait;

	for (int done = 0; done < ENGINE_BATCH && !b->engine_down;) {
		int n;

		mmsg_init(mm, iov, in, sizeof(in[0]), READ_BATCH);
		/* MSG_TRUNC: a record's real length, so that an oversized one is seen as such. */
		n = recvmmsg(b->efd, mm, READ_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("broker: recv from the engine");
			engine_failed(b);
			return;
		}
		/*
		 * How late the loop comes to the engine's records, the broker's own
		 * lag: when they were read, not when the ones before them in this
		 * read are handled (the engine sends a round's records at once).
		 */
		now = time_us(CLOCK_MONOTONIC);
		for (int i = 0; i < n && !b->engine_down; i++) {
			size_t len = mm[i].msg_len;

			if (len == 0) {
				log_warnx("broker: the engine closed its socket");
				engine_failed(b);
				return;
			}
			if (emsg_check(&in[i], len) < 0) {
				log_warnx("broker: malformed record from the engine (%zu bytes, type %u); "
				    "stopping", len, len >= sizeof(in[i].type) ? in[i].type : 0);
				engine_failed(b);
				return;
			}
			if (emsg_wait(&in[i], now, &wait))
				overload_wait(&b->load, wait, now);
			engine_record(b, &in[i]);
		}
		if (n < READ_BATCH)
			return;	/* the socket is empty */
		done += n;
	}
}

/* At most one log line about the broker's overload in this time. */
#define OVERLOAD_LOG_MS		10000

/*
 * Refuses a new trace with busy retry=1 while the broker is overloaded (most
 * of the engine's records waited over the target for its loop, overload.h):
 * its traces running get the loop. Returns whether it did; logged at most
 * every OVERLOAD_LOG_MS.
 */
bool
overloaded_busy(struct broker *b, struct client *c)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);

	if (!overload_now(&b->load, time_us(CLOCK_MONOTONIC)))
		return false;
	b->overload_refused++;
	if (b->overload_logged_ms == 0 || now - b->overload_logged_ms >= OVERLOAD_LOG_MS) {
		log_info("broker: overloaded (most of the engine's records waited over %d ms to be "
		    "read): refusing new traces; %llu refused so far", OVERLOAD_BROKER_TARGET_US / 1000,
		    (unsigned long long)b->overload_refused);
		b->overload_logged_ms = now;
	}
	client_busy(b, c, OVERLOAD_RETRY_S, "the tracing helper is overloaded");
	return true;
}

/*
 * Every trace ends with engine-down (or, not started yet, an ERROR); nothing
 * more goes to the engine.
 */
void
end_all(struct broker *b)
{
	struct session *s;

	/* Sessions whose END waits for the round's commit, first. */
	sessions_commit(b);
	while ((s = TAILQ_FIRST(&b->sessions)) != NULL) {
		switch (session_step(s->state, SESSION_EV_ENGINE_DOWN)) {
		case SESSION_DO_CLOSE:
			session_end_line(b, s);
			session_free(b, s);
			break;
		case SESSION_DO_END:
			session_end(b, s, "engine-down", 0);
			break;
		default:
			session_refused(b, s, "engine-down", "the packet engine is not running", 0);
			break;
		}
	}
}

static void
engine_failed(struct broker *b)
{
	b->engine_down = 1;
	b->eqlen = 0;
}

/* Waits for the engine to exit, killing it after ENGINE_WAIT_MS. Returns 0 if it exited 0. */
int
wait_engine(pid_t pid)
{
	uint64_t end = time_ms(CLOCK_MONOTONIC) + ENGINE_WAIT_MS;
	int status;
	pid_t r;

	if (pid <= 0)
		return 0;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000 };

		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (r < 0 && errno != EINTR) {
			log_warn("broker: waitpid");
			return -1;
		}
		if (time_ms(CLOCK_MONOTONIC) >= end) {
			log_warnx("broker: the engine (pid %ld) did not exit in %d ms; killing it",
			    (long)pid, ENGINE_WAIT_MS);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0) {
			log_debug("broker: the engine exited");
			return 0;
		}
		log_warnx("broker: the engine exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status))
		log_warnx("broker: the engine was killed by signal %d", WTERMSIG(status));
	return -1;
}
