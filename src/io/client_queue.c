/* Clearing the offline queue on the I/O thread: exactly the sends accepted
 * before mws_client_clear_queue(), never one made after it. */
#include "io/client_io.h"

void mws__client_clear_upto(struct mws_client *c, uint64_t upto)
{
	/* Every send numbered up to `upto` was in the ring before the command
	 * was posted: after this, txq holds sends taken-count+1 .. taken. */
	mws__client_take_ring(c);
	uint64_t first = c->taken - c->txq.count + 1;
	size_t drop = upto >= first ? (size_t)(upto - first + 1) : 0;
	if (drop > c->txq.count)
		drop = c->txq.count;
	mws__msg_queue keep;
	mws__msgq_init(&keep);
	if (c->tx_off > 0 && drop > 0) {
		/* Half written: the rest must follow or the stream breaks. */
		mws__msgq_push(&keep, mws__msgq_pop(&c->txq));
		drop--;
	}
	for (; drop > 0; drop--)
		mws__client_discard_one(c, mws__msgq_pop(&c->txq));
	mws__msgq_append(&keep, &c->txq);
	c->txq = keep;
}
