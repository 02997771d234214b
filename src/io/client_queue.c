/* The offline queue's order on the I/O thread: what the CONNECTED callback
 * sends goes first, what waited may be held for a binding's open hook, and
 * clearing drops exactly the sends accepted before mws_client_clear_queue().
 * Numbering: sends are numbered 1, 2, ... as accepted; held holds the
 * oldest of those taken from the ring, then txq, up to `taken`. */
#include "io/client_io.h"

void mws__client_queue_opened(struct mws_client *c, mws__msg_queue *waited)
{
	/* The ring is not taken here: what it holds now was sent by other
	 * threads while the callback ran, after everything in `waited`; it
	 * follows at the next take. */
	if (c->set.hold_queue_on_connect && c->state == MWS_STATE_CONNECTED) {
		mws__msgq_append(&c->held, waited);
		return;
	}
	mws__msg_queue sent = c->txq;
	c->txq = c->held; /* empty unless the state callback moved on */
	mws__msgq_append(&c->txq, &sent);
	mws__msgq_append(&c->txq, waited);
}

void mws__client_queue_unhold(struct mws_client *c)
{
	if (!c->held.head)
		return;
	mws__client_take_ring(c);
	mws__msgq_append(&c->held, &c->txq);
	c->txq = c->held;
	mws__msgq_init(&c->held);
}

/* Called by take_ring when a release was asked: the held messages go
 * after the sends accepted before the release, before the later ones. */
void mws__client_queue_release(struct mws_client *c, uint64_t upto)
{
	if (!c->held.head)
		return;
	uint64_t first = c->taken - c->txq.count + 1;
	size_t before = upto >= first ? (size_t)(upto - first + 1) : 0;
	mws__msg_queue head;
	mws__msgq_init(&head);
	for (; before > 0 && c->txq.head; before--)
		mws__msgq_push(&head, mws__msgq_pop(&c->txq));
	mws__msgq_append(&head, &c->held);
	mws__msgq_append(&head, &c->txq);
	c->txq = head;
	if (c->wsi && c->state == MWS_STATE_CONNECTED)
		lws_callback_on_writable(c->wsi);
}

/* Drops up to n messages from the front of q; a half-written head stays. */
static size_t mws__drop_front(struct mws_client *c, mws__msg_queue *q, size_t n, int half_written)
{
	mws__msg_queue keep;
	mws__msgq_init(&keep);
	size_t dropped = 0;
	if (half_written && n > 0 && q->head) {
		/* The rest of it must follow or the stream breaks. */
		mws__msgq_push(&keep, mws__msgq_pop(q));
		dropped++; /* counted as handled: it is older than the clear */
	}
	for (; dropped < n && q->head; dropped++)
		mws__client_discard_one(c, mws__msgq_pop(q));
	mws__msgq_append(&keep, q);
	*q = keep;
	return dropped;
}

void mws__client_clear_upto(struct mws_client *c, uint64_t upto)
{
	/* Every send numbered up to `upto` was in the ring before the command. */
	mws__client_take_ring(c);
	uint64_t total = c->held.count + c->txq.count;
	uint64_t first = c->taken - total + 1;
	uint64_t drop = upto >= first ? upto - first + 1 : 0;
	if (drop > total)
		drop = total;
	size_t from_held = drop < c->held.count ? (size_t)drop : c->held.count;
	mws__drop_front(c, &c->held, from_held, 0);
	mws__drop_front(c, &c->txq, (size_t)(drop - from_held), c->tx_off > 0);
}

void mws__client_rx_flow_apply(struct mws_client *c)
{
	int want = atomic_load(&c->rx_paused) != 0;
	if (!c->wsi || c->phase != MWS__PHASE_OPEN || c->rx_applied == want)
		return;
	/* 0 disables reading (POLLIN) on this wsi, 1 enables it again. */
	lws_rx_flow_control(c->wsi, want ? 0 : 1);
	c->rx_applied = want;
}
