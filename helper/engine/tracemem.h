/*
 * A trace and the engine's hop memory (hopmem.h): what the trace state
 * machine asks of it and gives it. Pure, like trace.c, whose hooks these are.
 */
#ifndef TT_HELPER_ENGINE_TRACEMEM_H
#define TT_HELPER_ENGINE_TRACEMEM_H

#include <stdint.h>

#include "hopmem.h"
#include "proto.h"
#include "trace.h"

/* The probes to send with TTL ttl now: one where the memory says it is enough, else 1 + HOP_RETRIES. */
int tracemem_probes(struct trace *t, int ttl, uint64_t now_us);
/*
 * A hop about to be reported with no answer (out, TTL out->ttl): the router
 * a recent trace measured there, if the memory has one whose neighbouring
 * hops match what this trace measured by now (hopmem_reuse), goes into
 * out->reused with its age. Nothing is delayed for it.
 */
void tracemem_reuse(struct trace *t, struct proto_hop *out, uint64_t now_us);
/* The trace ended: its measured hops (those reported, answers in time only) into the memory. */
void tracemem_remember(const struct trace *t);
/* The hops 1..upto (at most HOPMEM_TTLS) that t measured: answers in time, none reused or late. */
void tracemem_measured(const struct trace *t, int upto, struct hopmem_trace *out);

#endif
