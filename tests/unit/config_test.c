/*
 * Tests of helper/config.c: Go durations, the config file, the environment, options and their
 * precedence; --check-config's messages, and --print-config's file read back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/tt-config-XXXXXX";

static void
test_duration(void)
{
	static const struct {
		const char *in;
		uint64_t us;
	} good[] = {
		{ "0", 0 },
		{ "+0", 0 },
		{ "1s", 1000000 },
		{ "+1s", 1000000 },
		{ "500ms", 500000 },
		{ "1m30s", 90000000 },
		{ "1.5s", 1500000 },
		{ ".5s", 500000 },
		{ "1.s", 1000000 },
		{ "250us", 250 },
		{ "250\xc2\xb5s", 250 },	/* micro sign */
		{ "250\xce\xbcs", 250 },	/* Greek mu */
		{ "1500ns", 1 },
		{ "999ns", 0 },
		{ "1h", 3600000000ULL },
		{ "2h45m", 9900000000ULL },
		{ "1h2m3s4ms5us6ns", 3723004005ULL },
		{ "0.001s", 1000 },
		{ "1.0000000001s", 1000000 },
		{ "0.000001s", 1 },
		{ "100ms100ms", 200000 },
		{ "00001s", 1000000 },
		{ "2562047h", 2562047ULL * 3600000000ULL },
	};
	static const char *const bad[] = {
		"", "1", "10", "s", "ms", "1x", "1sec", "1S", "-1s", "-0", "1 s", " 1s", "1s ", ".s",
		".", "1..5s", "1.5.s", "1e3s", "1,5s", "1s-1s", "0x10s", "+", "++1s", "1\xc2s", "µs",
	};
	uint64_t us;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		us = 12345;
		ok(duration_parse(good[i].in, &us) == 0 && us == good[i].us,
		    "duration \"%s\" is %llu us (got %llu)", good[i].in,
		    (unsigned long long)good[i].us, (unsigned long long)us);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ok(duration_parse(bad[i], &us) < 0 && errno == EINVAL,
		    "duration \"%s\" is invalid", bad[i]);
	}
	errno = 0;
	ok(duration_parse("99999999999999999999s", &us) < 0 && errno == ERANGE,
	    "a huge number is out of range");
	errno = 0;
	ok(duration_parse("6000000h", &us) < 0 && errno == ERANGE, "6000000h is out of range");
	errno = 0;
	ok(duration_parse("5000000h5000000h", &us) < 0 && errno == ERANGE,
	    "a sum that overflows is out of range");
	ok(duration_parse(NULL, &us) < 0, "NULL is invalid");
}

static void
test_defaults(void)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	is_str(c.socket_path, "/run/tracetrout/tracetroutd.sock", "default socket");
	is_int(c.socket_mode, 0660, "default socket mode");
	is_str(c.socket_group, "www-data", "default socket group");
	is_int(c.queue, 7470, "default queue");
	is_int(c.mark, 0x100000, "default mark");
	is_int(c.hop_timeout_us, 1000000, "default hop timeout 1s");
	is_int(c.hop_retries, 2, "default hop retries");
	is_int(c.hop_offset, 0, "default hop offset");
	is_int(c.max_hops, 30, "default max hops");
	is_int(c.gap_limit, 5, "default gap limit");
	is_int(c.deadline_us, 15000000, "default deadline 15s");
	is_int(c.max_probes, 256, "default max-probes 256");
	ok(c.retention_us == 720ULL * 3600 * 1000000, "default retention 30 days");
	is_int(c.truncate_clients, 0, "addresses stored in full by default");
	is_int(c.start_timeout_us, 3000000, "default start timeout 3s");
	ok(c.nports == 2 && c.ports[0] == 80 && c.ports[1] == 443, "default ports 80,443");
	is_int(c.max_traces, 64, "default max traces");
	ok(c.db_path[0] == '/', "default db path is absolute (%s)", c.db_path);
	is_int(config_check(&c, err, sizeof(err)), 0, "defaults pass the checks");
}

static char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_file(void)
{
	struct config c;
	char err[512], want[600];
	char *path;

	path = write_file("good.conf",
	    "# a comment\n"
	    "\n"
	    "   socket = /tmp/x/tt.sock   \n"
	    "db=\n"
	    "queue = 12\t# trailing comment\n"
	    "mark = 0x200\n"
	    "hop-timeout = 1.5s\n"
	    "hop-retries = 0\n"
	    "hop-offset = 2\n"
	    "max-hops = 64\n"
	    "gap-limit = 1\n"
	    "deadline = 1m\n"
	    "start-timeout = 250ms\n"
	    "ports = 80, 443 ,8080\n"
	    "max-traces = 3\n"
	    "socket-mode = 0660\n"
	    "retention = 48h\n"
	    "truncate-clients = 1\n"
	    "socket-group = www-data\n");
	config_defaults(&c);
	is_int(config_load_file(&c, path, err, sizeof(err)), 0, "a good file loads");
	is_str(c.socket_path, "/tmp/x/tt.sock", "socket, blanks trimmed");
	is_str(c.db_path, "", "db may be empty (no storage)");
	is_int(c.queue, 12, "queue");
	is_int(c.mark, 0x200, "mark in hex");
	is_int(c.hop_timeout_us, 1500000, "hop-timeout");
	is_int(c.hop_retries, 0, "hop-retries");
	is_int(c.hop_offset, 2, "hop-offset");
	is_int(c.max_hops, 64, "max-hops");
	is_int(c.gap_limit, 1, "gap-limit");
	is_int(c.deadline_us, 60000000, "deadline");
	is_int(c.start_timeout_us, 250000, "start-timeout");
	ok(c.nports == 3 && c.ports[0] == 80 && c.ports[1] == 443 && c.ports[2] == 8080,
	    "ports list");
	is_int(c.max_traces, 3, "max-traces");
	is_int(c.socket_mode, 0660, "socket-mode in octal");
	is_str(c.socket_group, "www-data", "socket-group");
	ok(c.retention_us == 48ULL * 3600 * 1000000, "retention 48h");
	{
		struct config z;
		char *zargv[] = { "tracetroutd", "--retention", "0", "--deadline", "0", NULL };
		enum config_action za;
		char zerr[256];

		config_defaults(&z);
		is_int(config_parse_args(&z, 3, zargv, &za, zerr, sizeof(zerr)), 0,
		    "retention 0 (keep traces until deleted) is allowed");
		ok(z.retention_us == 0, "... and is 0");
		is_int(config_parse_args(&z, 5, zargv, &za, zerr, sizeof(zerr)), -1,
		    "deadline 0 is not");
	}
	is_int(c.truncate_clients, 1, "truncate-clients");

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "queue = 1\nbogus = 2\n", "2: unknown key \"bogus\"" },
		{ "\n\nhop-retries = 10\n", "3: hop-retries: \"10\" is not a number from 0 to 9" },
		{ "hop-retries = -1\n", "1: hop-retries: \"-1\" is not a number from 0 to 9" },
		{ "hop-timeout = 1\n", "1: hop-timeout: \"1\" is not a duration (e.g. 1s, 500ms, 1m30s)" },
		{ "hop-timeout = 0\n", "1: hop-timeout: \"0\" must be at least 1us" },
		{ "queue 7\n", "1: queue: no \"=\" after the key (write \"queue = value\")" },
		{ "bogus 7\n", "1: expected \"key = value\", got \"bogus 7\"" },
		{ "queue = 65536\n", "1: queue: \"65536\" is not a queue number (0..65535)" },
		{ "queue =\n", "1: queue: empty value" },
		{ "max-hops = 0\n", "1: max-hops: \"0\" is not a number from 1 to 64" },
		{ "max-hops = 65\n", "1: max-hops: \"65\" is not a number from 1 to 64" },
		{ "gap-limit = 65\n", "1: gap-limit: \"65\" is not a number from 1 to 64" },
		{ "mark = 3\n", "1: mark: \"3\" is not a single mark bit (e.g. 0x100000)" },
		{ "mark = 0\n", "1: mark: \"0\" is not a single mark bit (e.g. 0x100000)" },
		{ "ports = 80,,443\n", "1: ports: \"80,,443\" is not a comma-separated list of ports" },
		{ "ports = 80,0\n", "1: ports: \"0\" is not a port (1..65535)" },
		{ "ports = 80,80\n", "1: ports: port 80 is listed twice" },
		{ "ports = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", "1: ports: more than 16 ports" },
		{ "socket-mode = 0999\n", "1: socket-mode: \"0999\" is not an octal mode (e.g. 0660)" },
		{ "socket-mode = 01777\n", "1: socket-mode: \"01777\" is not an octal mode (e.g. 0660)" },
		{ "socket-group = a b\n", "1: socket-group: \"a b\" is not a name or number (or a comma-separated list of them)" },
		{ "max-traces = 0\n", "1: max-traces: \"0\" is not a number from 1 to 1024" },
		{ "hop-offset = 12x\n", "1: hop-offset: \"12x\" is not a number from 0 to 63" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_file("bad.conf", bad[i].text);
		config_defaults(&c);
		err[0] = '\0';
		ok(config_load_file(&c, path, err, sizeof(err)) < 0, "bad file %zu fails", i);
		snprintf(want, sizeof(want), "%s:%s", path, bad[i].msg);
		is_str(err, want, "bad file %zu: message names file:line and key", i);
	}

	config_defaults(&c);
	snprintf(want, sizeof(want), "%s/missing.conf", tmpdir);
	ok(config_load_file(&c, want, err, sizeof(err)) < 0 && strstr(err, "missing.conf") &&
	    strstr(err, "No such file"), "a missing file is an error naming it (%s)", err);

	/* A line over the limit. */
	{
		char big[1200];

		memset(big, 'a', sizeof(big) - 2);
		big[sizeof(big) - 2] = '\n';
		big[sizeof(big) - 1] = '\0';
		path = write_file("long.conf", big);
		config_defaults(&c);
		ok(config_load_file(&c, path, err, sizeof(err)) < 0 && strstr(err, ":1: line longer"),
		    "an overlong line is an error (%s)", err);
	}
}

