/*
 * A broker session's states, and what each event does in each: a pure table
 * (session_step) that session.c, engine_link.c and client.c act on.
 */
#ifndef TT_SESSION_H
#define TT_SESSION_H

enum session_state {
	SESSION_STARTING,	/* EMSG_START sent, no answer yet */
	SESSION_RUNNING,	/* EMSG_STARTED came */
	SESSION_ENDED,		/* the engine ended it; it waits for its look-ups */
	SESSION_STATES
};

enum session_event {
	SESSION_EV_STARTED,	/* the engine's EMSG_STARTED */
	SESSION_EV_REFUSED,	/* EMSG_REFUSED */
	SESSION_EV_HOP,		/* EMSG_HOP */
	SESSION_EV_END,		/* EMSG_END */
	SESSION_EV_ENGINE_DOWN,	/* the engine is gone, or the broker stops */
	SESSION_EV_CLIENT_GONE,	/* the client closed, timed out or stopped reading */
	SESSION_EVENTS
};

enum session_action {
	SESSION_DO_NOTHING,
	SESSION_DO_IGNORE,	/* out of order: logged and ignored */
	SESSION_DO_BEGIN,	/* to RUNNING: store it, send STARTED */
	SESSION_DO_HOP,		/* store the hop, look its addresses up, send it */
	SESSION_DO_END,		/* to ENDED: store the end; END now or when its look-ups end */
	SESSION_DO_REFUSE,	/* the trace never started: ERROR, and the session goes */
	SESSION_DO_CLOSE,	/* ended already: END now, and the session goes */
	SESSION_DO_CANCEL,	/* the engine is asked to stop the trace */
};

/* What ev does to a session in state; SESSION_DO_IGNORE for a value out of range. */
enum session_action session_step(enum session_state state, enum session_event ev);

#endif
