/*
 * tracetrout.fcgi: the threaded FastCGI accept loop. Only this file touches
 * FCGX; handlers get a plain struct request and write through struct out.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "out.h"
#include "request.h"
#include "brokercfg.h"
#include "route.h"
#include "slots.h"

#define THREADS_DEFAULT	64	/* live traces at once: each holds a thread for up to 30 s */
#define THREADS_MAX	256

struct app {
	int sock;			/* the listening socket: 0 when the web server spawned us */
	struct broker_cfg cfg;
	struct slots slots;		/* the threads that may hold a live trace */
};

/* Some platforms need accept() serialized (fcgi2's threaded example); it costs nothing here. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static int
fcgx_write(void *ctx, const char *buf, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (FCGX_PutStr(buf, n, ctx) != n)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fcgx_flush(void *ctx)
{
	return FCGX_FFlush(ctx) < 0 ? -1 : 0;
}

static const char *
fcgx_param(const char *name, void *ctx)
{
	return FCGX_GetParam(name, ctx);
}

/* A request body: FCGX_GetStr gives fewer bytes than asked only at the end of the stream. */
static int
fcgx_read(void *ctx, char *buf, size_t len)
{
	return FCGX_GetStr(buf, len > INT_MAX ? INT_MAX : (int)len, ctx);
}

static void *
worker(void *arg)
{
	const struct app *app = arg;
	struct request *req;
	FCGX_Request fr;
	int rc;

	/* The copy outlives FCGX_Finish_r's free of the parameters, and is big for a stack. */
	if ((req = malloc(sizeof(*req))) == NULL)
		fatal("malloc");
	if (FCGX_InitRequest(&fr, app->sock, 0) != 0)
		fatalx("FCGX_InitRequest failed");
	for (;;) {
		struct out o;

		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&fr);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0) {
			/* libfcgi returns -errno, or -9999 for its own errors. */
			log_warnx("FCGX_Accept_r: %s", rc > -9999 ? strerror(-rc) : "FastCGI error");
			break;
		}
		request_fill(req, fcgx_param, fr.envp);
		request_read_body(req, fcgx_read, fr.in);
		o.write = fcgx_write;
		o.flush = fcgx_flush;
		o.ctx = fr.out;
		route_serve(req, &o, &app->cfg);
		/*
		 * libfcgi does not skip input left unread: on a connection the web
		 * server keeps (nginx's fastcgi_keep_conn), it would be read as the
		 * next request's. Close such a connection instead.
		 */
		if ((req->body_status != REQ_BODY_NONE && req->body_status != REQ_BODY_OK) ||
		    (req->body_status == REQ_BODY_NONE && req->content_length[0] &&
		    strcmp(req->content_length, "0") != 0))
			fr.keepConnection = 0;
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 0);
	free(req);
	return NULL;
}

/* A whole decimal number from the environment within [min, max], else def; bad values are fatal. */
static int
env_int(const char *name, int def, int min, int max)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		fatalx("%s=%s: want a number from %d to %d", name, s, min, max);
	return (int)v;
}

int
main(void)
{
	static struct app app;
	const char *s, *listen;
	pthread_t *tids;
	int nthreads;

	log_init("tracetrout.fcgi", 1, env_int("TRACETROUT_VERBOSE", 0, 0, 1));
	/* A web server that closes its end must fail a write, not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	s = getenv("TRACETROUT_SOCKET");
	app.cfg.socket_path = s && *s ? s : BROKER_SOCKET;
	app.cfg.connect_ms = BROKER_CONNECT_MS;
	app.cfg.start_ms = BROKER_START_MS;
	app.cfg.run_ms = env_int("TRACETROUT_TIMEOUT", BROKER_RUN_MS / 1000, 1, 3600) * 1000;
	/* TRACETROUT_THREADS live traces at once, and a few threads more for everything else. */
	slots_init(&app.slots, env_int("TRACETROUT_THREADS", THREADS_DEFAULT, 1, THREADS_MAX));
	app.cfg.slots = &app.slots;
	nthreads = slots_threads(app.slots.max);

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	/*
	 * libfcgi turns SIGTERM into a flag that threads blocked in accept()
	 * never see. A web server stopping us wants us gone: the broker sees
	 * the closed connections and cancels their traces.
	 */
	signal(SIGTERM, SIG_DFL);
	listen = getenv("TRACETROUT_LISTEN");
	if (listen && *listen) {
		if ((app.sock = FCGX_OpenSocket(listen, 128)) < 0)
			fatalx("cannot listen on %s", listen);
	} else if (FCGX_IsCGI())
		fatalx("not started by a FastCGI server: set TRACETROUT_LISTEN=path or :port");

	if ((tids = calloc((size_t)nthreads, sizeof(*tids))) == NULL)
		fatal("calloc");
	for (int i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&tids[i], NULL, worker, &app)) != 0)
			fatal("pthread_create");
	log_info("serving with %d threads (%d live traces at once), broker %s", nthreads,
	    app.slots.max, app.cfg.socket_path);
	/* Workers return only when accepting fails; then the web server starts us again. */
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return 1;
}