static void
clear_env(void)
{
	unsetenv("HOP_TIMEOUT");
	unsetenv("HOP_RETRIES");
	unsetenv("HOP_OFFSET");
	unsetenv("FILTER_QUEUE");
	unsetenv("INFO_URI_TEMPLATE");
}

static int
load(struct config *c, char *err, size_t errlen, enum config_action *action, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"tracetroutd";
	va_start(ap, action);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return config_load(c, argc, argv, action, err, errlen);
}

static void
test_env(void)
{
	struct config c;
	char err[512];

	clear_env();
	setenv("HOP_TIMEOUT", "1m30s", 1);
	setenv("HOP_RETRIES", "5", 1);
	setenv("HOP_OFFSET", "3", 1);
	setenv("FILTER_QUEUE", "0", 1);
	config_defaults(&c);
	is_int(config_load_env(&c, err, sizeof(err)), 0, "environment loads");
	is_int(c.hop_timeout_us, 90000000, "HOP_TIMEOUT");
	is_int(c.hop_retries, 5, "HOP_RETRIES");
	is_int(c.hop_offset, 3, "HOP_OFFSET");
	is_int(c.queue, 0, "FILTER_QUEUE");

	clear_env();
	setenv("HOP_RETRIES", "", 1);
	config_defaults(&c);
	is_int(config_load_env(&c, err, sizeof(err)), 0, "empty is unset");
	is_int(c.hop_retries, 2, "empty HOP_RETRIES keeps the default");

	setenv("HOP_TIMEOUT", "soon", 1);
	ok(config_load_env(&c, err, sizeof(err)) < 0, "bad HOP_TIMEOUT fails");
	is_str(err, "environment HOP_TIMEOUT: \"soon\" is not a duration (e.g. 1s, 500ms, 1m30s)",
	    "message names the variable");
	clear_env();
	setenv("HOP_RETRIES", "99", 1);
	ok(config_load_env(&c, err, sizeof(err)) < 0 && strstr(err, "HOP_RETRIES") != NULL,
	    "HOP_RETRIES out of range fails (%s)", err);
	clear_env();
	setenv("FILTER_QUEUE", "70000", 1);
	ok(config_load_env(&c, err, sizeof(err)) < 0 && strstr(err, "FILTER_QUEUE") != NULL,
	    "FILTER_QUEUE out of range fails (%s)", err);
	clear_env();
}

