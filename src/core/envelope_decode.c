/* mws.v1 envelopes, decoding side: a reader over the raw msgpack bytes of
 * our fixed schema. Every length and count is checked against the bytes
 * actually present before anything is used, and nothing is allocated, so an
 * input claiming 2^32 elements costs nothing (msgpack-c would allocate it).
 * Rule for which error wins: bytes present first (ETRUNC), then limits. */
#include "envelope.h"
#include <string.h>

typedef struct rd {
	const unsigned char *p, *end;
} rd;

static size_t left(const rd *r)
{
	return (size_t)(r->end - r->p);
}

static uint64_t be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Takes `n` big-endian bytes after the marker byte. */
static int take(rd *r, size_t n, uint64_t *v)
{
	if (left(r) < n)
		return MWS__ENV_ETRUNC;
	*v = be(r->p, n);
	r->p += n;
	return 0;
}

static int read_uint(rd *r, uint64_t *v)
{
	if (!left(r))
		return MWS__ENV_ETRUNC;
	unsigned char b = *r->p++;
	if (b <= 0x7f) {
		*v = b;
		return 0;
	}
	if (b >= 0xcc && b <= 0xcf)
		return take(r, (size_t)1 << (b - 0xcc), v);
	if (b >= 0xd0 && b <= 0xd3) {
		/* Signed forms are accepted when not negative (some encoders use them). */
		size_t n = (size_t)1 << (b - 0xd0);
		int rc = take(r, n, v);
		if (rc)
			return rc;
		return (*v >> (8 * n - 1)) & 1 ? MWS__ENV_EVALUE : 0;
	}
	if (b >= 0xe0)
		return MWS__ENV_EVALUE; /* negative fixint */
	return b == 0xc1 ? MWS__ENV_EFORMAT : MWS__ENV_ETYPE;
}

/* A bin (text = 0) or str (text = 1) of any size; its bytes must be present. */
static int read_raw(rd *r, const unsigned char **data, size_t *len, int *text)
{
	if (!left(r))
		return MWS__ENV_ETRUNC;
	unsigned char b = *r->p++;
	uint64_t n;
	int rc = 0;
	if (b >= 0xa0 && b <= 0xbf) {
		n = b & 0x1f;
		*text = 1;
	} else if (b >= 0xc4 && b <= 0xc6) {
		rc = take(r, (size_t)1 << (b - 0xc4), &n);
		*text = 0;
	} else if (b >= 0xd9 && b <= 0xdb) {
		rc = take(r, (size_t)1 << (b - 0xd9), &n);
		*text = 1;
	} else {
		return b == 0xc1 ? MWS__ENV_EFORMAT : MWS__ENV_ETYPE;
	}
	if (rc)
		return rc;
	if (n > left(r))
		return MWS__ENV_ETRUNC;
	*data = r->p;
	*len = (size_t)n;
	r->p += n;
	return 0;
}

/* An array header; the count is checked against the bytes left (each
 * element takes at least one byte) before the caller walks it. */
static int read_array(rd *r, uint64_t *n)
{
	if (!left(r))
		return MWS__ENV_ETRUNC;
	unsigned char b = *r->p++;
	int rc = 0;
	if (b >= 0x90 && b <= 0x9f)
		*n = b & 0x0f;
	else if (b == 0xdc || b == 0xdd)
		rc = take(r, b == 0xdc ? 2 : 4, n);
	else
		return b == 0xc1 ? MWS__ENV_EFORMAT : MWS__ENV_ETYPE;
	if (rc)
		return rc;
	return *n > left(r) ? MWS__ENV_ETRUNC : 0;
}

static int read_id(rd *r, unsigned char id[MWS__ENV_ID_LEN])
{
	const unsigned char *d;
	size_t n;
	int text;
	int rc = read_raw(r, &d, &n, &text);
	if (rc)
		return rc;
	if (text)
		return MWS__ENV_ETYPE;
	if (n != MWS__ENV_ID_LEN)
		return MWS__ENV_EVALUE;
	memcpy(id, d, n);
	return 0;
}

static int read_bool(rd *r, int *v)
{
	if (!left(r))
		return MWS__ENV_ETRUNC;
	unsigned char b = *r->p++;
	if (b != 0xc2 && b != 0xc3)
		return b == 0xc1 ? MWS__ENV_EFORMAT : MWS__ENV_ETYPE;
	*v = b == 0xc3;
	return 0;
}

static int read_code(rd *r, uint32_t *code)
{
	uint64_t v;
	int rc = read_uint(r, &v);
	if (rc)
		return rc;
	if (v < 1000 || v > 4999)
		return MWS__ENV_EVALUE;
	*code = (uint32_t)v;
	return 0;
}

