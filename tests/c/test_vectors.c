/* The mws.v1 test vectors of docs/PROTOCOL.md (tests/vectors/mws_v1.json,
 * written by an independent msgpack writer): every valid vector decodes to
 * its fields and encodes back to its exact bytes; every malformed one fails
 * with its error and close code. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "managedws.h"

static cJSON *doc;

static void load(void)
{
	FILE *f = fopen(MWS_SOURCE_DIR "/tests/vectors/mws_v1.json", "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(doc);
}

static void unload(void)
{
	cJSON_Delete(doc);
}

TestSuite(vectors, .init = load, .fini = unload);

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	cr_assert_leq(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	return n;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsString(v), "field %s", key);
	return v->valuestring;
}

/* Integers above 2^53 are decimal strings in the file. */
static uint64_t u64(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsString(v))
		return strtoull(v->valuestring, NULL, 10);
	cr_assert(cJSON_IsNumber(v), "field %s", key);
	return (uint64_t)v->valuedouble;
}

static int flag(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int is_null(const cJSON *o, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void expect_payload(const char *name, const cJSON *want, const mws__env_payload *got)
{
	unsigned char buf[256];
	size_t n = unhex(str(want, "hex"), buf, sizeof(buf));
	cr_expect_eq(got->len, n, "%s: payload length", name);
	cr_expect(got->len == n && memcmp(got->data, buf, n) == 0, "%s: payload bytes", name);
	cr_expect_eq(got->text, flag(want, "text"), "%s: payload text", name);
}

static void expect_id(const char *name, const char *hex, const unsigned char *id)
{
	unsigned char buf[MWS__ENV_ID_LEN];
	cr_assert_eq(unhex(hex, buf, sizeof(buf)), MWS__ENV_ID_LEN);
	cr_expect(memcmp(buf, id, MWS__ENV_ID_LEN) == 0, "%s: id bytes", name);
}

static void check_fields(const char *name, const char *type, const cJSON *f, const mws__env *e)
{
	if (!strcmp(type, "hello")) {
		cr_expect_eq(e->type, MWS__ENV_HELLO, "%s", name);
		cr_expect_eq(e->u.hello.has_session, !is_null(f, "session_id"), "%s", name);
		if (e->u.hello.has_session)
			expect_id(name, str(f, "session_id"), e->u.hello.session_id);
		expect_id(name, str(f, "secret"), e->u.hello.secret);
		cr_expect_eq(e->u.hello.last_recv_seq, u64(f, "last_recv_seq"), "%s", name);
	} else if (!strcmp(type, "welcome")) {
		cr_expect_eq(e->type, MWS__ENV_WELCOME, "%s", name);
		expect_id(name, str(f, "session_id"), e->u.welcome.session_id);
		cr_expect_eq(e->u.welcome.resumed, flag(f, "resumed"), "%s", name);
		cr_expect_eq(e->u.welcome.last_recv_seq, u64(f, "last_recv_seq"), "%s", name);
		cr_expect_eq(e->u.welcome.session_ttl_ms, u64(f, "session_ttl_ms"), "%s", name);
	} else if (!strcmp(type, "data")) {
		cr_expect_eq(e->type, MWS__ENV_DATA, "%s", name);
		cr_expect_eq(e->u.data.seq, u64(f, "seq"), "%s", name);
		expect_payload(name, cJSON_GetObjectItem(f, "payload"), &e->u.data.payload);
		cr_expect_eq(e->has_ack, !is_null(f, "ack"), "%s: has ack", name);
		if (e->has_ack)
			cr_expect_eq(e->ack_seq, u64(f, "ack"), "%s", name);
	} else if (!strcmp(type, "ack")) {
		cr_expect_eq(e->type, MWS__ENV_ACK, "%s", name);
		cr_expect(e->has_ack);
		cr_expect_eq(e->ack_seq, u64(f, "ack"), "%s", name);
	} else if (!strcmp(type, "ping") || !strcmp(type, "pong")) {
		cr_expect_eq(e->type, type[1] == 'i' ? MWS__ENV_PING : MWS__ENV_PONG, "%s", name);
		cr_expect_eq(e->u.ping.timestamp_ms, u64(f, "timestamp_ms"), "%s", name);
	} else if (!strcmp(type, "goaway") || !strcmp(type, "error")) {
		cr_expect_eq(e->type, type[0] == 'g' ? MWS__ENV_GOAWAY : MWS__ENV_ERROR, "%s", name);
		cr_expect_eq(e->u.goaway.code, u64(f, "code"), "%s", name);
		if (type[0] == 'g')
			cr_expect_eq(e->u.goaway.retry_after_ms, u64(f, "retry_after_ms"), "%s", name);
		const char *reason = str(f, "reason");
		cr_expect(e->u.goaway.reason_len == strlen(reason) &&
		              !memcmp(e->u.goaway.reason, reason, strlen(reason)),
		          "%s: reason", name);
	} else if (!strcmp(type, "batch")) {
		cr_expect_eq(e->type, MWS__ENV_BATCH, "%s", name);
		cr_expect_eq(e->u.batch.first_seq, u64(f, "first_seq"), "%s", name);
		const cJSON *items = cJSON_GetObjectItem(f, "items");
		cr_expect_eq(e->u.batch.count, (size_t)cJSON_GetArraySize(items), "%s", name);
		mws__env_batch_iter it;
		mws__env_batch_iter_init(&it, e);
		uint64_t seq, want_seq = e->u.batch.first_seq;
		mws__env_payload p;
		const cJSON *item = items->child;
		while (mws__env_batch_next(&it, &seq, &p)) {
			cr_assert_not_null(item, "%s: more items than the vector", name);
			cr_expect_eq(seq, want_seq++, "%s", name);
			expect_payload(name, item, &p);
			item = item->next;
		}
		cr_expect_null(item, "%s: fewer items than the vector", name);
		cr_expect_eq(e->has_ack, !is_null(f, "ack"), "%s: has ack", name);
		if (e->has_ack)
			cr_expect_eq(e->ack_seq, u64(f, "ack"), "%s", name);
	} else {
		cr_assert_fail("%s: unknown type %s", name, type);
	}
}

/* Encodes from the vector's fields with the C encoder. */
static int encode(const char *type, const cJSON *f, mws__env_out *o)
{
	unsigned char id[MWS__ENV_ID_LEN], secret[MWS__ENV_ID_LEN], pl[256];
	if (!strcmp(type, "hello")) {
		int has = !is_null(f, "session_id");
		if (has)
			unhex(str(f, "session_id"), id, sizeof(id));
		unhex(str(f, "secret"), secret, sizeof(secret));
		return mws__env_encode_hello(o, has ? id : NULL, secret, u64(f, "last_recv_seq"));
	}
	if (!strcmp(type, "welcome")) {
		unhex(str(f, "session_id"), id, sizeof(id));
		return mws__env_encode_welcome(o, id, flag(f, "resumed"), u64(f, "last_recv_seq"),
		                               u64(f, "session_ttl_ms"));
	}
	if (!strcmp(type, "data")) {
		const cJSON *p = cJSON_GetObjectItem(f, "payload");
		size_t n = unhex(str(p, "hex"), pl, sizeof(pl));
		return mws__env_encode_data(o, u64(f, "seq"), pl, n, flag(p, "text"),
		                            is_null(f, "ack") ? 0 : u64(f, "ack"));
	}
	if (!strcmp(type, "ack"))
		return mws__env_encode_ack(o, u64(f, "ack"));
	if (!strcmp(type, "ping"))
		return mws__env_encode_ping(o, u64(f, "timestamp_ms"));
	if (!strcmp(type, "pong"))
		return mws__env_encode_pong(o, u64(f, "timestamp_ms"));
	if (!strcmp(type, "goaway")) {
		const char *r = str(f, "reason");
		return mws__env_encode_goaway(o, (uint32_t)u64(f, "code"), u64(f, "retry_after_ms"), r,
		                              strlen(r));
	}
	if (!strcmp(type, "error")) {
		const char *r = str(f, "reason");
		return mws__env_encode_error(o, (uint32_t)u64(f, "code"), r, strlen(r));
	}
	/* batch: queued messages, as the session engine holds them */
	mws__msg_queue q;
	mws__msgq_init(&q);
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(f, "items"))
	{
		size_t n = unhex(str(item, "hex"), pl, sizeof(pl));
		mws__msgq_push(&q, mws__msg_new(pl, n, flag(item, "text") ? MWS_MSG_TEXT : MWS_MSG_BINARY));
	}
	int rc = mws__env_encode_batch(o, u64(f, "first_seq"), q.head, q.count,
	                               is_null(f, "ack") ? 0 : u64(f, "ack"));
	mws__msgq_clear(&q);
	return rc;
}

Test(vectors, every_valid_vector_decodes_to_its_fields_and_encodes_to_its_bytes)
{
	const cJSON *v;
	int seen = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "valid"))
	{
		const char *name = str(v, "name");
		unsigned char buf[1024];
		size_t n = unhex(str(v, "hex"), buf, sizeof(buf));
		mws__env e;
		int rc = mws__env_decode(buf, n, NULL, &e);
		cr_expect_eq(rc, 0, "%s: decode gave %s", name, mws__env_err_name(rc));
		if (rc == 0)
			check_fields(name, str(v, "type"), cJSON_GetObjectItem(v, "fields"), &e);
		if (flag(v, "encode")) {
			mws__env_out o;
			mws__env_out_growing(&o, 16);
			cr_expect_eq(encode(str(v, "type"), cJSON_GetObjectItem(v, "fields"), &o), 0,
			             "%s: encode", name);
			cr_expect(o.len == n && memcmp(mws__env_out_bytes(&o), buf, n) == 0,
			          "%s: encoded bytes differ (%zu vs %zu bytes)", name, o.len, n);
			mws__env_out_release(&o);
		}
		seen++;
	}
	cr_expect_geq(seen, 15);
}