static void
test_precedence(void)
{
	struct config c;
	enum config_action action;
	char err[512], want[600], *path;

	clear_env();
	path = write_file("prec.conf", "hop-retries = 4\nqueue = 100\nhop-offset = 1\nmax-hops = 20\n");

	is_int(load(&c, err, sizeof(err), &action, "-c", path, NULL), 0, "file only");
	is_int(c.hop_retries, 4, "file beats the default");
	is_int(c.queue, 100, "file queue");
	is_str(c.config_file, path, "config_file records -c");

	setenv("HOP_RETRIES", "5", 1);
	is_int(load(&c, err, sizeof(err), &action, "-c", path, NULL), 0, "file and env");
	is_int(c.hop_retries, 5, "env beats the file");
	is_int(c.queue, 100, "the file's other settings stay");

	is_int(load(&c, err, sizeof(err), &action, "--hop-retries", "6", "-c", path, NULL), 0,
	    "file, env and args (-c after the option)");
	is_int(c.hop_retries, 6, "args beat env");
	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--hop-retries=7", "--queue", "9",
	    "-d", "-v", "-v", NULL), 0, "--opt=value form, flags");
	is_int(c.hop_retries, 7, "--hop-retries=7");
	is_int(c.queue, 9, "--queue 9");
	is_int(c.foreground, 1, "-d");
	is_int(c.verbose, 2, "-v counted");
	is_int(action, CONFIG_RUN, "action run");
	clear_env();

	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--ports", "80,443,8080",
	    "--hop-timeout", "250ms", "--deadline", "10s", "--gap-limit", "3", "--max-hops", "10",
	    "--socket", "/tmp/a.sock", "--db", "/tmp/a.db", "--socket-mode", "600",
	    "--socket-group", "0", "--start-timeout", "2s", "--max-traces", "8", "--mark", "1",
	    "--hop-offset", "0", NULL), 0, "every option");
	ok(c.nports == 3 && c.ports[2] == 8080, "--ports");
	is_int(c.hop_timeout_us, 250000, "--hop-timeout");
	is_int(c.deadline_us, 10000000, "--deadline");
	is_int(c.gap_limit, 3, "--gap-limit");
	is_int(c.max_hops, 10, "--max-hops");
	is_str(c.socket_path, "/tmp/a.sock", "--socket");
	is_str(c.db_path, "/tmp/a.db", "--db");
	is_int(c.socket_mode, 0600, "--socket-mode");
	is_str(c.socket_group, "0", "--socket-group");
	is_int(c.start_timeout_us, 2000000, "--start-timeout");
	is_int(c.max_traces, 8, "--max-traces");
	is_int(c.mark, 1, "--mark");

	/* Cross-checks happen after every source is applied. */
	ok(load(&c, err, sizeof(err), &action, "-c", path, "--max-hops", "1", NULL) < 0,
	    "hop-offset 1 with max-hops 1 fails");
	snprintf(want, sizeof(want), "%s:3: hop-offset: 1 must be from 0 to max-hops - 1 (0; "
	    "max-hops 1 is from --max-hops)", path);
	is_str(err, want, "names both settings, and where each comes from");
	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--max-hops", "2", NULL), 0,
	    "hop-offset 1 with max-hops 2 passes");

	ok(load(&c, err, sizeof(err), &action, "-c", path, "--hop-retries", "16", NULL) < 0,
	    "--hop-retries 16 fails");
	is_str(err, "--hop-retries: \"16\" is not a number from 0 to 9", "option error message");
	ok(load(&c, err, sizeof(err), &action, "--bogus", NULL) < 0, "unknown long option fails");
	is_str(err, "unknown option --bogus", "unknown long option message");
	ok(load(&c, err, sizeof(err), &action, "-x", NULL) < 0, "unknown short option fails");
	is_str(err, "unknown option -x", "unknown short option message");
	ok(load(&c, err, sizeof(err), &action, "--queue", NULL) < 0, "missing argument fails");
	is_str(err, "--queue: missing argument", "missing argument message");
	ok(load(&c, err, sizeof(err), &action, "-c", path, "extra", NULL) < 0,
	    "a stray argument fails");
	is_str(err, "unexpected argument \"extra\"", "stray argument message");
	ok(load(&c, err, sizeof(err), &action, "-c", "/nonexistent/tt.conf", NULL) < 0 &&
	    strstr(err, "/nonexistent/tt.conf") != NULL, "a missing -c file fails (%s)", err);
	ok(load(&c, err, sizeof(err), &action, "--socket",
	    "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "-c", path, NULL) < 0 &&
	    strstr(err, "socket:") != NULL, "a socket path too long for sun_path fails (%s)", err);

	/* A bad file line is reported even when an option would override it. */
	path = write_file("bad2.conf", "queue = 1\nhop-retries = lots\n");
	ok(load(&c, err, sizeof(err), &action, "-c", path, "--hop-retries", "1", NULL) < 0 &&
	    strstr(err, "bad2.conf:2: hop-retries") != NULL, "bad file line reported (%s)", err);

	is_int(load(&c, err, sizeof(err), &action, "--help", "--bogus-after", NULL), 0, "--help");
	is_int(action, CONFIG_HELP, "--help action");
	is_int(load(&c, err, sizeof(err), &action, "-h", NULL), 0, "-h");
	is_int(action, CONFIG_HELP, "-h action");
	is_int(load(&c, err, sizeof(err), &action, "--version", NULL), 0, "--version");
	is_int(action, CONFIG_VERSION, "--version action");
	path = write_file("status.conf", "socket = /tmp/from-file.sock\n");
	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--status", NULL), 0, "--status");
	is_int(action, CONFIG_STATUS, "--status action");
	is_str(c.socket_path, "/tmp/from-file.sock", "--status reads the socket from the file");
	is_int(load(&c, err, sizeof(err), &action, "--status", "--socket", "/tmp/s.sock", NULL), 0,
	    "--status --socket");
	is_str(c.socket_path, "/tmp/s.sock", "... takes --socket");
}

