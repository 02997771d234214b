/* mws.v1 envelopes, encoding side: msgpack-c's packer writing into a fixed
 * or growing buffer that keeps headroom for the WebSocket frame header. */
#include "envelope.h"
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "managedws.h"

#define MWS__ENV_ERR_NAME(name, value, text)                                    \
	case value:                                                             \
		return #name;
const char *mws__env_err_name(int err)
{
	switch (err) {
		MWS__ENV_ERR_MAP(MWS__ENV_ERR_NAME)
	default:
		return "UNKNOWN";
	}
}
#undef MWS__ENV_ERR_NAME

#define MWS__ENV_ERR_TEXT(name, value, text)                                    \
	case value:                                                             \
		return text;
const char *mws__env_strerror(int err)
{
	switch (err) {
		MWS__ENV_ERR_MAP(MWS__ENV_ERR_TEXT)
	default:
		return "unknown envelope error";
	}
}
#undef MWS__ENV_ERR_TEXT

int mws__env_close_code(int err)
{
	switch (err) {
	case MWS__ENV_EUNKNOWN:
		return MWS__CLOSE_UNEXPECTED;
	case MWS__ENV_ETOOBIG:
	case MWS__ENV_EPAYLOAD:
	case MWS__ENV_EBATCH:
		return MWS__CLOSE_TOO_BIG;
	default:
		return MWS__CLOSE_MALFORMED;
	}
}

void mws__env_out_fixed(mws__env_out *o, void *buf, size_t cap, size_t headroom)
{
	memset(o, 0, sizeof(*o));
	o->data = buf;
	o->cap = cap;
	o->headroom = headroom;
	o->fixed = 1;
	/* A buffer smaller than its headroom can hold nothing. */
	if (cap < headroom)
		o->overflow = 1;
}

void mws__env_out_growing(mws__env_out *o, size_t headroom)
{
	memset(o, 0, sizeof(*o));
	o->headroom = headroom;
}

void mws__env_out_release(mws__env_out *o)
{
	if (!o->fixed)
		free(o->data);
	o->data = NULL;
	o->cap = o->len = 0;
}

/* msgpack-c's write callback: nonzero stops the packer. */
static int out_write(void *user, const char *buf, size_t len)
{
	mws__env_out *o = user;
	if (o->overflow)
		return -1;
	size_t need = o->headroom + o->len + len;
	if (need < len) {
		o->overflow = 1;
		return -1;
	}
	if (need > o->cap) {
		if (o->fixed) {
			o->overflow = 1;
			return -1;
		}
		size_t cap = o->cap ? o->cap : 256;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		unsigned char *p = realloc(o->data, cap);
		if (!p) {
			o->overflow = 2; /* out of memory, not out of room */
			return -1;
		}
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->headroom + o->len, buf, len);
	o->len += len;
	return 0;
}

typedef struct enc {
	msgpack_packer pk;
	mws__env_out *o;
	size_t start;
} enc;

static int enc_begin(enc *e, mws__env_out *o, size_t fields, int type)
{
	if (!o)
		return MWS_EINVAL;
	e->o = o;
	e->start = o->len;
	msgpack_packer_init(&e->pk, o, out_write);
	msgpack_pack_array(&e->pk, fields);
	return msgpack_pack_unsigned_int(&e->pk, (unsigned)type);
}

/* The packer's results are not checked one by one: out_write remembers an
 * overflow and refuses every later write, so the end result says it all. */
static int enc_end(enc *e)
{
	if (!e->o->overflow)
		return 0;
	int rc = e->o->overflow == 2 ? MWS_ENOMEM : MWS_ETOOBIG;
	/* Leave the length where it was, so the buffer stays usable (a fixed
	 * one smaller than its headroom stays unusable). */
	e->o->len = e->start;
	e->o->overflow = e->o->cap < e->o->headroom && e->o->fixed;
	return rc;
}

static void pack_payload(msgpack_packer *pk, const void *data, size_t len, int text)
{
	if (text) {
		msgpack_pack_str(pk, len);
		msgpack_pack_str_body(pk, data, len);
	} else {
		msgpack_pack_bin(pk, len);
		msgpack_pack_bin_body(pk, data, len);
	}
}

static void pack_id(msgpack_packer *pk, const unsigned char *id)
{
	msgpack_pack_bin(pk, MWS__ENV_ID_LEN);
	msgpack_pack_bin_body(pk, id, MWS__ENV_ID_LEN);
}

int mws__env_encode_hello(mws__env_out *o, const unsigned char *session_id,
                          const unsigned char secret[MWS__ENV_ID_LEN], uint64_t last_recv_seq)
{
	enc e;
	if (!o || !secret)
		return MWS_EINVAL;
	enc_begin(&e, o, 4, MWS__ENV_HELLO);
	if (session_id)
		pack_id(&e.pk, session_id);
	else
		msgpack_pack_nil(&e.pk);
	pack_id(&e.pk, secret);
	msgpack_pack_uint64(&e.pk, last_recv_seq);
	return enc_end(&e);
}