Test(vectors, every_malformed_vector_fails_with_its_error_and_close_code)
{
	const cJSON *v;
	int seen = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "invalid"))
	{
		const char *name = str(v, "name");
		unsigned char buf[1024];
		size_t n = unhex(str(v, "hex"), buf, sizeof(buf));
		mws__env_limits lim = {0};
		const cJSON *l = cJSON_GetObjectItem(v, "limits");
		if (l) {
			if (cJSON_GetObjectItem(l, "max_envelope_bytes"))
				lim.max_envelope_bytes = u64(l, "max_envelope_bytes");
			if (cJSON_GetObjectItem(l, "max_payload_bytes"))
				lim.max_payload_bytes = u64(l, "max_payload_bytes");
			if (cJSON_GetObjectItem(l, "max_batch_count"))
				lim.max_batch_count = u64(l, "max_batch_count");
		}
		mws__env e;
		int rc = mws__env_decode(buf, n, &lim, &e);
		cr_expect_str_eq(mws__env_err_name(rc), str(v, "error"), "%s", name);
		cr_expect_eq((uint64_t)mws__env_close_code(rc), u64(v, "close_code"), "%s", name);
		seen++;
	}
	cr_expect_geq(seen, 20);
}

Test(vectors, default_limits_in_the_file_match_the_decoder)
{
	const cJSON *l = cJSON_GetObjectItem(doc, "default_limits");
	cr_assert_not_null(l);
	/* One byte over each default fails; the default itself is allowed. */
	size_t max_payload = u64(l, "max_payload_bytes");
	unsigned char *big = calloc(1, max_payload + 1);
	mws__env_out g;
	mws__env_out_growing(&g, 0);
	cr_assert_eq(mws__env_encode_data(&g, 1, big, max_payload, 0, 0), 0);
	mws__env e;
	cr_expect_eq(mws__env_decode(mws__env_out_bytes(&g), g.len, NULL, &e), 0);
	mws__env_out_reset(&g);
	cr_assert_eq(mws__env_encode_data(&g, 1, big, max_payload + 1, 0, 0), 0);
	cr_expect_eq(mws__env_decode(mws__env_out_bytes(&g), g.len, NULL, &e), MWS__ENV_EPAYLOAD);
	cr_expect_leq(g.len, (size_t)u64(l, "max_envelope_bytes"));
	mws__env_out_release(&g);
	free(big);
	cr_expect_str_eq(str(doc, "subprotocol"), MWS__SUBPROTOCOL);
}