static int read_reason(rd *r, const char **s, size_t *len)
{
	const unsigned char *d;
	int text;
	int rc = read_raw(r, &d, len, &text);
	if (rc)
		return rc;
	if (!text)
		return MWS__ENV_ETYPE;
	if (*len > 123) /* must fit a close frame's reason */
		return MWS__ENV_EVALUE;
	*s = (const char *)d;
	return 0;
}

static int read_payload(rd *r, const mws__env_limits *lim, mws__env_payload *out)
{
	int rc = read_raw(r, &out->data, &out->len, &out->text);
	if (rc)
		return rc;
	return out->len > lim->max_payload_bytes ? MWS__ENV_EPAYLOAD : 0;
}

/* Skips one value of any type (extension fields of hello and welcome). */
static int skip(rd *r, int depth)
{
	if (depth > MWS__ENV_MAX_DEPTH)
		return MWS__ENV_EDEPTH;
	if (!left(r))
		return MWS__ENV_ETRUNC;
	unsigned char b = *r->p;
	uint64_t n, v;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		r->p++;
		return 0;
	}
	if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xc4 && b <= 0xc6) || (b >= 0xd9 && b <= 0xdb)) {
		const unsigned char *d;
		size_t len;
		int text;
		return read_raw(r, &d, &len, &text);
	}
	r->p++;
	int map = 0;
	switch (b) {
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		return take(r, (size_t)1 << (b - 0xcc), &v);
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return take(r, (size_t)1 << (b - 0xd0), &v);
	case 0xca:
		return take(r, 4, &v);
	case 0xcb:
		return take(r, 8, &v);
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: type + 2^k */
		n = 1 + ((uint64_t)1 << (b - 0xd4));
		if (n > left(r))
			return MWS__ENV_ETRUNC;
		r->p += n;
		return 0;
	case 0xc7: case 0xc8: case 0xc9: { /* ext: length, type, data */
		int rc = take(r, (size_t)1 << (b - 0xc7), &n);
		if (rc)
			return rc;
		if (n >= left(r))
			return MWS__ENV_ETRUNC;
		r->p += n + 1;
		return 0;
	}
	case 0xdc: case 0xdd:
		break;
	case 0xde: case 0xdf:
		map = 1;
		break;
	default:
		if (b >= 0x90 && b <= 0x9f) {
			n = b & 0x0f;
			goto walk;
		}
		if (b >= 0x80 && b <= 0x8f) {
			n = (uint64_t)(b & 0x0f) * 2;
			goto walk;
		}
		return MWS__ENV_EFORMAT; /* 0xc1, never used */
	}
	{
		int rc = take(r, (b & 1) ? 4 : 2, &n);
		if (rc)
			return rc;
		if (map)
			n *= 2;
	}
