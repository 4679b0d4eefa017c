/*
 * The broker's own header, for its files only (broker.h is what main.c sees):
 * its state, its clients, sessions, visitors and sites, and the functions
 * one job's file calls in another's. docs/broker.md maps the files.
 */
#ifndef TT_BROKER_INTERNAL_H
#define TT_BROKER_INTERNAL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "admit.h"
#include "config.h"
#include "emsg.h"
#include "enrich.h"
#include "fleet.h"
#include "sitename.h"
#include "limit.h"
#include "metrics.h"
#include "overload.h"
#include "proto.h"
#include "session.h"
#include "store.h"
#include "util.h"

#define CLIENT_MAX		1024		/* connections at once */
#define CLIENT_IDLE_MS		30000		/* for a request to arrive */
#define BUSY_CONN_RETRY		1		/* retry= when connections are full */
#define VISITOR_STRLEN		(ADDR_STRLEN + 4)	/* a visitor for the log, and "/48" */

struct lookup_ref;
struct ucred;

/* Users' or groups' ids, from a setting's names (auth.c). */
struct id_list {
	uint32_t *ids;
	size_t n;
};

struct client {
	TAILQ_ENTRY(client) entry;
	int fd;
	uid_t uid;		/* SO_PEERCRED: for authorization and per-uid history */
	pid_t pid;
	char in[PROTO_REQUEST_MAX];
	size_t inlen;
	char *out;		/* output not yet taken by the client */
	size_t outlen, outcap;
	struct session *session;	/* its TRACE, once it sent one */
	uint64_t deadline_ms;	/* idle or linger limit; 0 while tracing */
	int site;		/* may trace and read its own traces (allow-users, allow-groups, root) */
	int admin;		/* may search every site's traces (admin-users, admin-groups, root) */
	int requested;		/* sent TRACE or STATUS: further input is ignored */
	int want_status;	/* waits for the engine's counters */
	struct fleet_ask ask;	/* GET or HISTORY waits for the fleet while ask.serial != 0 */
	int counted;		/* counts against its site's site-conns */
	int rdshut;		/* sent EOF (may still read) */
	int closing;		/* close once the output is out */
	int dead;		/* close now */
};

/*
 * A session: one TRACE request as the broker follows it, from the client's
 * line through the engine's trace (helper/engine/trace.c) to its END.
 */
struct session {
	TAILQ_ENTRY(session) entry;
	/* Held while the trace lives: its visitor and the visitor's prefixes, by level. */
	struct visitor *visitor[LIMIT_LEVELS];
	int stored;		/* its row was inserted: the trace is being stored */
	int store_failed;	/* a later write failed: it is not stored whole */
	uint64_t store_batch;	/* the store's batch its row went into (store_batch) */
	int end_commit;		/* ended, its end in the store's batch: END waits for the commit */
	uint32_t handle;	/* ours, echoed by the engine; never reused in a run */
	char id[PROTO_ID_LEN + 1];
	char token[PROTO_ID_LEN + 1];	/* the delete token, given to the visitor with STARTED */
	uint64_t started_ms;	/* realtime, at STARTED */
	enum session_state state;
	struct client *client;	/* NULL once the client went away */
	uid_t uid;
	struct proto_trace_req req;
	uint64_t started_us;	/* monotonic, at STARTED */
	uint64_t segs0;		/* the server socket's data segments sent, at STARTED */
	int segs0_ok;		/* segs0 is known */
	struct lookup_ref *lk;	/* its hop addresses' look-ups */
	int nlk;
	int lk_pending;		/* look-ups it waits for */
	uint64_t lk_start_ms;	/* monotonic: when the look-ups marked wanted start; 0 none */
	/* SESSION_ENDED: the END line, sent when its look-ups end (wait=1) or at once. */
	char end_reason[EMSG_CODE_LEN];
	int end_hops, end_stored;
	uint64_t end_dur_us;
	uint64_t end_by_ms;	/* monotonic: END goes out by then, whatever is pending */
};

/* One site's counters: a site is the uid of the app that asks (docs/protocol.md, SITES). */
struct site {
	uid_t uid;
	uint64_t done, refused;
	struct admit_site admit;	/* its traces running, and site-rate */
	int conns;		/* its connections, against site-conns */
	uint64_t running, stored;	/* filled for each SITES answer (sites_count) */
	char name[64];		/* its user's name for the metrics, once asked; or the uid */
};

#define LATE_TRACES	2048

/* A socket file the broker made, to remove only ours (socket.c). */
struct sockfile {
	const char *path;
	dev_t dev;
	ino_t ino;
	int made;
};

struct metrics_server;

