/* Host names for libpq, resolved on a thread (resolve.h). */
#include "resolve.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVE_HOSTS_MAX	512

enum { R_RUNNING, R_DONE, R_ABANDONED };

struct resolver {
	pthread_t tid;
	int state;		/* R_*, with __atomic builtins: the thread and the loop both change it */
	char hosts[RESOLVE_HOSTS_MAX];
	char addrs[RESOLVE_HOSTS_MAX];
	char err[RESOLVE_HOSTS_MAX + 128];
	bool ok;
};

static bool
is_address(const char *h, size_t n)
{
	char buf[64];
	unsigned char a[16];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

bool
resolve_needed(const char *hosts)
{
	bool name = false;

	if (hosts == NULL || *hosts == '\0')
		return false;
	for (const char *h = hosts;; h++) {
		size_t n = strcspn(h, ",");

		if (n == 0 || *h == '/' || *h == '@')
			return false;
		name |= !is_address(h, n);
		h += n;
		if (*h == '\0')
			return name;
	}
}

/* Each host's first address, in the list's order: what hostaddr= wants. */
static void *
run(void *arg)
{
	struct resolver *r = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_ADDRCONFIG }, *res;
	size_t len = 0;
	int expect = R_RUNNING, rc;

	r->ok = true;
	for (char *h = r->hosts, *next; h != NULL && r->ok; h = next) {
		char a[INET6_ADDRSTRLEN];
		void *p;

		if ((next = strchr(h, ',')) != NULL)
			*next++ = '\0';
		if ((rc = getaddrinfo(h, NULL, &hints, &res)) != 0) {
			snprintf(r->err, sizeof(r->err), "cannot resolve %s: %s", h, gai_strerror(rc));
			r->ok = false;
			break;
		}
		p = res->ai_family == AF_INET6 ?
		    (void *)&((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr :
		    (void *)&((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
		inet_ntop(res->ai_family, p, a, sizeof(a));
		freeaddrinfo(res);
		len += (size_t)snprintf(r->addrs + len, sizeof(r->addrs) - len, "%s%s",
		    len ? "," : "", a);
		if (len >= sizeof(r->addrs)) {
			snprintf(r->err, sizeof(r->err), "too many addresses");
			r->ok = false;
		}
	}
	/* Abandoned meanwhile: nobody will look, so it is ours to free. */
	if (!__atomic_compare_exchange_n(&r->state, &expect, R_DONE, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		free(r);
	return NULL;
}

struct resolver *
resolve_start(const char *hosts, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL || strlen(hosts) >= sizeof(r->hosts)) {
		snprintf(err, errlen, r == NULL ? "out of memory" : "host list too long");
		free(r);
		return NULL;
	}
	snprintf(r->hosts, sizeof(r->hosts), "%s", hosts);
	r->state = R_RUNNING;
	if ((rc = pthread_create(&r->tid, NULL, run, r)) != 0) {
		snprintf(err, errlen, "cannot start the resolver: %s", strerror(rc));
		free(r);
		return NULL;
	}
	return r;
}

int
resolve_poll(struct resolver *r, char *addrs, size_t len, char *err, size_t errlen)
{
	bool ok;

	if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != R_DONE)
		return 0;
	pthread_join(r->tid, NULL);
	ok = r->ok;
	snprintf(addrs, len, "%s", r->addrs);
	snprintf(err, errlen, "%s", r->err);
	free(r);
	return ok ? 1 : -1;
}

void
resolve_abandon(struct resolver *r)
{
	int expect = R_RUNNING;

	if (r == NULL)
		return;
	if (__atomic_compare_exchange_n(&r->state, &expect, R_ABANDONED, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		pthread_detach(r->tid);	/* the thread frees it */
	else {
		pthread_join(r->tid, NULL);	/* it had just ended */
		free(r);
	}
}
