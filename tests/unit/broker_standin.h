/*
 * A broker stand-in that speaks a scripted conversation on a unix socket,
 * for the tests of the broker client and of the app's handlers.
 */
#ifndef TT_BROKER_STANDIN_H
#define TT_BROKER_STANDIN_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * A broker stand-in: listens on path, then in a child accepts one
 * connection and plays script, one step a string:
 *   "> LINE"      send LINE and '\n'
 *   "raw BYTES"   send BYTES as they are
 *   "big N"       send N bytes of 'A' and no newline
 *   "< PREFIX"    read a line; exit 2 unless it starts with PREFIX
 *   "<= LINE"     read a line; exit 2 unless it is LINE exactly
 *   "sleep MS"    pause
 *   "hang"        accept if not yet, then do nothing until killed
 *   "noaccept"    (first step) never accept: connect() still succeeds
 *   "eof"         wait until the other end closes; exit 3 if it sends more
 * then closes and exits 0. broker_stop() waits up to wait_ms for that
 * and returns the exit code, or -1 if the child had to be killed.
 */
static inline pid_t
broker_start(const char *path, const char *const *script)
{
	struct sockaddr_un sun;
	int lfd, fd = -1;
	pid_t pid;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0) {
		perror("broker_start");
		exit(99);
	}
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(99);
	}
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	for (const char *const *s = script; *s; s++) {
		const char *step = *s;
		char line[4096];
		size_t n = 0;

		if (strcmp(step, "noaccept") == 0) {
			for (;;)
				pause();
		}
		if (fd < 0 && (fd = accept(lfd, NULL, NULL)) < 0)
			_exit(98);
		if (strcmp(step, "hang") == 0) {
			for (;;)
				pause();
		} else if (strncmp(step, "> ", 2) == 0) {
			snprintf(line, sizeof(line), "%s\n", step + 2);
			if (write(fd, line, strlen(line)) < 0)
				_exit(97);
		} else if (strncmp(step, "raw ", 4) == 0) {
			if (write(fd, step + 4, strlen(step + 4)) < 0)
				_exit(97);
		} else if (strncmp(step, "big ", 4) == 0) {
			size_t big = (size_t)atoi(step + 4);

			memset(line, 'A', sizeof(line));
			while (big > 0) {
				size_t k = big < sizeof(line) ? big : sizeof(line);

				if (write(fd, line, k) < 0)
					_exit(97);
				big -= k;
			}
		} else if (strncmp(step, "< ", 2) == 0 || strncmp(step, "<= ", 3) == 0) {
			int exact = step[1] == '=';

			while (n + 1 < sizeof(line) && read(fd, line + n, 1) == 1 && line[n] != '\n')
				n++;
			line[n] = '\0';
			if (exact ? strcmp(line, step + 3) != 0 :
			    strncmp(line, step + 2, strlen(step + 2)) != 0) {
				fprintf(stderr, "# broker got \"%s\"\n", line);
				_exit(2);
			}
		} else if (strcmp(step, "eof") == 0) {
			if (read(fd, line, sizeof(line)) != 0)
				_exit(3);
		} else if (strncmp(step, "sleep ", 6) == 0) {
			usleep((useconds_t)atoi(step + 6) * 1000);
		}
	}
	_exit(0);
}

static inline int
broker_stop(pid_t pid, const char *path, int wait_ms)
{
	int status, killed = 0;

	for (int i = 0; i < wait_ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			goto done;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	killed = 1;
	waitpid(pid, &status, 0);
done:
	unlink(path);
	if (killed || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif
