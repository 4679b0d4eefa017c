/*
 * The broker's socket files (its API's, and the metrics' when they have one):
 * made with their mode and group as bind creates them, never changed by name
 * afterwards, and removed at the end only if still the ones we made.
 */
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "util.h"

static int
group_lookup(const char *name, gid_t *gid)
{
	struct group *gr;
	char *end;
	unsigned long v;

	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && *end == '\0' && errno == 0 && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	return -1;
}

/*
 * Removes a stale socket file, but refuses a live one (another tracetroutd)
 * and anything that is not a socket.
 */
static int
remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("broker: %s exists and is not a socket", path);
		errno = EEXIST;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN) {
		log_warnx("broker: %s: another tracetroutd is listening", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	log_debug("broker: removed stale socket %s", path);
	return 0;
}

/*
 * The web server's group reaches the socket only if every directory above
 * it lets that group (or everyone) search it. A start that makes a socket
 * nobody can reach says so, rather than every trace failing with EACCES.
 */
static void
socket_reachable(const char *path, const char *group, gid_t gid)
{
	char dir[CONFIG_PATH_MAX];
	struct stat sb;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &sb) == 0 && !(sb.st_mode & S_IXOTH) &&
		    !(sb.st_gid == gid && (sb.st_mode & S_IXGRP))) {
			log_warnx("broker: the group %s cannot reach the socket: %s is mode %04o, "
			    "owner %u, group %u (the web server's group needs search permission, x, "
			    "on every directory above the socket)", group, dir,
			    (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, (unsigned)sb.st_gid);
			return;
		}
		if (slash == dir)
			break;
	}
}

int
sockfile_listen(struct sockfile *sf, const struct config *cfg)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	gid_t gid = 0;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sf->path) >= sizeof(sun.sun_path)) {
		log_warnx("broker: socket path too long: %s", sf->path);
		return -1;
	}
	strcpy(sun.sun_path, sf->path);
	if (mkdir_parent(sf->path, 0755) < 0) {
		log_warn("broker: cannot create the directory of %s", sf->path);
		return -1;
	}
	if (remove_stale(sf->path, &sun) < 0) {
		log_warn("broker: %s", sf->path);
		return -1;
	}
	if (cfg->socket_group[0] != '\0' && group_lookup(cfg->socket_group, &gid) < 0) {
		log_warnx("broker: socket-group: there is no group \"%s\" on this system; "
		    "create it, or set socket-group to the web server's group (empty: "
		    "root's group)", cfg->socket_group);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("broker: socket");
		return -1;
	}
	/*
	 * bind makes the file with its mode (the umask) and its group (the
	 * filesystem gid): nothing is changed by name afterwards, where a
	 * symlink swapped in for the socket would be followed (to /etc/shadow).
	 */
	old = umask(~(mode_t)cfg->socket_mode & 0777);
	if (cfg->socket_group[0] != '\0')
		setfsgid(gid);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	setfsgid(getegid());
	umask(old);
	if (rc < 0) {
		log_warn("broker: bind %s", sf->path);
		goto fail;
	}
	if (lstat(sf->path, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		log_warnx("broker: %s was replaced right after bind", sf->path);
		goto fail;
	}
	sf->dev = sb.st_dev;
	sf->ino = sb.st_ino;
	sf->made = 1;
	/* A set-group-ID directory gives its own group; setfsgid needs CAP_SETGID. */
	if (cfg->socket_group[0] != '\0' && sb.st_gid != gid) {
		log_warnx("broker: %s got group %u, not socket-group %s (a set-group-ID "
		    "directory, or no CAP_SETGID)", sf->path, (unsigned)sb.st_gid,
		    cfg->socket_group);
		goto fail_unlink;
	}
	if (listen(fd, 128) < 0) {
		log_warn("broker: listen");
		goto fail_unlink;
	}
	log_info("broker: listening on %s (mode %04o)", sf->path, cfg->socket_mode);
	if (cfg->socket_group[0] != '\0')
		socket_reachable(sf->path, cfg->socket_group, gid);
	return fd;
fail_unlink:
	unlink(sf->path);
	sf->made = 0;
fail:
	close(fd);
	return -1;
}

void
sockfile_remove(struct sockfile *sf)
{
	struct stat sb;

	if (!sf->made)
		return;
	sf->made = 0;
	/* In root's directory (the default) root removes it, at the next start or stop. */
	if (lstat(sf->path, &sb) == 0 && sb.st_dev == sf->dev && sb.st_ino == sf->ino &&
	    unlink(sf->path) < 0) {
		if (errno == EACCES || errno == EPERM)
			log_debug("broker: %s stays for root to remove", sf->path);
		else
			log_warn("broker: unlink %s", sf->path);
	}
}

int
listen_socket(struct broker *b)
{
	b->sock.path = b->cfg->socket_path;
	return (b->lfd = sockfile_listen(&b->sock, b->cfg)) < 0 ? -1 : 0;
}

/* Removes the socket file if it is still the one we made. */
void
remove_socket(struct broker *b)
{
	if (b->lfd >= 0) {
		close(b->lfd);
		b->lfd = -1;
	}
	sockfile_remove(&b->sock);
}
