/* The broker: the unix-socket API, the relay to the engine, and the trace store. */
#ifndef TT_HELPER_BROKER_BROKER_H
#define TT_HELPER_BROKER_BROKER_H

#include <sys/types.h>

#include <stdio.h>

#include "config.h"

/*
 * Serves cfg->socket_path until SIGINT or SIGTERM, or until the engine's end
 * of engine_fd closes or sends a malformed record. Either way it ends every
 * running trace, closes engine_fd (the engine's signal to stop), waits for
 * engine_pid (0: none, as in tests) and removes the socket file.
 * drop (NULL in tests) is called once the socket exists and before any
 * input is read or the database is opened: it gives up root for good.
 * Returns the exit status: 0 after a clean stop, 1 otherwise.
 */
int broker_main(const struct config *cfg, int engine_fd, pid_t engine_pid,
    int (*drop)(const struct config *cfg));

/*
 * tracetroutd --status: connects to cfg->socket_path, sends STATUS and
 * writes the counters to out, "key value" one a line. Returns the exit
 * status: 0, or 1 with a message on stderr (no helper running, refused).
 */
int broker_status(const struct config *cfg, FILE *out);

#endif