/* Hop enrichment's settings: defaults, the file, INFO_URI_TEMPLATE, options and the checks. */
static void
test_enrich(void)
{
	struct config c;
	enum config_action action;
	char err[1024], *path, big[600];

	config_defaults(&c);
	is_str(c.info_uri, "", "info-uri off by default");
	is_int(c.info_connect_timeout_us, 1000000, "default info-connect-timeout 1s");
	is_int(c.info_timeout_us, 2000000, "default info-timeout 2s");
	is_int(c.info_max_size, 65536, "default info-max-size 64 KiB");
	is_int(c.info_max_requests, 16, "default info-max-requests 16");
	ok(c.info_cache_us == 24ULL * 3600 * 1000000, "default info-cache 24h");
	ok(c.info_negative_cache_us == 5ULL * 60 * 1000000, "default info-negative-cache 5m");
	is_int(c.names, 1, "names on by default");
	is_str(c.dns_server, "", "dns-server: the system's by default");
	is_int(c.skip_private, 0, "skip-private off by default, as the original");

	path = write_file("enrich.conf",
	    "info-uri = http://127.0.0.1:8080/ip/{ip}\n"
	    "info-connect-timeout = 250ms\n"
	    "info-timeout = 1.5s\n"
	    "info-max-size = 1024\n"
	    "info-max-requests = 256\n"
	    "info-cache = 1h\n"
	    "info-negative-cache = 30s\n"
	    "names = 0\n"
	    "dns-server = 127.0.0.1:5353\n"
	    "skip-private = 1\n");
	clear_env();
	is_int(load(&c, err, sizeof(err), &action, "-c", path, NULL), 0, "enrichment file loads (%s)",
	    err);
	is_str(c.info_uri, "http://127.0.0.1:8080/ip/{ip}", "info-uri");
	is_int(c.info_connect_timeout_us, 250000, "info-connect-timeout");
	is_int(c.info_timeout_us, 1500000, "info-timeout");
	is_int(c.info_max_size, 1024, "info-max-size");
	is_int(c.info_max_requests, 256, "info-max-requests");
	ok(c.info_cache_us == 3600ULL * 1000000, "info-cache");
	is_int(c.info_negative_cache_us, 30000000, "info-negative-cache");
	is_int(c.names, 0, "names");
	is_str(c.dns_server, "127.0.0.1:5353", "dns-server");
	is_int(c.skip_private, 1, "skip-private");

	/* The original's name, and the command line over it. */
	setenv("INFO_URI_TEMPLATE", "https://geo.example.net/ip/{ip}?x={ip}", 1);
	is_int(load(&c, err, sizeof(err), &action, "-c", path, NULL), 0, "INFO_URI_TEMPLATE (%s)",
	    err);
	is_str(c.info_uri, "https://geo.example.net/ip/{ip}?x={ip}", "INFO_URI_TEMPLATE beats the file");
	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--info-uri",
	    "http://[::1]:8080/ip/{ip}", "--names", "1", "--dns-server", "[2001:db8::53]:53",
	    "--skip-private", "0", "--info-max-size", "1048576", NULL), 0, "options (%s)", err);
	is_str(c.info_uri, "http://[::1]:8080/ip/{ip}", "--info-uri beats INFO_URI_TEMPLATE");
	is_int(c.names, 1, "--names");
	is_str(c.dns_server, "[2001:db8::53]:53", "--dns-server [IPv6]:PORT");
	is_int(c.skip_private, 0, "--skip-private");
	is_int(c.info_max_size, 1048576, "--info-max-size 1 MiB");
	setenv("INFO_URI_TEMPLATE", "", 1);
	is_int(load(&c, err, sizeof(err), &action, NULL), 0, "empty INFO_URI_TEMPLATE");
	is_str(c.info_uri, "", "empty INFO_URI_TEMPLATE is unset: off");
	setenv("INFO_URI_TEMPLATE", "ftp://h/{ip}", 1);
	ok(load(&c, err, sizeof(err), &action, NULL) < 0, "INFO_URI_TEMPLATE ftp:// fails");
	is_str(err, "environment INFO_URI_TEMPLATE: \"ftp://h/{ip}\" must start with http:// or https:// (no other protocol is allowed)",
	    "and names the variable and says why");
	clear_env();

	static const struct {
		const char *opt, *val, *msg;
	} bad[] = {
		{ "--info-uri", "ftp://h/ip/{ip}", "--info-uri: \"ftp://h/ip/{ip}\" must start with http:// or https:// (no other protocol is allowed)" },
		{ "--info-uri", "file:///etc/{ip}", "--info-uri: \"file:///etc/{ip}\" must start with http:// or https:// (no other protocol is allowed)" },
		{ "--info-uri", "127.0.0.1/ip/{ip}", "--info-uri: \"127.0.0.1/ip/{ip}\" must start with http:// or https:// (no other protocol is allowed)" },
		{ "--info-uri", "http://h/ip/", "--info-uri: \"http://h/ip/\" has no {ip}, the place for the hop's address (e.g. http://127.0.0.1:8080/ip/{ip})" },
		{ "--info-uri", "http:///ip/{ip}", "--info-uri: \"http:///ip/{ip}\" has no host after the scheme" },
		{ "--info-uri", "https://", "--info-uri: \"https://\" has no host after the scheme" },
		{ "--info-uri", "http://h/ip/{ip} x", "--info-uri: \"http://h/ip/{ip} x\" has a blank or a byte that is not printable ASCII" },
		{ "--info-connect-timeout", "500us", "--info-connect-timeout: 500us is not from 1ms to 1m" },
		{ "--info-timeout", "2m", "--info-timeout: 2m is not from 1ms to 1m" },
		{ "--info-timeout", "0", "--info-timeout: \"0\" must be at least 1us" },
		{ "--info-max-size", "1023", "--info-max-size: \"1023\" is not a number from 1024 to 1048576" },
		{ "--info-max-size", "1048577", "--info-max-size: \"1048577\" is not a number from 1024 to 1048576" },
		{ "--info-max-requests", "0", "--info-max-requests: \"0\" is not a number from 1 to 256" },
		{ "--info-max-requests", "257", "--info-max-requests: \"257\" is not a number from 1 to 256" },
		{ "--info-cache", "0", "--info-cache: \"0\" must be at least 1us" },
		{ "--info-negative-cache", "soon", "--info-negative-cache: \"soon\" is not a duration (e.g. 1s, 500ms, 1m30s)" },
		{ "--names", "2", "--names: \"2\" is not a number from 0 to 1" },
		{ "--skip-private", "yes", "--skip-private: \"yes\" is not a number from 0 to 1" },
		{ "--dns-server", "dns.example.net", "--dns-server: \"dns.example.net\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "--dns-server", "127.0.0.1:0", "--dns-server: \"127.0.0.1:0\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "--dns-server", "127.0.0.1:", "--dns-server: \"127.0.0.1:\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "--dns-server", "[127.0.0.1]:53", "--dns-server: \"[127.0.0.1]:53\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "--dns-server", "[::1", "--dns-server: \"[::1\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "--dns-server", "[::1]x", "--dns-server: \"[::1]x\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(load(&c, err, sizeof(err), &action, bad[i].opt, bad[i].val, NULL) < 0,
		    "%s %s fails", bad[i].opt, bad[i].val);
		is_str(err, bad[i].msg, "%s %s: the message names the key", bad[i].opt, bad[i].val);
	}
	static const char *const good_dns[] = { "192.0.2.53", "192.0.2.53:5353", "2001:db8::53",
	    "[2001:db8::53]", "[2001:db8::53]:5353", "::1" };
	for (size_t i = 0; i < sizeof(good_dns) / sizeof(good_dns[0]); i++)
		is_int(load(&c, err, sizeof(err), &action, "--dns-server", good_dns[i], NULL), 0,
		    "--dns-server %s (%s)", good_dns[i], err);
	is_int(load(&c, err, sizeof(err), &action, "--info-uri", "HTTPS://h/{ip}", NULL), 0,
	    "the scheme in capitals (%s)", err);

	/* 512 bytes fit, 513 do not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "http://h/{ip}", 13);
	big[512] = '\0';
	is_int(load(&c, err, sizeof(err), &action, "--info-uri", big, NULL), 0,
	    "a 512-byte info-uri (%s)", err);
	big[512] = 'a';
	big[513] = '\0';
	ok(load(&c, err, sizeof(err), &action, "--info-uri", big, NULL) < 0 &&
	    strstr(err, "--info-uri: longer than 512 bytes") != NULL, "a 513-byte one fails (%s)", err);
}

/* Does text set key on a line of its own? */
static int
has_key(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text;; p++) {
		if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == '='))
			return 1;
		if ((p = strchr(p, '\n')) == NULL)
			return 0;
	}
}

/*
 * What --check-config does: the whole chain, then the start's own checks.
 * The users and groups of the defaults need not exist here, so the file
 * names ones that do wherever a case leaves them alone (after its lines:
 * its line numbers stay).
 */
static int
check_config(const char *text, const char *opt, const char *val, char *path, char *err,
    size_t errlen, struct config *c)
{
	static const char *const base[][2] = {
		{ "user", "root" }, { "engine-user", "root" }, { "socket-group", "0" },
		{ "allow-users", "root" }, { "allow-groups", "0" },
	};
	char file[4096], *p;
	enum config_action action;
	size_t n;

	n = (size_t)snprintf(file, sizeof(file), "%s", text);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (!has_key(text, base[i][0]) && n < sizeof(file))
			n += (size_t)snprintf(file + n, sizeof(file) - n, "%s = %s\n", base[i][0],
			    base[i][1]);
	p = write_file("check.conf", file);
	snprintf(path, 512, "%s", p);
	if (load(c, err, errlen, &action, "--check-config", "-c", path, opt, val, NULL) < 0)
		return -1;
	if (action != CONFIG_CHECK) {
		snprintf(err, errlen, "action %d, not CONFIG_CHECK", (int)action);
		return -1;
	}
	return config_check_start(c, err, errlen);
}