struct broker {
	const struct config *cfg;
	struct store *st;
	int lfd;
	int efd;
	pid_t epid;
	struct sockfile sock;	/* the API's socket file */
	TAILQ_HEAD(, client) clients;
	int nclients;
	TAILQ_HEAD(, session) sessions;
	int nrunning;		/* sessions starting or running, against max-traces */
	uint32_t next_handle;
	/*
	 * Stored traces that ended, newest last, for the late answers the
	 * engine still sends about them (HOP_TIMEOUT at most): it holds at most
	 * max-traces (1024) of them at once, so twice that many is enough.
	 */
	struct ended {
		uint32_t handle;
		char id[PROTO_ID_LEN + 1];
		struct tt_addr client;	/* for hop_truncate */
	} ended[LATE_TRACES];
	int ended_next;
	uint64_t next_sweep_ms;	/* monotonic: the next retention sweep */
	struct fleet *fleet;	/* NULL: no PostgreSQL (fleet.h) */
	struct site_names names;	/* sites' names (sitename.h) */
	struct enrich *enrich;	/* NULL: no look-ups */
	int enrich_slots;	/* pfd entries for its sockets */
	int nenrich_fds;	/* its entries at the end of pfd in this round */
	uint64_t enrich_done;	/* look-ups that ended, for STATUS */
	struct emsg *eq;	/* records waiting for room in the socketpair */
	size_t eqhead, eqlen, eqcap;
	uint64_t accept_paused_until;
	int engine_down;	/* the engine's end closed or misbehaved */
	struct pollfd *pfd;
	struct client **pcl;	/* the client of each pfd entry past the first two */
	/* authorization: resolved from allow-users/groups and admin-users/groups at start */
	struct id_list allow_users, allow_groups, admin_users, admin_groups;
	uid_t last_forbidden_uid;
	uint64_t last_forbidden_ms;
	struct admit admit;	/* limits: the visitors seen lately, the global rate */
	struct overload load;	/* how long the engine's records wait for the loop (overload.h) */
	uint64_t overload_refused;	/* new traces refused busy while it says overloaded */
	uint64_t overload_logged_ms;	/* monotonic: when that was last logged */
	/* storage */
	uint64_t store_retry_ms;	/* monotonic; when to try opening the database again */
	unsigned long db_errors_before;	/* of stores closed or never opened */
	/* STATUS */
	int queue_stats_fd;	/* /proc/self/net/netfilter/nfnetlink_queue, opened as root; or -1 */
	int status_asked;	/* an EMSG_STATUS is out, its answer not in yet */
	uint64_t started_ms;
	uint64_t traces_done, traces_refused, busy, forbidden;
	/* metrics (docs/metrics.md) */
	uint64_t started_real_ms;	/* the start, ms since the epoch */
	struct metrics_reasons reasons;	/* traces ended, by END's reason */
	struct metrics_hist commits;	/* how long the store's commits take */
	int statm_fd;		/* /proc/self/statm, opened before the drop; or -1 */
	struct metrics_server *metrics;	/* the endpoint; NULL: off (metrics_server.c) */
	struct mnl_socket *diag;	/* sock_diag, for no_segment_why; NULL until asked */
	uint64_t buffered_logged_ms, norules_logged_ms;	/* monotonic: next warning due */
	/* proxies: visitors that are proxies in front of the server */
	struct config_net proxies[CONFIG_PROXIES_N];
	int nproxies;
	/* SITES: each site (uid) that traced since the start, or has traces stored */
	struct site *sites;
	size_t nsites;
};

/* --- broker.c: the loop and the broker's lifetime --- */
/* The signal that stops the broker; 0 until one comes. */
extern volatile sig_atomic_t broker_stop_signal;

/* --- client.c: connections --- */
void client_flush(struct broker *b, struct client *c);
void client_write(struct broker *b, struct client *c, const char *line, size_t len);
/* Sends what every client has waiting (client_write leaves it for the round's end). */
void clients_flush(struct broker *b);
void client_close_after(struct client *c);
void client_error(struct broker *b, struct client *c, const char *code, const char *msg);
void client_busy(struct broker *b, struct client *c, int retry, const char *what);
void client_gone(struct broker *b, struct client *c);
void client_free(struct broker *b, struct client *c);
void client_read(struct broker *b, struct client *c, short revents);
void accept_clients(struct broker *b);

/* --- verbs.c: the verb table --- */
void client_line(struct broker *b, struct client *c, const char *line, size_t len);

/* --- session.c: sessions --- */
int trace_id_new(char *id);
void request_trace(struct broker *b, struct client *c, const struct proto_msg *m);
void session_free(struct broker *b, struct session *s);
struct session *session_find(struct broker *b, uint32_t handle);
void session_begin(struct broker *b, struct session *s);
void session_hop(struct broker *b, struct session *s, struct proto_hop *hop);
void session_end_line(struct broker *b, struct session *s);
void session_end(struct broker *b, struct session *s, const char *reason, int hops);
/* How long the store's writes may wait for a commit while traces run. */
#define COMMIT_EVERY_MS	4
bool commit_due(const struct broker *b, uint64_t now_ms);
int commit_timed(struct broker *b);
void sessions_commit(struct broker *b);
void session_refused(struct broker *b, struct session *s, const char *code, const char *text,
    int retry_s);