walk:
	if (n > left(r))
		return MWS__ENV_ETRUNC;
	for (uint64_t i = 0; i < n; i++) {
		int rc = skip(r, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_ack(rd *r, uint64_t fields, uint64_t fixed, mws__env *out)
{
	if (fields == fixed)
		return 0;
	/* An ack of 0 acknowledges nothing: the same as no ack field. */
	int rc = read_uint(r, &out->ack_seq);
	out->has_ack = out->ack_seq != 0;
	return rc;
}

static int decode_batch(rd *r, uint64_t fields, const mws__env_limits *lim, mws__env *out)
{
	uint64_t first, n;
	int rc = read_uint(r, &first);
	if (rc)
		return rc;
	if (first == 0)
		return MWS__ENV_EVALUE;
	if ((rc = read_array(r, &n)))
		return rc;
	if (n == 0 || n > lim->max_batch_count)
		return MWS__ENV_EBATCH;
	if (first + (n - 1) < first)
		return MWS__ENV_EVALUE; /* the last sequence number would wrap */
	out->u.batch.first_seq = first;
	out->u.batch.count = (size_t)n;
	out->u.batch.items = r->p;
	for (uint64_t i = 0; i < n; i++) {
		mws__env_payload pl;
		if ((rc = read_payload(r, lim, &pl)))
			return rc;
	}
	out->u.batch.end = r->p;
	return read_ack(r, fields, 3, out);
}

static int decode_fields(rd *r, uint64_t fields, const mws__env_limits *lim, mws__env *out)
{
	int rc;
	switch (out->type) {
	case MWS__ENV_HELLO:
		if (fields < 4)
			return MWS__ENV_EARITY;
		if (left(r) && *r->p == 0xc0) {
			r->p++;
		} else {
			if ((rc = read_id(r, out->u.hello.session_id)))
				return rc;
			out->u.hello.has_session = 1;
		}
		if ((rc = read_id(r, out->u.hello.secret)) ||
		    (rc = read_uint(r, &out->u.hello.last_recv_seq)))
			return rc;
		for (uint64_t i = 4; i < fields; i++)
			if ((rc = skip(r, 1)))
				return rc;
		return 0;
	case MWS__ENV_WELCOME:
		if (fields < 5)
			return MWS__ENV_EARITY;
		if ((rc = read_id(r, out->u.welcome.session_id)) ||
		    (rc = read_bool(r, &out->u.welcome.resumed)) ||
		    (rc = read_uint(r, &out->u.welcome.last_recv_seq)) ||
		    (rc = read_uint(r, &out->u.welcome.session_ttl_ms)))
			return rc;
		for (uint64_t i = 5; i < fields; i++)
			if ((rc = skip(r, 1)))
				return rc;
		return 0;
	case MWS__ENV_DATA:
		if (fields != 3 && fields != 4)
			return MWS__ENV_EARITY;
		if ((rc = read_uint(r, &out->u.data.seq)))
			return rc;
		if (out->u.data.seq == 0)
			return MWS__ENV_EVALUE;
		if ((rc = read_payload(r, lim, &out->u.data.payload)))
			return rc;
		return read_ack(r, fields, 3, out);
	case MWS__ENV_ACK:
		if (fields != 2)
			return MWS__ENV_EARITY;
		out->has_ack = 1;
		return read_uint(r, &out->ack_seq);
	case MWS__ENV_PING:
	case MWS__ENV_PONG:
		if (fields != 2)
			return MWS__ENV_EARITY;
		return read_uint(r, &out->u.ping.timestamp_ms);
	case MWS__ENV_GOAWAY:
		if (fields != 4)
			return MWS__ENV_EARITY;
		if ((rc = read_code(r, &out->u.goaway.code)) ||
		    (rc = read_uint(r, &out->u.goaway.retry_after_ms)))
			return rc;
		return read_reason(r, &out->u.goaway.reason, &out->u.goaway.reason_len);
	case MWS__ENV_ERROR:
		if (fields != 3)
			return MWS__ENV_EARITY;
		if ((rc = read_code(r, &out->u.goaway.code)))
			return rc;
		return read_reason(r, &out->u.goaway.reason, &out->u.goaway.reason_len);
	case MWS__ENV_BATCH:
		if (fields != 3 && fields != 4)
			return MWS__ENV_EARITY;
		return decode_batch(r, fields, lim, out);
	default:
		return MWS__ENV_EUNKNOWN;
	}
}

int mws__env_decode(const void *buf, size_t len, const mws__env_limits *limits,
                    mws__env *out)
{
	mws__env_limits lim = {0};
	if (limits)
		lim = *limits;
	if (!lim.max_envelope_bytes)
		lim.max_envelope_bytes = (1u << 20) + 64;
	if (!lim.max_payload_bytes)
		lim.max_payload_bytes = 1u << 20;
	if (!lim.max_batch_count)
		lim.max_batch_count = 1024;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return MWS__ENV_EFORMAT;
	if (len > lim.max_envelope_bytes)
		return MWS__ENV_ETOOBIG;
	rd r = {buf, (const unsigned char *)buf + len};
	uint64_t fields, type;
	int rc = read_array(&r, &fields);
	if (rc)
		return rc == MWS__ENV_ETYPE ? MWS__ENV_EFORMAT : rc;
	if (fields == 0)
		return MWS__ENV_EARITY;
	if ((rc = read_uint(&r, &type)))
		return rc;
	out->type = type <= MWS__ENV_ERROR ? (int)type : 0;
	if (out->type == 0)
		return MWS__ENV_EUNKNOWN;
	if ((rc = decode_fields(&r, fields, &lim, out)))
		return rc;
	return left(&r) ? MWS__ENV_ETRAILING : 0;
}

void mws__env_batch_iter_init(mws__env_batch_iter *it, const mws__env *batch)
{
	it->p = batch->u.batch.items;
	it->end = batch->u.batch.end;
	it->left = batch->u.batch.count;
	it->seq = batch->u.batch.first_seq;
}

int mws__env_batch_next(mws__env_batch_iter *it, uint64_t *seq, mws__env_payload *out)
{
	if (!it->left)
		return 0;
	rd r = {it->p, it->end};
	if (read_raw(&r, &out->data, &out->len, &out->text))
		return 0; /* cannot happen after a successful decode */
	it->p = r.p;
	it->left--;
	*seq = it->seq++;
	return 1;
}
