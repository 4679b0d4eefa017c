/*
 * flood: ICMP errors that quote a traced connection, sent from the visitor's namespace to the
 * server with sendmmsg, for tests/sys/forged.sh. The server's rules queue every one of them to
 * the engine (conntrack relates them to the marked connection): a visitor flooding its own
 * traced connection. Python sends ten times fewer, too few to keep the queue from emptying.
 *
 *   flood [-r] [-n COUNT] [-t SECONDS] [-B BACKLOG -q STATFILE] SERVER QUOTE
 *
 * QUOTE is the quoted packet in hex (an IPv4 or IPv6 header, then TCP): each error quotes it
 * with its TCP seq one higher than the last, as time exceeded (IPv4) or hop limit exceeded
 * (IPv6). It stops after COUNT errors or SECONDS (10), whichever comes first. With -B, it sends
 * only while STATFILE (/proc/PID/net/netfilter/nfnetlink_queue, PID the engine) shows fewer
 * than BACKLOG packets waiting: the queue stays full without overflowing, as packets past a
 * full queue pass it unread (fail-open). It prints full_after=S (flushed) when the queue first
 * reaches BACKLOG, and at the end how often it saw the queue empty after that. -r runs it
 * SCHED_FIFO: on a busy machine a pause of a few ms would let the engine empty the queue.
 * Prints sent=N, seconds=S, rate=R (errors a second) and, with -B, queued=N (packets that
 * entered the queue meanwhile, nearly all errors) on stdout; exits 1 on an error.
 */
#define _GNU_SOURCE	/* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH		256	/* errors per sendmmsg */
#define QUOTE_MAX	120	/* the IP header and the first TCP bytes are all a quote needs */
#define ICMP_HDR	8

struct flood {
	int family, fd, stat_fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t quote[QUOTE_MAX];
	size_t qlen, seq_at;	/* the quote's TCP seq is at seq_at */
	uint32_t seq;
	long backlog;		/* 0: send regardless of the queue */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t
csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* QUOTE in hex into f->quote; the TCP seq's place from the IP header. 0 or -1. */
static int
parse_quote(struct flood *f, const char *hex)
{
	size_t n = strlen(hex), hl;

	if (n % 2 || n / 2 > QUOTE_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		f->quote[i] = (uint8_t)b;
	}
	f->qlen = n / 2;
	hl = f->family == AF_INET ? (size_t)(f->quote[0] & 15) * 4 : 40;
	if (f->qlen < hl + 8)
		return -1;
	f->seq_at = hl + 4;
	f->seq = (uint32_t)f->quote[hl + 4] << 24 | (uint32_t)f->quote[hl + 5] << 16 |
	    (uint32_t)f->quote[hl + 6] << 8 | f->quote[hl + 7];
	return 0;
}

/* The next error into buf (ICMP header and quote); its length. */
static size_t
next_error(struct flood *f, uint8_t *buf)
{
	uint8_t *q = buf + ICMP_HDR;
	uint16_t c;

	memset(buf, 0, ICMP_HDR);
	buf[0] = f->family == AF_INET ? 11 : 3;	/* time exceeded in transit, code 0 */
	memcpy(q, f->quote, f->qlen);
	f->seq++;
	q[f->seq_at] = (uint8_t)(f->seq >> 24);
	q[f->seq_at + 1] = (uint8_t)(f->seq >> 16);
	q[f->seq_at + 2] = (uint8_t)(f->seq >> 8);
	q[f->seq_at + 3] = (uint8_t)f->seq;
	if (f->family == AF_INET) {	/* the kernel fills in the ICMPv6 checksum */
		c = csum(buf, ICMP_HDR + f->qlen);
		buf[2] = (uint8_t)(c >> 8);
		buf[3] = (uint8_t)c;
	}
	return ICMP_HDR + f->qlen;
}

/*
 * The engine's queue from its nfnetlink_queue line (the only queue in that namespace): the
 * packets waiting in it and the count of packets ever queued (id_sequence). 0 or -1.
 */
static int
queue_stat(int fd, long *waiting, unsigned long *queued)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	unsigned long num, portid, copy_mode, copy_range, dropped, user_dropped;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu %ld %lu %lu %lu %lu %lu", &num, &portid, waiting, &copy_mode,
	    &copy_range, &dropped, &user_dropped, queued) != 8)
		return -1;
	return 0;
}