/* --check-config: every kind of mistake, one line naming the file, the line and the key. */
static void
test_check(void)
{
	static char big[1200];
	static const struct {
		const char *text;	/* the file */
		const char *opt, *val;	/* and an option, or NULL */
		const char *msg;	/* ":..." follows the file's name; NULL: ok */
	} cases[] = {
		{ "", NULL, NULL, NULL },
		{ "# only a comment\n\n", NULL, NULL, NULL },
		{ "hop-retries = 20\n", NULL, NULL, ":1: hop-retries: \"20\" is not a number from 0 to 9" },
		{ "\nbogus = 1\n", NULL, NULL, ":2: unknown key \"bogus\"" },
		{ "HOP_TIMEOUT = 2s\n", NULL, NULL, ":1: unknown key \"HOP_TIMEOUT\" (did you mean \"hop-timeout\"?)" },
		{ "hop_timeout = 2s\n", NULL, NULL, ":1: unknown key \"hop_timeout\" (did you mean \"hop-timeout\"?)" },
		{ "filter_queue = 2\n", NULL, NULL, ":1: unknown key \"filter_queue\" (did you mean \"queue\"?)" },
		{ "Max-Hops = 2\n", NULL, NULL, ":1: unknown key \"Max-Hops\" (did you mean \"max-hops\"?)" },
		{ "hop-timeout 2s\n", NULL, NULL, ":1: hop-timeout: no \"=\" after the key (write \"hop-timeout = value\")" },
		{ "names\n", NULL, NULL, ":1: names: no \"=\" after the key (write \"names = value\")" },
		{ "what is this\n", NULL, NULL, ":1: expected \"key = value\", got \"what is this\"" },
		{ " = 5\n", NULL, NULL, ":1: no key before \"=\"" },
		{ "queue =\n", NULL, NULL, ":1: queue: empty value" },
		{ "deadline = 30\n", NULL, NULL, ":1: deadline: \"30\" is not a duration (e.g. 1s, 500ms, 1m30s)" },
		/* Checks of the whole set name the file and line too. */
		{ "max-hops = 4\nhop-offset = 4\n", NULL, NULL,
		  ":2: hop-offset: 4 must be from 0 to max-hops - 1 (3; max-hops 4 is from line 1)" },
		{ "hop-offset = 30\n", NULL, NULL,
		  ":1: hop-offset: 30 must be from 0 to max-hops - 1 (29; max-hops 30 is from the default)" },
		{ "hop-offset = 9\n", "--max-hops", "5",
		  ":1: hop-offset: 9 must be from 0 to max-hops - 1 (4; max-hops 5 is from --max-hops)" },
		{ "hop-offset = 9\n", "--max-hops", "10", NULL },
		{ "info-uri = ftp://h/{ip}\n", NULL, NULL,
		  ":1: info-uri: \"ftp://h/{ip}\" must start with http:// or https:// (no other protocol is allowed)" },
		{ "\ninfo-timeout = 61s\n", NULL, NULL, ":2: info-timeout: 1m1s is not from 1ms to 1m" },
		{ "info-connect-timeout = 999us\n", NULL, NULL, ":1: info-connect-timeout: 999us is not from 1ms to 1m" },
		{ "info-uri = http://h/{ip}\x1b[31m\n", NULL, NULL,
		  ":1: info-uri: \"http://h/{ip}?[31m\" has a blank or a byte that is not printable ASCII" },
		{ "bogus\x1b[2J = 1\n", NULL, NULL, ":1: unknown key \"bogus?[2J\"" },
		{ "dns-server = ns.example.net\n", NULL, NULL,
		  ":1: dns-server: \"ns.example.net\" is not an IP address, IPv4:PORT or [IPv6]:PORT" },
		{ "proxies = 10.0.0.0/8,192.0.2.1,2001:db8::/32\n", NULL, NULL, NULL },
		{ "\n\nproxies = 10.0.0.0/8,10.0.0.0/33\n", NULL, NULL,
		  ":3: proxies: \"10.0.0.0/33\" is not an address or a network (ADDR/BITS), or there are more than 64" },
		{ "proxies = cdn.example.net\n", NULL, NULL,
		  ":1: proxies: \"cdn.example.net\" is not an address or a network (ADDR/BITS), or there are more than 64" },
		{ "", "--proxies", "10.0.0.0/8,,::1", NULL },
		{ "metrics = 9470\n", NULL, NULL, NULL },
		{ "\nmetrics = localhost:9470\n", NULL, NULL,
		  ":2: metrics: \"localhost:9470\" is not PORT, ADDRESS:PORT, [IPv6]:PORT or a socket's absolute path" },
		{ "socket = /run/tt.sock\nmetrics = /run/tt.sock\n", NULL, NULL,
		  ":2: metrics: \"/run/tt.sock\" is the broker's socket; the metrics need a path of their own" },
		{ "socket = /tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
		  NULL, NULL, ":1: socket: the path must have 1 to 107 bytes" },
		/* What a start checks before it opens anything. */
		{ "socket = run/tt.sock\n", NULL, NULL,
		  ":1: socket: \"run/tt.sock\" is not an absolute path, which it must be unless -d is given" },
		{ "socket = run/tt.sock\n", "-d", NULL, NULL },
		{ "db = tt.db\n", NULL, NULL,
		  ":1: db: \"tt.db\" is not an absolute path, which it must be unless -d is given" },
		{ "db =\n", NULL, NULL, NULL },
		{ "\nsocket-group = tt-no-such-group\n", NULL, NULL,
		  ":2: socket-group: there is no group \"tt-no-such-group\" on this system; create it, or name another (a number is taken as it is)" },
		{ "socket-group =\n", NULL, NULL, NULL },
		{ "socket-group = 4242\n", NULL, NULL, NULL },
		{ "allow-users = root,4242,tt-no-such-user\n", NULL, NULL,
		  ":1: allow-users: there is no user \"tt-no-such-user\" on this system; create it, or name another (a number is taken as it is)" },
		{ "allow-groups = 0,tt-no-such-group\n", NULL, NULL,
		  ":1: allow-groups: there is no group \"tt-no-such-group\" on this system; create it, or name another (a number is taken as it is)" },
		{ "allow-users =\nallow-groups =\n", NULL, NULL, NULL },
		/* Operators: never a site's web user. */
		{ "admin-users = root,4242\nadmin-groups = 7\n", NULL, NULL, NULL },
		{ "allow-users = root,4242\nadmin-users = 4242\n", NULL, NULL,
		  ":2: admin-users: user \"4242\" is a site's (in allow-users): a site's web user never searches every site's traces" },
		{ "allow-groups = 4242\n\nadmin-groups = 7,4242\n", NULL, NULL,
		  ":3: admin-groups: group \"4242\" is a site's (in allow-groups): a site's web user never searches every site's traces" },
		{ "admin-groups = tt-no-such-group\n", NULL, NULL,
		  ":1: admin-groups: there is no group \"tt-no-such-group\" on this system; create it, or name another (a number is taken as it is)" },
		{ "user = tt-no-such-user\n", NULL, NULL,
		  ":1: user: no user tt-no-such-user; create it with: useradd --system --no-create-home --shell /usr/sbin/nologin tt-no-such-user" },
		{ "engine-user = tt-no-such-user\n", NULL, NULL,
		  ":1: engine-user: no user tt-no-such-user; create it with: useradd --system --no-create-home --shell /usr/sbin/nologin tt-no-such-user" },
		{ "user =\nengine-user =\n", NULL, NULL, NULL },
		/* An option's value is named by the option, even over the file's. */
		{ "socket-group = 0\n", "--socket-group", "tt-no-such-group",
		  "--socket-group: there is no group \"tt-no-such-group\" on this system; create it, or name another (a number is taken as it is)" },
		{ "", "--info-timeout", "0", "--info-timeout: \"0\" must be at least 1us" },
		{ "", "--bogus", NULL, "unknown option --bogus" },
		{ "", "--status", NULL, "--status: only one of --status, --check-config and --print-config at a time" },
		{ "", "--print-config", NULL, "--print-config: only one of --status, --check-config and --print-config at a time" },
		{ "", "--check-config", NULL, NULL },
		{ big, NULL, NULL, ":1: info-uri: line longer than 1024 bytes" },
	};
	struct config c;
	char err[1024], want[1200], path[512];

	snprintf(big, sizeof(big), "info-uri = http://h/{ip}/");
	memset(big + strlen(big), 'a', sizeof(big) - strlen(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	clear_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		err[0] = '\0';
		rc = check_config(cases[i].text, cases[i].opt, cases[i].val, path, err, sizeof(err),
		    &c);
		if (cases[i].msg == NULL) {
			ok(rc == 0, "check %zu passes (%s)", i, err);
			continue;
		}
		snprintf(want, sizeof(want), "%s%s", cases[i].msg[0] == ':' ? path : "",
		    cases[i].msg);
		ok(rc < 0, "check %zu fails", i);
		is_str(err, want, "check %zu: the message names the file, line and key", i);
	}

	/* A missing -c file is an error that names it; the default file may be missing. */
	ok(load(&c, err, sizeof(err), &(enum config_action){ 0 }, "--check-config", "-c",
	    "/nonexistent/tt.conf", NULL) < 0, "a missing -c file fails");
	is_str(err, "/nonexistent/tt.conf: No such file or directory", "... naming it");

	/* A key given twice: the last counts, and --check-config says so. */
	{
		char *out = NULL, *warn = NULL;
		size_t outlen = 0, warnlen = 0;
		FILE *o, *w;

		is_int(check_config("hop-retries = 3\nqueue = 1\nhop-retries = 4\nqueue = 2\n", NULL,
		    NULL, path, err, sizeof(err), &c), 0, "a key given twice passes (%s)", err);
		is_int(c.hop_retries, 4, "the last value counts");
		is_int(c.ndups, 2, "both repeated keys are counted");
		if ((o = open_memstream(&out, &outlen)) == NULL ||
		    (w = open_memstream(&warn, &warnlen)) == NULL)
			exit(1);
		config_print_ok(&c, o, w);
		fclose(o);
		fclose(w);
		snprintf(want, sizeof(want), "%s: ok\n", path);
		is_str(out, want, "--check-config prints FILE: ok");
		snprintf(want, sizeof(want), "tracetroutd: warning: %s:3: hop-retries: given again "
		    "(first on line 1); the last value counts; other keys are given twice too\n", path);
		is_str(warn, want, "... and warns of the repeated key on stderr");
		free(out);
		free(warn);
	}
	{
		char *out = NULL;
		size_t outlen = 0;
		FILE *o;

		config_defaults(&c);
		if ((o = open_memstream(&out, &outlen)) == NULL)
			exit(1);
		config_print_ok(&c, o, stderr);
		fclose(o);
		ok(strncmp(out, "no config file (", 16) == 0 &&
		    strstr(out, "/tracetrout/tracetrout.conf does not exist): ok\n") != NULL,
		    "without a file it says so (%s)", out);
		free(out);
	}
}

static char *
print_config(const struct config *c, char *err, size_t errlen)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&out, &len)) == NULL)
		exit(1);
	if (config_print(c, fp, err, errlen) < 0) {
		fclose(fp);
		free(out);
		return NULL;
	}
	fclose(fp);
	return out;
}

