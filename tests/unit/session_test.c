/*
 * helper/broker/session.c's session_step: what each engine or client event
 * does to a broker session in each state, as a table.
 */
#include "session.h"
#include "tap.h"

static const char *const state_name[] = { "STARTING", "RUNNING", "ENDED" };
static const char *const event_name[] = {
	"STARTED", "REFUSED", "HOP", "END", "engine down", "client gone",
};

static const struct {
	enum session_state state;
	enum session_event ev;
	enum session_action want;
	const char *why;
} cases[] = {
	{ SESSION_STARTING, SESSION_EV_STARTED, SESSION_DO_BEGIN, "the trace starts" },
	{ SESSION_STARTING, SESSION_EV_REFUSED, SESSION_DO_REFUSE, "the client gets an ERROR" },
	{ SESSION_STARTING, SESSION_EV_HOP, SESSION_DO_IGNORE, "a hop before STARTED" },
	{ SESSION_STARTING, SESSION_EV_END, SESSION_DO_REFUSE, "an END before STARTED refuses" },
	{ SESSION_STARTING, SESSION_EV_ENGINE_DOWN, SESSION_DO_REFUSE, "never started: ERROR" },
	{ SESSION_STARTING, SESSION_EV_CLIENT_GONE, SESSION_DO_CANCEL, "the engine stops it" },
	{ SESSION_RUNNING, SESSION_EV_STARTED, SESSION_DO_IGNORE, "STARTED twice" },
	{ SESSION_RUNNING, SESSION_EV_REFUSED, SESSION_DO_END, "REFUSED after STARTED ends it" },
	{ SESSION_RUNNING, SESSION_EV_HOP, SESSION_DO_HOP, "a hop is stored and sent" },
	{ SESSION_RUNNING, SESSION_EV_END, SESSION_DO_END, "the trace ends" },
	{ SESSION_RUNNING, SESSION_EV_ENGINE_DOWN, SESSION_DO_END, "it ends engine-down" },
	{ SESSION_RUNNING, SESSION_EV_CLIENT_GONE, SESSION_DO_CANCEL, "the engine stops it" },
	{ SESSION_ENDED, SESSION_EV_STARTED, SESSION_DO_IGNORE, "too late" },
	{ SESSION_ENDED, SESSION_EV_REFUSED, SESSION_DO_IGNORE, "ended once: not counted twice" },
	{ SESSION_ENDED, SESSION_EV_HOP, SESSION_DO_IGNORE, "too late" },
	{ SESSION_ENDED, SESSION_EV_END, SESSION_DO_IGNORE, "ended once: not counted twice" },
	{ SESSION_ENDED, SESSION_EV_ENGINE_DOWN, SESSION_DO_CLOSE, "END now, pending or not" },
	{ SESSION_ENDED, SESSION_EV_CLIENT_GONE, SESSION_DO_NOTHING, "the engine is done" },
};

int
main(void)
{
	int seen[SESSION_STATES][SESSION_EVENTS] = { { 0 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is_int(session_step(cases[i].state, cases[i].ev), cases[i].want, "%s, %s: %s",
		    state_name[cases[i].state], event_name[cases[i].ev], cases[i].why);
		seen[cases[i].state][cases[i].ev]++;
	}
	for (int s = 0; s < SESSION_STATES; s++)
		for (int e = 0; e < SESSION_EVENTS; e++)
			is_int(seen[s][e], 1, "%s, %s: in the table once", state_name[s],
			    event_name[e]);
	is_int(session_step(SESSION_STATES, SESSION_EV_HOP), SESSION_DO_IGNORE,
	    "a state out of range is ignored");
	is_int(session_step(SESSION_RUNNING, SESSION_EVENTS), SESSION_DO_IGNORE,
	    "an event out of range is ignored");
	return tap_done();
}