/* Sends up to want errors in one sendmmsg; how many went, or -1. */
static int
send_batch(struct flood *f, int want)
{
	static uint8_t bufs[BATCH][ICMP_HDR + QUOTE_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < want; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = next_error(f, bufs[i]);
		msgs[i].msg_hdr.msg_name = &f->to;
		msgs[i].msg_hdr.msg_namelen = f->tolen;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(f->fd, msgs, (unsigned int)want, 0);
	if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR))
		n = 0;	/* the device's queue is full: try again */
	/* Those not sent are made again next time, with new seqs: none is ever repeated. */
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: flood [-r] [-n COUNT] [-t SECONDS] [-B BACKLOG -q STATFILE] SERVER QUOTE\n");
	exit(2);
}

/* Sends until COUNT or SECONDS, keeping the queue at f->backlog if set; 0 or -1. */
static int
run(struct flood *f, long long count, double secs)
{
	long long sent = 0, empty = 0;
	unsigned long queued0 = 0, queued = 0;
	long waiting;
	double t0 = now_s(), t, full_at = -1;

	if (f->backlog > 0 && queue_stat(f->stat_fd, &waiting, &queued0) < 0)
		goto bad_stat;
	while (sent < count && now_s() - t0 < secs) {
		long room = BATCH;
		int n;

		if (f->backlog > 0) {
			if (queue_stat(f->stat_fd, &waiting, &queued) < 0)
				goto bad_stat;
			if (waiting == 0 && full_at >= 0)
				empty++;
			room = f->backlog - waiting;
			if (room <= 0 && full_at < 0) {
				/* The test starts what must run beside the flood now. */
				full_at = now_s() - t0;
				printf("full_after=%.3f\n", full_at);
				fflush(stdout);
			}
			if (room <= 0) {
				usleep(50);
				continue;
			}
		}
		if (room > BATCH)
			room = BATCH;
		if (room > count - sent)
			room = (long)(count - sent);
		if ((n = send_batch(f, (int)room)) < 0) {
			perror("flood: sendmmsg");
			return -1;
		}
		sent += n;
	}
	t = now_s() - t0;
	printf("sent=%lld\nseconds=%.3f\nrate=%.0f\n", sent, t, (double)sent / t);
	if (f->backlog > 0) {
		queue_stat(f->stat_fd, &waiting, &queued);
		printf("queued=%lu\nempty_after_full=%lld\n", queued - queued0, empty);
	}
	return 0;
bad_stat:
	fprintf(stderr, "flood: the queue's line not read\n");
	return -1;
}

int
main(int argc, char **argv)
{
	struct flood f = { .stat_fd = -1 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&f.to;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f.to;
	struct sched_param sp = { .sched_priority = 1 };
	long long count = 100000000;
	double secs = 10;
	const char *stat = NULL;
	int opt, rt = 0, sndbuf = 4 << 20;

	while ((opt = getopt(argc, argv, "rn:t:B:q:")) != -1) {
		switch (opt) {
		case 'r': rt = 1; break;
		case 'n': count = atoll(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'B': f.backlog = atol(optarg); break;
		case 'q': stat = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (f.backlog > 0) != (stat != NULL))
		usage();
	if (inet_pton(AF_INET, argv[optind], &sin->sin_addr) == 1) {
		f.family = sin->sin_family = AF_INET;
		f.tolen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[optind], &sin6->sin6_addr) == 1) {
		f.family = sin6->sin6_family = AF_INET6;
		f.tolen = sizeof(*sin6);
	} else
		usage();
	if (parse_quote(&f, argv[optind + 1]) < 0) {
		fprintf(stderr, "flood: bad quote\n");
		return 1;
	}
	if (stat != NULL && (f.stat_fd = open(stat, O_RDONLY)) < 0) {
		perror(stat);
		return 1;
	}
	if (rt && sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		perror("flood: SCHED_FIFO");
		return 1;
	}
	f.fd = socket(f.family, SOCK_RAW, f.family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (f.fd < 0) {
		perror("flood: socket");
		return 1;
	}
	setsockopt(f.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return run(&f, count, secs) < 0 ? 1 : 0;
}