/* --print-config: every setting in the table's order, and a file that gives the same back. */
static void
test_print(void)
{
	static const uint64_t durations[] = {
		0, 1, 999, 1000, 1001, 1500, 999999, 1000000, 1000001, 1500000, 59999999, 60000000,
		90000000, 90500000, 3599999999ULL, 3600000000ULL, 3600000001ULL, 9900000000ULL,
		2592000000000ULL, 2562047ULL * 3600000000ULL,
	};
	static const struct {
		uint64_t us;
		const char *text;
	} named[] = {
		{ 0, "0" }, { 250, "250us" }, { 500000, "500ms" }, { 1500, "1500us" },
		{ 1000000, "1s" }, { 1500000, "1.5s" }, { 90000000, "1m30s" }, { 60500000, "1m0.5s" },
		{ 720ULL * 3600000000ULL, "720h" }, { 3600000001ULL, "1h0.000001s" },
		{ 300000000, "5m" }, { 3723004005ULL, "1h2m3.004005s" },
	};
	struct config c, d;
	enum config_action action;
	char err[1024], buf[64], want[4096], *path, *out, *again;
	uint64_t us, x = 88172645463325252ULL;
	int bad = 0;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		duration_format(named[i].us, buf, sizeof(buf));
		is_str(buf, named[i].text, "%llu us is written as Go would, less the zero parts",
		    (unsigned long long)named[i].us);
	}
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]) + 2000; i++) {
		uint64_t v;

		if (i < sizeof(durations) / sizeof(durations[0]))
			v = durations[i];
		else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v = x >> (i % 40 + 20);	/* from hours down to microseconds */
		}
		duration_format(v, buf, sizeof(buf));
		if (duration_parse(buf, &us) < 0 || us != v) {
			if (bad++ < 5)
				ok(0, "%llu us written %s reads back", (unsigned long long)v, buf);
		}
	}
	ok(bad == 0, "every duration written reads back to the same microseconds (%d wrong)", bad);

	/* The defaults, exactly: the administrator's view of them. */
	clear_env();
	path = write_file("empty.conf", "");
	is_int(load(&c, err, sizeof(err), &action, "--print-config", "-c", path, NULL), 0,
	    "--print-config loads (%s)", err);
	is_int(action, CONFIG_PRINT, "--print-config action");
	out = print_config(&c, err, sizeof(err));
	snprintf(want, sizeof(want),
	    "socket = /run/tracetrout/tracetroutd.sock\n"
	    "socket-mode = 0660\n"
	    "socket-group = www-data\n"
	    "metrics =\n"
	    "db = %s\n"
	    "journal = %s\n"
	    "journal-max = 100000\n"
	    "vantage =\n"
	    "site-names =\n"
	    "db-timeout = 30s\n"
	    "queue = 7470\n"
	    "mark = 0x100000\n"
	    "hop-timeout = 1s\n"
	    "hop-retries = 2\n"
	    "hop-offset = 0\n"
	    "max-hops = 30\n"
	    "gap-limit = 5\n"
	    "deadline = 15s\n"
	    "max-probes = 256\n"
	    "start-timeout = 3s\n"
	    "ports = 80,443\n"
	    "max-traces = 64\n"
	    "user = tracetrout\n"
	    "engine-user = tracetrout-engine\n"
	    "allow-users = root\n"
	    "allow-groups = www-data\n"
	    "admin-users =\n"
	    "admin-groups =\n"
	    "client-rate = 1\n"
	    "client-max = 2\n"
	    "global-rate = 50\n"
	    "subnet-max = 8\n"
	    "subnet-rate = 4\n"
	    "prefix-max = 24\n"
	    "prefix-rate = 20\n"
	    "site-share = 75\n"
	    "site-rate = 100\n"
	    "site-conns = 256\n"
	    "sandbox = 1\n"
	    "retention = 720h\n"
	    "truncate-clients = 0\n"
	    "info-uri =\n"
	    "info-connect-timeout = 1s\n"
	    "info-timeout = 2s\n"
	    "info-max-size = 65536\n"
	    "info-max-requests = 16\n"
	    "info-cache = 24h\n"
	    "info-negative-cache = 5m\n"
	    "lookup-max = 512\n"
	    "info-cache-max = 10000\n"
	    "names = 1\n"
	    "dns-server =\n"
	    "skip-private = 0\n"
	    "proxies =\n", c.db_path, c.journal);
	is_str(out, want, "the defaults, every key in the table's order");
	free(out);

	/* A file, the environment and options: printed, then read back as a file. */
	path = write_file("many.conf",
	    "socket = /tmp/tt x/tt.sock\n"
	    "socket-mode = 0600\n"
	    "socket-group = 4242\n"
	    "db =\n"
	    "mark = 1\n"
	    "hop-timeout = 1.5s\n"
	    "max-hops = 12\n"
	    "gap-limit = 64\n"
	    "deadline = 2m30.25s\n"
	    "start-timeout = 250ms\n"
	    "ports = 8080, 80 ,443\n"
	    "user =\n"
	    "allow-users = root,1000\n"
	    "allow-groups =\n"
	    "retention = 0\n"
	    "truncate-clients = 1\n"
	    "info-connect-timeout = 1500500ns\n"
	    "info-cache = 1h30m\n"
	    "dns-server = [2001:db8::53]:5353\n");
	setenv("HOP_OFFSET", "11", 1);
	setenv("INFO_URI_TEMPLATE", "https://geo.example.net/ip/{ip}?x=1&y={ip}", 1);
	is_int(load(&c, err, sizeof(err), &action, "-c", path, "--print-config", "--hop-retries", "9",
	    "--names", "0", "--info-negative-cache", "90s", NULL), 0, "a busy set loads (%s)", err);
	clear_env();
	out = print_config(&c, err, sizeof(err));
	ok(out != NULL && strstr(out, "\nsocket = /tmp/tt x/tt.sock\n") == NULL &&
	    strncmp(out, "socket = /tmp/tt x/tt.sock\n", 27) == 0, "a path with a blank");
	ok(out != NULL && strstr(out, "\nports = 8080,80,443\n") != NULL, "ports in their order");
	ok(out != NULL && strstr(out, "\nmark = 0x1\n") != NULL, "mark in hex");
	ok(out != NULL && strstr(out, "\nsocket-mode = 0600\n") != NULL, "mode in octal");
	ok(out != NULL && strstr(out, "\ndeadline = 2m30.25s\n") != NULL, "a duration with a fraction");
	ok(out != NULL && strstr(out, "\ninfo-connect-timeout = 1500us\n") != NULL,
	    "1500500ns is 1500us");
	ok(out != NULL && strstr(out, "\nhop-offset = 11\n") != NULL, "HOP_OFFSET's value");
	ok(out != NULL && strstr(out, "\ninfo-uri = https://geo.example.net/ip/{ip}?x=1&y={ip}\n"),
	    "INFO_URI_TEMPLATE's value");
	ok(out != NULL && strstr(out, "\nhop-retries = 9\n") != NULL, "an option's value");
	ok(out != NULL && strstr(out, "\nretention = 0\n") != NULL, "retention 0");
	ok(out != NULL && strstr(out, "\nuser =\n") != NULL, "an empty user");
	path = write_file("printed.conf", out ? out : "");
	is_int(load(&d, err, sizeof(err), &action, "--print-config", "-c", path, NULL), 0,
	    "the printed settings load as a file (%s)", err);
	again = print_config(&d, err, sizeof(err));
	ok(out != NULL && again != NULL && strcmp(out, again) == 0,
	    "and print the same again");
	ok(d.hop_timeout_us == c.hop_timeout_us && d.deadline_us == c.deadline_us &&
	    d.info_cache_us == c.info_cache_us && d.nports == 3 && d.ports[0] == 8080 &&
	    d.mark == 1 && d.socket_mode == 0600 && d.hop_offset == 11 && d.names == 0 &&
	    strcmp(d.info_uri, c.info_uri) == 0 && strcmp(d.dns_server, c.dns_server) == 0,
	    "with the same settings");
	free(out);
	free(again);

	/* What a file cannot hold is refused, rather than printed wrong. */
	is_int(load(&c, err, sizeof(err), &action, "--print-config", "-c", path, "--info-uri",
	    "http://h/{ip}#top", NULL), 0, "a '#' in an option loads");
	ok(print_config(&c, err, sizeof(err)) == NULL, "but cannot be printed as a file");
	is_str(err, "--info-uri: \"http://h/{ip}#top\" cannot be written in a config file (it has a "
	    "'#', a control character or a blank at an end)", "... and says which option");
	is_int(load(&c, err, sizeof(err), &action, "--print-config", "-c", path, "--db",
	    "/tmp/a\nb.db", NULL), 0, "a newline in a path loads");
	ok(print_config(&c, err, sizeof(err)) == NULL && strncmp(err, "--db: ", 6) == 0,
	    "but cannot be printed");
	is_str(err, "--db: \"/tmp/a?b.db\" cannot be written in a config file (it has a '#', a "
	    "control character or a blank at an end)", "... on one line");
}

