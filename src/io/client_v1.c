/* mws.v1 on the client (docs/V1-WIRING.md §2): the session engine that
 * lives across connections, and the send side of a managed connection. */
#include <stdlib.h>
#include <string.h>

#include "io/client_io.h"

void mws__client_v1_init(struct mws_client *c, int mode, int lost_mode, uint32_t ack_every,
                         uint32_t ack_delay_ms)
{
	mws__client_v1 *v = &c->v1;
	v->mode = mode;
	v->lost_mode = lost_mode;
	mws__sess_limits lim = {c->set.queue_max_messages, c->set.queue_max_bytes, ack_every,
	                        ack_delay_ms};
	mws__sess_init(&v->sess, &lim);
	mws__env_out_growing(&v->out, LWS_PRE);
}

void mws__client_v1_destroy(struct mws_client *c)
{
	mws__sess_destroy(&c->v1.sess);
	mws__env_out_release(&c->v1.out);
}
