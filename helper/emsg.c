/* Validation of broker <-> engine records. */
#include "emsg.h"

#include <string.h>
#include <sys/socket.h>

static int
addr_ok(const struct tt_addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

static int
str_ok(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

int
emsg_check(const struct emsg *m, size_t len)
{
	if (m == NULL || len != sizeof(*m))
		return -1;
	switch (m->type) {
	case EMSG_START:
		return addr_ok(&m->u.start.client) &&
		    m->u.start.client.family == m->u.start.server.family &&
		    m->u.start.cport != 0 && m->u.start.sport != 0 ? 0 : -1;
	case EMSG_CANCEL:
	case EMSG_STARTED:
		return 0;
	case EMSG_STATUS:
		return m->trace == 0 ? 0 : -1;
	case EMSG_STATUS_ANSWER:
		/* Counters may be anything, but running traces fit the engine's table. */
		return m->trace == 0 && m->u.status.running <= 1024 ? 0 : -1;
	case EMSG_LATE:
	case EMSG_HOP:
		/* A late answer is one reply, flagged so. */
		if ((m->type == EMSG_LATE && (m->u.hop.nreplies != 1 ||
		    !(m->u.hop.r[0].flags & PROTO_RF_LATE))) ||
		    m->u.hop.ttl < 1 || m->u.hop.ttl > 255 || m->u.hop.sent < 0 ||
		    m->u.hop.sent > PROTO_MAX_REPLIES || m->u.hop.nreplies < 0 ||
		    m->u.hop.nreplies > PROTO_MAX_REPLIES)
			return -1;
		/* A reused router: a hop without replies only (a timeout), never a late answer. */
		if (m->u.hop.reused.family != 0 && (m->type != EMSG_HOP || !addr_ok(&m->u.hop.reused) ||
		    m->u.hop.nreplies != 0 || m->u.hop.reused_age_ms > PROTO_REUSED_AGE_MAX))
			return -1;
		for (int i = 0; i < m->u.hop.nreplies; i++)
			if (!addr_ok(&m->u.hop.r[i].from) || m->u.hop.r[i].kind < REPLY_TIME_EXCEEDED ||
			    m->u.hop.r[i].kind > REPLY_DESTINATION ||
			    (m->u.hop.r[i].flags & ~PROTO_RF_ALL) != 0)
				return -1;
		return 0;
	case EMSG_REFUSED:
	case EMSG_END:
		return str_ok(m->u.end.code, sizeof(m->u.end.code)) && m->u.end.code[0] &&
		    str_ok(m->u.end.text, sizeof(m->u.end.text)) &&
		    m->u.end.hops >= 0 && m->u.end.hops <= 255 &&
		    m->u.end.retry_s >= 0 && m->u.end.retry_s <= EMSG_RETRY_MAX ? 0 : -1;
	default:
		return -1;
	}
}

/* A record that took longer than this says rather that its stamp is wrong. */
#define EMSG_WAIT_MAX_US	1000000

bool
emsg_wait(const struct emsg *m, uint64_t now, uint64_t *wait)
{
	if (m->sent_us == 0 || m->sent_us > now || now - m->sent_us > EMSG_WAIT_MAX_US)
		return false;
	*wait = now - m->sent_us;
	return true;
}

ssize_t
emsg_recv(int fd, struct emsg *m)
{
	return recv(fd, m, sizeof(*m), MSG_DONTWAIT | MSG_TRUNC);
}
