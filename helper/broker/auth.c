/*
 * Who may use the broker, and as what, resolved once at start and checked
 * on each connection: a site (root, the users of allow-users and the members
 * of allow-groups) traces and reads its own traces; an operator (root, the
 * users of admin-users and the members of admin-groups) searches every
 * site's (QUERY, docs/query.md). A site's web user is never an operator.
 */
#define _GNU_SOURCE		/* struct ucred, SO_PEERGROUPS */
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "log.h"

#define FORBIDDEN_LOG_S		10		/* between logged refusals of the same uid */
#define PEER_GROUPS_MAX		256		/* supplementary groups read with SO_PEERGROUPS */

static bool
in_list(const struct id_list *l, uint32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/*
 * Is one of the caller's groups in l: its own, or, read with SO_PEERGROUPS,
 * one of the supplementary groups it had when it connected?
 */
static bool
groups_in(const struct id_list *l, int fd, gid_t gid)
{
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);

	if (in_list(l, gid))
		return true;
	if (l->n == 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		/* ERANGE: more groups than we read; they are not looked at. */
		log_debug("broker: SO_PEERGROUPS: %s", strerror(errno));
		return false;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (in_list(l, groups[i]))
			return true;
	return false;
}

/*
 * Root is both (it could read the database or stop the helper anyway). A
 * web server's user, one allow-users names or whose own group allow-groups
 * names, is a site and never an operator, whatever admin-* say: a site's
 * code must not read other sites' visitors.
 */
int
caller_roles(const struct broker *b, int fd, const struct ucred *cred, struct client *c)
{
	bool web = in_list(&b->allow_users, cred->uid) || in_list(&b->allow_groups, cred->gid);

	c->site = cred->uid == 0 || web || groups_in(&b->allow_groups, fd, cred->gid);
	c->admin = cred->uid == 0 || (!web && (in_list(&b->admin_users, cred->uid) ||
	    groups_in(&b->admin_groups, fd, cred->gid)));
	return c->site || c->admin;
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
	log_warnx("broker: refused a caller: uid %u gid %u pid %ld is not in allow-users, "
	    "allow-groups, admin-users or admin-groups (%llu refused so far)", (unsigned)cred->uid,
	    (unsigned)cred->gid, (long)cred->pid, (unsigned long long)b->forbidden);
}

/* Where a setting's names go, and what they are. */
struct id_setting {
	struct id_list *list;
	const char *key;
	int group;
};

/* An entry of a setting, resolved as the settings' check did (config_id). */
static int
add_id(void *ctx, const char *name)
{
	struct id_setting *s = ctx;
	uint32_t id, *p;

	if (config_id(name, s->group, &id) < 0) {
		log_warnx("broker: %s: %s \"%s\"%s%s", s->key,
		    s->group ? "no such group" : "no such user", name, errno == ENOENT ? "" : ": ",
		    errno == ENOENT ? "" : strerror(errno));
		return -1;
	}
	if ((p = reallocarray(s->list->ids, s->list->n + 1, sizeof(*p))) == NULL)
		return -1;
	s->list->ids = p;
	p[s->list->n++] = id;
	return 0;
}

/* Resolves the four lists once, at start: a name that does not exist stops it. */
int
allow_lists(struct broker *b)
{
	struct id_setting s[] = {
		{ &b->allow_users, "allow-users", 0 },
		{ &b->allow_groups, "allow-groups", 1 },
		{ &b->admin_users, "admin-users", 0 },
		{ &b->admin_groups, "admin-groups", 1 },
	};
	const char *v[] = { b->cfg->allow_users, b->cfg->allow_groups, b->cfg->admin_users,
	    b->cfg->admin_groups };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (config_each(v[i], add_id, &s[i]) < 0)
			return -1;
	log_debug("broker: %zu allowed users, %zu allowed groups, %zu operators, %zu operators' "
	    "groups (and root)", b->allow_users.n, b->allow_groups.n, b->admin_users.n,
	    b->admin_groups.n);
	return 0;
}

void
allow_lists_free(struct broker *b)
{
	struct id_list *l[] = { &b->allow_users, &b->allow_groups, &b->admin_users,
	    &b->admin_groups };

	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		free(l[i]->ids);
		l[i]->ids = NULL;
		l[i]->n = 0;
	}
}