void ended_sessions(struct broker *b);
uint64_t ended_next(const struct broker *b);

/* --- engine_link.c: the engine link --- */
void engine_flush(struct broker *b);
void engine_send(struct broker *b, uint32_t type, uint32_t handle,
    const struct proto_trace_req *req);
void engine_read(struct broker *b);
bool overloaded_busy(struct broker *b, struct client *c);
int conn_segs(struct broker *b, const struct proto_trace_req *conn, uint64_t *segs);
void end_all(struct broker *b);
int wait_engine(pid_t pid);

/* --- history.c: stored traces --- */
void store_retry(struct broker *b);
void sweep(struct broker *b);
void request_get(struct broker *b, struct client *c, const struct proto_msg *m);
/* fleet_answered_fn: the GET or HISTORY that waited for it is answered from the store. */
void fleet_answered(void *ctx, uint64_t serial, bool answered);
void request_history(struct broker *b, struct client *c, const struct proto_msg *m);
void request_query(struct broker *b, struct client *c, const struct proto_msg *m);
void request_delete(struct broker *b, struct client *c, const struct proto_msg *m);

/* --- lookup.c: hop look-ups --- */
int enrich_setup(struct broker *b);
void hop_lookups(struct broker *b, struct session *s, const struct proto_hop *hop);
void lookups_start(struct broker *b, struct session *s);
void lookups_drop(struct broker *b, struct session *s);
void lookup_send(struct broker *b, struct client *c, enum enrich_kind k, const struct tt_addr *a,
    const char *data, size_t len);

/* --- sites.c: sites and status --- */
struct site *site_get(struct broker *b, uid_t uid);
void site_count(struct broker *b, uid_t uid, int done, int refused);
/* Fills each site's running and stored counts; -1 if the database could not be read. */
int sites_count(struct broker *b);
void request_sites(struct broker *b, struct client *c, const struct proto_msg *m);
/* Asks the engine for its counters unless a question is out: STATUS and the metrics share it. */
void status_ask(struct broker *b);
void request_status(struct broker *b, struct client *c, const struct proto_msg *m);
void status_answer(struct broker *b, const struct emsg_status *es);

/* --- metrics_server.c: the metrics endpoint --- */
#define METRICS_CONNS	8	/* scrapers at once; more wait in the listeners' backlog */
#define METRICS_PFDS	(CONFIG_METRICS_ADDRS + METRICS_CONNS)	/* its entries in the poll set */
/* Opens the listening socket(s) of the metrics setting, before the drop: 0, or -1 (logged). */
int metrics_open(struct broker *b);
void metrics_close(struct broker *b);
/* Fills METRICS_PFDS entries (-1 for those not in use) and returns how many; 0 when off. */
nfds_t metrics_pollfds(struct broker *b, struct pollfd *pfd);
/* After poll, on the entries metrics_pollfds filled: accepts, reads, writes, times out. */
void metrics_events(struct broker *b, const struct pollfd *pfd);
/* The nearest deadline of its connections, for the poll timeout; UINT64_MAX if none. */
uint64_t metrics_next_ms(const struct broker *b);
/* The engine's counters came: the scrapers waiting for them get the text. */
void metrics_answer(struct broker *b, const struct proto_status *ps, const struct emsg_status *es);

/* --- auth.c: who may connect, and as what --- */
int allow_lists(struct broker *b);
void allow_lists_free(struct broker *b);
/* Sets c->site and c->admin for this caller; 0 if it is neither: it may not go on. */
int caller_roles(const struct broker *b, int fd, const struct ucred *cred, struct client *c);
void log_forbidden(struct broker *b, const struct ucred *cred);

/* --- socket.c: the socket file --- */
int listen_socket(struct broker *b);
void remove_socket(struct broker *b);
/*
 * Makes sf->path a listening unix socket with socket-mode and socket-group,
 * replacing a stale one; returns its descriptor, or -1 (logged).
 */
int sockfile_listen(struct sockfile *sf, const struct config *cfg);
/* Removes sf's file if it is still the one sockfile_listen made. */
void sockfile_remove(struct sockfile *sf);

/* --- truncate.c: the visitor's address with truncate-clients --- */
void hop_truncate(const struct broker *b, const struct tt_addr *client, struct proto_hop *hop);
const char *visitor_format(const struct broker *b, const struct tt_addr *client, char *buf);

#endif
