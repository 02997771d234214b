/* libFuzzer target: the mws.v1 envelope decoder. Whatever it accepts must
 * be one whole msgpack value that msgpack-c also reads (safe to ask then:
 * our decoder has bounded every count by the bytes present), and must
 * survive a round trip through our encoder. scripts/fuzz.sh builds it. */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "managedws.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Encodes `e` again; returns 0 when the encoder supports it. */
static int reencode(const mws__env *e, mws__env_out *o)
{
	switch (e->type) {
	case MWS__ENV_HELLO:
		return mws__env_encode_hello(o, e->u.hello.has_session ? e->u.hello.session_id : NULL,
		                             e->u.hello.secret, e->u.hello.last_recv_seq);
	case MWS__ENV_WELCOME:
		return mws__env_encode_welcome(o, e->u.welcome.session_id, e->u.welcome.resumed,
		                               e->u.welcome.last_recv_seq, e->u.welcome.session_ttl_ms);
	case MWS__ENV_DATA:
		return mws__env_encode_data(o, e->u.data.seq, e->u.data.payload.data,
		                            e->u.data.payload.len, e->u.data.payload.text,
		                            e->has_ack ? e->ack_seq : 0);
	case MWS__ENV_ACK:
		return mws__env_encode_ack(o, e->ack_seq);
	case MWS__ENV_PING:
		return mws__env_encode_ping(o, e->u.ping.timestamp_ms);
	case MWS__ENV_PONG:
		return mws__env_encode_pong(o, e->u.ping.timestamp_ms);
	case MWS__ENV_GOAWAY:
		return mws__env_encode_goaway(o, e->u.goaway.code, e->u.goaway.retry_after_ms,
		                              e->u.goaway.reason, e->u.goaway.reason_len);
	case MWS__ENV_ERROR:
		return mws__env_encode_error(o, e->u.goaway.code, e->u.goaway.reason,
		                             e->u.goaway.reason_len);
	default:
		return -1; /* batches: checked by walking them */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mws__env e;
	int rc = mws__env_decode(data, size, NULL, &e);
	if (rc) {
		check(strcmp(mws__env_err_name(rc), "UNKNOWN") != 0);
		check(mws__env_close_code(rc) >= 4000);
		return 0;
	}
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	check(msgpack_unpack_next(&up, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS);
	check(off == size && up.data.type == MSGPACK_OBJECT_ARRAY);
	msgpack_unpacked_destroy(&up);

	if (e.type == MWS__ENV_BATCH) {
		mws__env_batch_iter it;
		mws__env_batch_iter_init(&it, &e);
		uint64_t seq, want = e.u.batch.first_seq;
		mws__env_payload p;
		size_t n = 0;
		while (mws__env_batch_next(&it, &seq, &p)) {
			check(seq == want++);
			check(p.data >= data && p.data + p.len <= data + size);
			n++;
		}
		check(n == e.u.batch.count);
		return 0;
	}
	mws__env_out o;
	mws__env_out_growing(&o, 16);
	if (reencode(&e, &o) == 0) {
		mws__env back;
		check(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &back) == 0);
		check(back.type == e.type && back.has_ack == e.has_ack && back.ack_seq == e.ack_seq);
		check(o.len <= size); /* ours is the shortest form */
		if (e.type == MWS__ENV_DATA)
			check(back.u.data.seq == e.u.data.seq &&
			      back.u.data.payload.len == e.u.data.payload.len &&
			      !memcmp(back.u.data.payload.data, e.u.data.payload.data,
			              e.u.data.payload.len));
	}
	mws__env_out_release(&o);
	return 0;
}