/* db: a path keeps SQLite, a postgresql:// URI selects PostgreSQL, any other URI is refused. */
static void
test_db(void)
{
	static const struct {
		const char *uri;
		bool password;
	} pw[] = {
		{ "postgresql://db.example/tt", false },
		{ "postgresql://writer@db.example:5432/tt", false },
		{ "postgresql://writer:secret@db.example/tt", true },
		{ "postgres://:secret@/tt", true },
		{ "postgresql:///tt?host=/run/pg&user=writer", false },
		{ "postgresql:///tt?host=/run/pg&password=secret", true },
		{ "postgresql:///tt?password=secret", true },
		{ "postgresql://[2001:db8::1]:5432/tt?sslmode=verify-full", false },
		{ "postgresql://w@[2001:db8::1]/tt?passfile=/etc/tt/pgpass", false },
		{ "postgresql://db.example/tt#a:b@c", false },
	};
	struct config c;
	enum config_action action;
	char err[512];
	const char *path;

	for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++)
		ok(pg_uri_has_password(pw[i].uri) == pw[i].password, "%s: %s", pw[i].uri,
		    pw[i].password ? "a password" : "no password");

	clear_env();
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "--db",
	    "postgresql:///tt?host=/run/pg", "--journal", "/var/tmp/j.db", NULL), 0,
	    "a postgresql:// db loads (%s)", err);
	ok(config_is_pg(&c) && strcmp(config_store_path(&c), "/var/tmp/j.db") == 0,
	    "it selects PostgreSQL, with the journal as the local file");
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "--db", "/var/tmp/t.db", NULL), 0,
	    "a path loads");
	ok(!config_is_pg(&c) && strcmp(config_store_path(&c), "/var/tmp/t.db") == 0,
	    "it keeps SQLite, in that file");
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "--db", "mysql://db/tt", NULL),
	    -1, "another scheme is refused");
	is_str(err, "--db: is a URI of a kind tracetroutd does not know: a path selects SQLite, "
	    "a postgresql:// URI PostgreSQL", "... saying what a path and a URI select");
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "--db",
	    "postgresql://w:secret@db/tt", NULL), -1, "a password on the command line is refused");
	ok(strstr(err, "carries a password on the command line") != NULL, "... saying why (%s)", err);
	path = write_file("pg.conf", "db = postgresql://w:secret@db/tt\n");
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "-c", path, NULL), 0,
	    "in the config file it loads (%s)", err);
}

/* site-names: each user's site across the fleet. */
static void
test_site_names(void)
{
	static const struct {
		const char *value, *err;
	} bad[] = {
		{ "root", "\"root\" is not USER=NAME" },
		{ "=shop", "\"=shop\" is not USER=NAME" },
		{ "root=", "\"\" is not a name of at most 63 letters, digits, '.', '-' and '_'" },
		{ "root=a\"b", "\"a\"b\" is not a name of at most 63 letters, digits, '.', '-' and '_'" },
		{ "no-such-user-tt=shop", "there is no user \"no-such-user-tt\" on this system" },
		{ "root=shop,0=other", "user \"0\" is named twice" },
	};
	struct config_site sites[CONFIG_SITES_N];
	struct config c;
	enum config_action action;
	char err[512], want[512], list[1024] = "";

	clear_env();
	is_int(load(&c, err, sizeof(err), &action, "--check-config", "--site-names",
	    "root=shop.example,4242=blog_2", NULL), 0, "site-names loads (%s)", err);
	is_int(config_site_names(c.site_names, sites, CONFIG_SITES_N, err, sizeof(err)), 2,
	    "two entries");
	ok(sites[0].uid == 0 && strcmp(sites[0].name, "shop.example") == 0 &&
	    sites[1].uid == 4242 && strcmp(sites[1].name, "blog_2") == 0,
	    "a user's name and a number, each with its site's name");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(load(&c, err, sizeof(err), &action, "--check-config", "--site-names",
		    bad[i].value, NULL), -1, "site-names = %s is refused", bad[i].value);
		snprintf(want, sizeof(want), "--site-names: %s", bad[i].err);
		is_str(err, want, "... saying why");
	}
	for (int i = 0; i <= CONFIG_SITES_N; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d=s", i ? "," : "", i);
	is_int(config_site_names(list, sites, CONFIG_SITES_N, err, sizeof(err)), -1,
	    "%d users are too many", CONFIG_SITES_N + 1);
	is_str(err, "more than 32 users", "... saying so");
}

/* What the metrics setting becomes: where the broker listens. */
static void
test_metrics(void)
{
	/* Names, addresses without a port, IPv6 without brackets, relative paths. */
	static const char *const bad[] = {
		"localhost:9470", "192.0.2.1", "192.0.2.1:0", "2001:db8::1:9470", "[2001:db8::7]",
		"[192.0.2.1]:9470", "run/metrics.sock", "9470x",
	};
	struct config_metrics m;
	char err[256], want[256], a0[ADDR_STRLEN], a1[ADDR_STRLEN];

	ok(config_metrics("", &m, err, sizeof(err)) == 0 && m.kind == CONFIG_METRICS_OFF,
	    "metrics empty: off");
	ok(config_metrics("9470", &m, err, sizeof(err)) == 0 && m.kind == CONFIG_METRICS_TCP &&
	    m.port == 9470 && m.naddrs == 2 && m.loopback &&
	    strcmp(addr_format(&m.addr[0], a0), "127.0.0.1") == 0 &&
	    strcmp(addr_format(&m.addr[1], a1), "::1") == 0,
	    "a port alone: 127.0.0.1 and ::1 (%s, %s)", a0, a1);
	ok(config_metrics("198.51.100.7:80", &m, err, sizeof(err)) == 0 &&
	    m.kind == CONFIG_METRICS_TCP && m.port == 80 && m.naddrs == 1 && !m.loopback &&
	    strcmp(addr_format(&m.addr[0], a0), "198.51.100.7") == 0,
	    "ADDRESS:PORT: that address alone (%s)", a0);
	ok(config_metrics("[2001:db8::7]:9470", &m, err, sizeof(err)) == 0 && m.naddrs == 1 &&
	    m.addr[0].family == AF_INET6 && m.port == 9470, "[IPv6]:PORT");
	ok(config_metrics("/run/tracetrout/metrics.sock", &m, err, sizeof(err)) == 0 &&
	    m.kind == CONFIG_METRICS_UNIX, "an absolute path: a unix socket");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\" is not PORT, ADDRESS:PORT, [IPv6]:PORT or a "
		    "socket's absolute path", bad[i]);
		ok(config_metrics(bad[i], &m, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
		    "metrics = %s is refused: %s", bad[i], err);
	}
	ok(config_metrics("0", &m, err, sizeof(err)) < 0 &&
	    strcmp(err, "\"0\" is not a port (1..65535)") == 0, "port 0 is refused: %s", err);
	ok(config_metrics("65536", &m, err, sizeof(err)) < 0 &&
	    strcmp(err, "\"65536\" is not a port (1..65535)") == 0, "port 65536 is refused: %s", err);
	memset(want, 'a', 110);
	want[0] = '/';
	want[110] = '\0';
	ok(config_metrics(want, &m, err, sizeof(err)) < 0 &&
	    strcmp(err, "a socket's path has at most 107 bytes") == 0,
	    "a socket's path longer than sun_path is refused: %s", err);
}

int
main(void)
{
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	test_duration();
	test_defaults();
	test_file();
	test_env();
	test_precedence();
	test_enrich();
	test_check();
	test_print();
	test_db();
	test_site_names();
	test_metrics();
	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
