/*
 * Who may use the broker: root, the users of allow-users and the members of
 * allow-groups, resolved once at start and checked on each connection.
 */
#define _GNU_SOURCE		/* struct ucred, SO_PEERGROUPS */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "log.h"

#define FORBIDDEN_LOG_S		10		/* between logged refusals of the same uid */
#define PEER_GROUPS_MAX		256		/* supplementary groups read with SO_PEERGROUPS */

static int
uid_allowed(const struct broker *b, uid_t uid)
{
	for (size_t i = 0; i < b->nallow_uids; i++)
		if (b->allow_uids[i] == uid)
			return 1;
	return 0;
}

static int
gid_allowed(const struct broker *b, gid_t gid)
{
	for (size_t i = 0; i < b->nallow_gids; i++)
		if (b->allow_gids[i] == gid)
			return 1;
	return 0;
}

/*
 * May this caller trace? Root always may (it could read the database or
 * stop the helper anyway), then the allowed users, then members of the
 * allowed groups: the caller's group or, read with SO_PEERGROUPS, any of
 * its supplementary groups when it connected.
 */
int
caller_allowed(const struct broker *b, int fd, const struct ucred *cred)
{
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || uid_allowed(b, cred->uid) || gid_allowed(b, cred->gid))
		return 1;
	if (b->nallow_gids == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		/* ERANGE: more groups than we read; they are not looked at. */
		log_debug("broker: SO_PEERGROUPS: %s", strerror(errno));
		return 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (gid_allowed(b, groups[i]))
			return 1;
	return 0;
}

/* Logs a refused caller, at most once per FORBIDDEN_LOG_S for the same uid. */
void
log_forbidden(struct broker *b, const struct ucred *cred)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);

	b->forbidden++;
	if (cred->uid == b->last_forbidden_uid && b->last_forbidden_ms != 0 &&
	    now - b->last_forbidden_ms < FORBIDDEN_LOG_S * 1000)
		return;
	b->last_forbidden_uid = cred->uid;
	b->last_forbidden_ms = now;
	log_warnx("broker: refused a caller: uid %u gid %u pid %ld is not in allow-users or "
	    "allow-groups (%llu refused so far)", (unsigned)cred->uid, (unsigned)cred->gid,
	    (long)cred->pid, (unsigned long long)b->forbidden);
}

/* An entry of allow-users or allow-groups, resolved as the settings' check did (config_id). */
static int
resolve(const char *name, int group, uint32_t *id)
{
	if (config_id(name, group, id) == 0)
		return 0;
	log_warnx("broker: allow-%s: %s \"%s\"%s%s", group ? "groups" : "users",
	    group ? "no such group" : "no such user", name, errno == ENOENT ? "" : ": ",
	    errno == ENOENT ? "" : strerror(errno));
	return -1;
}

static int
add_user(void *ctx, const char *name)
{
	struct broker *b = ctx;
	uint32_t id;
	uid_t *p;

	if (resolve(name, 0, &id) < 0 ||
	    (p = reallocarray(b->allow_uids, b->nallow_uids + 1, sizeof(*p))) == NULL)
		return -1;
	b->allow_uids = p;
	p[b->nallow_uids++] = (uid_t)id;
	return 0;
}

static int
add_group(void *ctx, const char *name)
{
	struct broker *b = ctx;
	uint32_t id;
	gid_t *p;

	if (resolve(name, 1, &id) < 0 ||
	    (p = reallocarray(b->allow_gids, b->nallow_gids + 1, sizeof(*p))) == NULL)
		return -1;
	b->allow_gids = p;
	p[b->nallow_gids++] = (gid_t)id;
	return 0;
}

/* Resolves allow-users and allow-groups once, at start: a name that does not exist stops it. */
int
allow_lists(struct broker *b)
{
	if (config_each(b->cfg->allow_users, add_user, b) < 0 ||
	    config_each(b->cfg->allow_groups, add_group, b) < 0)
		return -1;
	log_debug("broker: %zu allowed users, %zu allowed groups (and root)", b->nallow_uids,
	    b->nallow_gids);
	return 0;
}
