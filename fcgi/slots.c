/* The app's live-trace slots (slots.h). */
#include "slots.h"

void
slots_init(struct slots *s, int max)
{
	s->max = max > 0 ? max : 1;
	atomic_init(&s->used, 0);
	atomic_init(&s->refused, 0);
	atomic_init(&s->logged_s, 0);
}

int
slots_threads(int max)
{
	return max + (max / 2 > 1 ? max / 2 : 1);
}

bool
slots_take(struct slots *s)
{
	if (atomic_fetch_add(&s->used, 1) < s->max)
		return true;
	atomic_fetch_sub(&s->used, 1);
	atomic_fetch_add(&s->refused, 1);
	return false;
}

void
slots_give(struct slots *s)
{
	atomic_fetch_sub(&s->used, 1);
}

bool
slots_log_due(struct slots *s, int64_t now_s)
{
	long long last = atomic_load(&s->logged_s);

	if (last != 0 && now_s - last < SLOTS_LOG_S)
		return false;
	/* Two threads at once: one wins the exchange, the other sees it lost. */
	return atomic_compare_exchange_strong(&s->logged_s, &last, now_s > 0 ? now_s : 1);
}