int mws__env_encode_welcome(mws__env_out *o, const unsigned char session_id[MWS__ENV_ID_LEN],
                            int resumed, uint64_t last_recv_seq, uint64_t session_ttl_ms)
{
	enc e;
	if (!session_id || !o)
		return MWS_EINVAL;
	enc_begin(&e, o, 5, MWS__ENV_WELCOME);
	pack_id(&e.pk, session_id);
	if (resumed)
		msgpack_pack_true(&e.pk);
	else
		msgpack_pack_false(&e.pk);
	msgpack_pack_uint64(&e.pk, last_recv_seq);
	msgpack_pack_uint64(&e.pk, session_ttl_ms);
	return enc_end(&e);
}

int mws__env_encode_data(mws__env_out *o, uint64_t seq, const void *payload, size_t len,
                         int text, uint64_t ack)
{
	enc e;
	if (!o || seq == 0 || (len && !payload))
		return MWS_EINVAL;
	enc_begin(&e, o, ack ? 4 : 3, MWS__ENV_DATA);
	msgpack_pack_uint64(&e.pk, seq);
	pack_payload(&e.pk, payload, len, text);
	if (ack)
		msgpack_pack_uint64(&e.pk, ack);
	return enc_end(&e);
}

static int encode_one_number(mws__env_out *o, int type, uint64_t v)
{
	enc e;
	if (!o)
		return MWS_EINVAL;
	enc_begin(&e, o, 2, type);
	msgpack_pack_uint64(&e.pk, v);
	return enc_end(&e);
}

int mws__env_encode_ack(mws__env_out *o, uint64_t ack)
{
	return encode_one_number(o, MWS__ENV_ACK, ack);
}

int mws__env_encode_ping(mws__env_out *o, uint64_t timestamp_ms)
{
	return encode_one_number(o, MWS__ENV_PING, timestamp_ms);
}

int mws__env_encode_pong(mws__env_out *o, uint64_t timestamp_ms)
{
	return encode_one_number(o, MWS__ENV_PONG, timestamp_ms);
}

static int reason_ok(uint32_t code, const char *reason, size_t len)
{
	return code >= 1000 && code <= 4999 && len <= 123 && (reason || !len);
}

int mws__env_encode_goaway(mws__env_out *o, uint32_t code, uint64_t retry_after_ms,
                           const char *reason, size_t reason_len)
{
	enc e;
	if (!o || !reason_ok(code, reason, reason_len))
		return MWS_EINVAL;
	enc_begin(&e, o, 4, MWS__ENV_GOAWAY);
	msgpack_pack_uint32(&e.pk, code);
	msgpack_pack_uint64(&e.pk, retry_after_ms);
	pack_payload(&e.pk, reason, reason_len, 1);
	return enc_end(&e);
}

int mws__env_encode_error(mws__env_out *o, uint32_t code, const char *reason,
                          size_t reason_len)
{
	enc e;
	if (!o || !reason_ok(code, reason, reason_len))
		return MWS_EINVAL;
	enc_begin(&e, o, 3, MWS__ENV_ERROR);
	msgpack_pack_uint32(&e.pk, code);
	pack_payload(&e.pk, reason, reason_len, 1);
	return enc_end(&e);
}

int mws__env_encode_batch(mws__env_out *o, uint64_t first_seq, const mws__msg *first,
                          size_t count, uint64_t ack)
{
	enc e;
	if (!o || first_seq == 0 || count == 0 || first_seq + (count - 1) < first_seq)
		return MWS_EINVAL;
	const mws__msg *m = first;
	for (size_t i = 0; i < count; i++, m = m->next)
		if (!m)
			return MWS_EINVAL;
	enc_begin(&e, o, ack ? 4 : 3, MWS__ENV_BATCH);
	msgpack_pack_uint64(&e.pk, first_seq);
	msgpack_pack_array(&e.pk, count);
	m = first;
	for (size_t i = 0; i < count; i++, m = m->next)
		pack_payload(&e.pk, m->buf + MWS__MSG_HEADROOM, m->len, m->type == MWS_MSG_TEXT);
	if (ack)
		msgpack_pack_uint64(&e.pk, ack);
	return enc_end(&e);
}

size_t mws__env_uint_size(uint64_t v)
{
	if (v < 128)
		return 1;
	if (v <= UINT8_MAX)
		return 2;
	if (v <= UINT16_MAX)
		return 3;
	if (v <= UINT32_MAX)
		return 5;
	return 9;
}

static size_t container_header_size(size_t n)
{
	return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5;
}

size_t mws__env_payload_size(size_t len, int text)
{
	size_t head;
	if (text)
		head = len < 32 ? 1 : len <= UINT8_MAX ? 2 : len <= UINT16_MAX ? 3 : 5;
	else
		head = len <= UINT8_MAX ? 2 : len <= UINT16_MAX ? 3 : 5;
	return head + len;
}

size_t mws__env_data_size(uint64_t seq, size_t len, int text, uint64_t ack)
{
	return 2 + mws__env_uint_size(seq) + mws__env_payload_size(len, text) +
	       (ack ? mws__env_uint_size(ack) : 0);
}

size_t mws__env_batch_overhead(uint64_t first_seq, size_t count, uint64_t ack)
{
	return 2 + mws__env_uint_size(first_seq) + container_header_size(count) +
	       (ack ? mws__env_uint_size(ack) : 0);
}
