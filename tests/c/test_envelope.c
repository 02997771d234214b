#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/rng.h"
#include "managedws.h"

static const unsigned char SECRET[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static int decode(const void *b, size_t n, mws__env *e)
{
	return mws__env_decode(b, n, NULL, e);
}

Test(envelope, map_claiming_2_pow_32_entries_is_refused_without_allocating)
{
	/* msgpack-c asks for 0x4000000008 bytes for these six bytes. */
	const unsigned char in[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x0a};
	mws__env e;
	cr_expect_eq(decode(in, sizeof(in), &e), MWS__ENV_EFORMAT);
	cr_expect_eq(mws__env_close_code(MWS__ENV_EFORMAT), MWS__CLOSE_MALFORMED);
}

Test(envelope, huge_claimed_counts_and_lengths_are_truncation_not_allocation)
{
	const char *cases[] = {
		"\xdd\xff\xff\xff\xff\x03",                  /* array of 2^32-1 */
		"\x93\x03\x01\xc6\xff\xff\xff\xff",          /* bin32 of 4 GiB */
		"\x93\x03\x01\xdb\xff\xff\xff\xff",          /* str32 of 4 GiB */
		"\x93\x08\x01\xdd\xff\xff\xff\xff",          /* batch items 2^32-1 */
		"\x95\x01\xc0\xc4\x10" "0123456789abcdef\x00\xdf\xff\xff\xff\xff", /* ext map */
		"\x95\x01\xc0\xc4\x10" "0123456789abcdef\x00\xc9\xff\xff\xff\xff\x01", /* ext32 */
	};
	const size_t lens[] = {6, 8, 8, 8, 27, 28};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mws__env e;
		cr_expect_eq(decode(cases[i], lens[i], &e), MWS__ENV_ETRUNC, "case %zu", i);
	}
}

Test(envelope, data_payload_points_into_the_input)
{
	unsigned char buf[64];
	mws__env_out o;
	mws__env_out_fixed(&o, buf, sizeof(buf), 0);
	cr_assert_eq(mws__env_encode_data(&o, 5, "hello", 5, 1, 0), 0);
	mws__env e;
	cr_assert_eq(decode(buf, o.len, &e), 0);
	cr_expect_eq(e.type, MWS__ENV_DATA);
	cr_expect_eq(e.u.data.seq, 5);
	cr_expect(e.u.data.payload.text);
	cr_expect(e.u.data.payload.data > buf && e.u.data.payload.data < buf + o.len);
	cr_expect_eq(e.has_ack, 0);
}

Test(envelope, headroom_is_left_free_in_front)
{
	unsigned char buf[64];
	memset(buf, 0xee, sizeof(buf));
	mws__env_out o;
	mws__env_out_fixed(&o, buf, sizeof(buf), 16);
	cr_assert_eq(mws__env_encode_ack(&o, 42), 0);
	cr_expect_eq(mws__env_out_bytes(&o), buf + 16);
	cr_expect_eq(o.len, 3);
	cr_expect_eq(buf[15], 0xee);
	cr_expect_eq(buf[16], 0x92);
	cr_expect_eq(buf[17], 0x04);
	cr_expect_eq(buf[18], 42);

	mws__env_out g;
	mws__env_out_growing(&g, 32);
	char big[1000] = {0};
	cr_assert_eq(mws__env_encode_data(&g, 1, big, sizeof(big), 0, 7), 0);
	cr_expect_eq(mws__env_out_bytes(&g), g.data + 32);
	cr_expect_geq(g.cap, 32 + g.len);
	cr_expect_eq(g.len, mws__env_data_size(1, sizeof(big), 0, 7));
	mws__env_out_release(&g);
}

Test(envelope, fixed_buffer_too_small_is_etoobig_and_can_be_retried)
{
	unsigned char buf[8];
	mws__env_out o;
	mws__env_out_fixed(&o, buf, sizeof(buf), 0);
	cr_assert_eq(mws__env_encode_ack(&o, 1), 0);
	cr_expect_eq(mws__env_encode_data(&o, 1, "too long", 8, 0, 0), MWS_ETOOBIG);
	cr_expect_eq(o.len, 3, "the envelope before is kept");
	cr_expect_eq(mws__env_encode_ack(&o, 2), 0, "the buffer is usable again");
	cr_expect_eq(o.len, 6);
	mws__env_out small;
	mws__env_out_fixed(&small, buf, 4, 8);
	cr_expect_eq(mws__env_encode_ack(&small, 1), MWS_ETOOBIG);
}

Test(envelope, encoders_refuse_bad_arguments)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	cr_expect_eq(mws__env_encode_data(&o, 0, "x", 1, 0, 0), MWS_EINVAL, "seq 0");
	cr_expect_eq(mws__env_encode_data(&o, 1, NULL, 1, 0, 0), MWS_EINVAL);
	cr_expect_eq(mws__env_encode_hello(&o, NULL, NULL, 0), MWS_EINVAL);
	cr_expect_eq(mws__env_encode_goaway(&o, 999, 0, "", 0), MWS_EINVAL);
	char r[124];
	memset(r, 'r', sizeof(r));
	cr_expect_eq(mws__env_encode_goaway(&o, 1001, 0, r, sizeof(r)), MWS_EINVAL);
	cr_expect_eq(mws__env_encode_goaway(&o, 1001, 0, r, 123), 0);
	cr_expect_eq(mws__env_encode_batch(&o, 1, NULL, 0, 0), MWS_EINVAL);
	cr_expect_eq(mws__env_encode_ack(NULL, 1), MWS_EINVAL);
	mws__env_out_release(&o);
}

Test(envelope, every_proper_prefix_of_an_envelope_is_truncated)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	const unsigned char sid[16] = {0xa0};
	cr_assert_eq(mws__env_encode_hello(&o, sid, SECRET, 300), 0);
	size_t ends[10];
	int k = 0;
	ends[k++] = o.len;
	cr_assert_eq(mws__env_encode_welcome(&o, sid, 1, 1 << 20, 120000), 0);
	ends[k++] = o.len;
	cr_assert_eq(mws__env_encode_data(&o, 70000, "payload", 7, 0, 65536), 0);
	ends[k++] = o.len;
	cr_assert_eq(mws__env_encode_goaway(&o, 1012, 2500, "restart", 7), 0);
	ends[k++] = o.len;
	mws__msg *a = mws__msg_new("a", 1, MWS_MSG_TEXT), *b = mws__msg_new("bb", 2, MWS_MSG_BINARY);
	a->next = b;
	cr_assert_eq(mws__env_encode_batch(&o, 9, a, 2, 3), 0);
	ends[k++] = o.len;
	mws__msg_free(a);
	mws__msg_free(b);
	const unsigned char *all = mws__env_out_bytes(&o);
	size_t start = 0;
	for (int i = 0; i < k; i++) {
		mws__env e;
		cr_expect_eq(decode(all + start, ends[i] - start, &e), 0, "envelope %d", i);
		for (size_t n = 0; n < ends[i] - start; n++)
			cr_expect_eq(decode(all + start, n, &e), MWS__ENV_ETRUNC, "envelope %d, %zu bytes",
			             i, n);
		start = ends[i];
	}
	mws__env e;
	cr_expect_eq(decode(all, ends[1], &e), MWS__ENV_ETRAILING, "two envelopes in one message");
	mws__env_out_release(&o);
}

Test(envelope, encoded_envelopes_are_msgpack_that_msgpack_c_reads)
{
	mws__rng rng;
	mws__rng_seed(&rng, 7);
	unsigned char payload[300];
	for (int i = 0; i < 200; i++) {
		uint64_t seq = mws__rng_next(&rng) >> mws__rng_between(&rng, 0, 63);
		size_t len = (size_t)mws__rng_between(&rng, 0, sizeof(payload));
		for (size_t j = 0; j < len; j++)
			payload[j] = (unsigned char)mws__rng_next(&rng);
		int text = (int)mws__rng_between(&rng, 0, 1);
		uint64_t ack = mws__rng_between(&rng, 0, 1) ? mws__rng_next(&rng) >> 20 : 0;
		mws__env_out o;
		mws__env_out_growing(&o, 0);
		cr_assert_eq(mws__env_encode_data(&o, seq ? seq : 1, payload, len, text, ack), 0);
		cr_expect_eq(o.len, mws__env_data_size(seq ? seq : 1, len, text, ack));
		/* msgpack-c agrees it is one well-formed value (safe here: our bytes). */
		msgpack_unpacked up;
		msgpack_unpacked_init(&up);
		size_t off = 0;
		cr_expect_eq(msgpack_unpack_next(&up, (const char *)mws__env_out_bytes(&o), o.len, &off),
		             MSGPACK_UNPACK_SUCCESS);
		cr_expect_eq(off, o.len);
		cr_expect_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
		msgpack_unpacked_destroy(&up);
		mws__env e;
		cr_assert_eq(decode(mws__env_out_bytes(&o), o.len, &e), 0);
		cr_expect_eq(e.u.data.seq, seq ? seq : 1);
		cr_expect_eq(e.u.data.payload.len, len);
		cr_expect_eq(e.u.data.payload.text, text);
		cr_expect(len == 0 || memcmp(e.u.data.payload.data, payload, len) == 0);
		cr_expect_eq(e.has_ack, ack != 0);
		cr_expect_eq(e.ack_seq, ack);
		mws__env_out_release(&o);
	}
}

Test(envelope, batch_sizes_are_exact_at_container_boundaries)
{
	mws__msg_queue q;
	mws__msgq_init(&q);
	for (int n = 1; n <= 70; n++) {
		mws__msgq_push(&q, mws__msg_new("0123456789", (size_t)(n % 11), n % 2 ? 1 : 2));
		if (n == 1)
			continue;
		size_t items = 0;
		for (mws__msg *m = q.head; m; m = m->next)
			items += mws__env_payload_size(m->len, m->type == MWS_MSG_TEXT);
		mws__env_out o;
		mws__env_out_growing(&o, 0);
		cr_assert_eq(mws__env_encode_batch(&o, 250, q.head, q.count, 300), 0);
		cr_expect_eq(o.len, mws__env_batch_overhead(250, q.count, 300) + items, "%d items", n);
		mws__env e;
		cr_assert_eq(decode(mws__env_out_bytes(&o), o.len, &e), 0);
		cr_expect_eq(e.u.batch.count, q.count);
		mws__env_out_release(&o);
	}
	mws__msgq_clear(&q);
}

Test(envelope, random_mutations_never_crash_and_always_give_a_named_result)
{
	mws__rng rng;
	mws__rng_seed(&rng, 42);
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	mws__msg *a = mws__msg_new("abc", 3, MWS_MSG_TEXT), *b = mws__msg_new("defg", 4, 2);
	a->next = b;
	cr_assert_eq(mws__env_encode_batch(&o, 1, a, 2, 9), 0);
	unsigned char base[64];
	size_t n = o.len;
	memcpy(base, mws__env_out_bytes(&o), n);
	mws__env_out_release(&o);
	mws__msg_free(a);
	mws__msg_free(b);
	for (int i = 0; i < 20000; i++) {
		unsigned char m[64];
		memcpy(m, base, n);
		int flips = (int)mws__rng_between(&rng, 1, 4);
		for (int f = 0; f < flips; f++)
			m[mws__rng_between(&rng, 0, n - 1)] = (unsigned char)mws__rng_next(&rng);
		size_t len = (size_t)mws__rng_between(&rng, 0, n);
		mws__env e;
		int rc = decode(m, len, &e);
		cr_assert(rc == 0 || strcmp(mws__env_err_name(rc), "UNKNOWN") != 0, "rc %d", rc);
		if (rc == 0 && e.type == MWS__ENV_BATCH) {
			mws__env_batch_iter it;
			mws__env_batch_iter_init(&it, &e);
			uint64_t seq;
			mws__env_payload p;
			size_t count = 0;
			while (mws__env_batch_next(&it, &seq, &p))
				count++;
			cr_assert_eq(count, e.u.batch.count);
		}
	}
}

Test(envelope, error_names_texts_and_close_codes)
{
	cr_expect_str_eq(mws__env_err_name(MWS__ENV_ETRUNC), "ETRUNC");
	cr_expect_str_eq(mws__env_err_name(MWS__ENV_EDEPTH), "EDEPTH");
	cr_expect_str_eq(mws__env_err_name(12345), "UNKNOWN");
	cr_expect_str_eq(mws__env_strerror(MWS__ENV_EBATCH), "batch empty or over max_batch_count");
	cr_expect_eq(mws__env_close_code(MWS__ENV_EUNKNOWN), MWS__CLOSE_UNEXPECTED);
	cr_expect_eq(mws__env_close_code(MWS__ENV_EPAYLOAD), MWS__CLOSE_TOO_BIG);
	cr_expect_eq(mws__env_close_code(MWS__ENV_ETYPE), MWS__CLOSE_MALFORMED);
}

Test(envelope, null_input_with_length_is_refused)
{
	mws__env e;
	cr_expect_eq(mws__env_decode(NULL, 4, NULL, &e), MWS__ENV_EFORMAT);
	cr_expect_eq(mws__env_decode(NULL, 0, NULL, &e), MWS__ENV_ETRUNC);
}

Test(envelope, an_ack_field_of_zero_is_no_ack)
{
	/* Found by fuzz_envelope: [3, 200, "hel\x16\0", 0] re-encoded without its ack. */
	const unsigned char in[] = {0x94, 0x03, 0xcc, 0xc8, 0xa5, 'h', 'e', 'l', 0x16, 0, 0};
	mws__env e;
	cr_assert_eq(decode(in, sizeof(in), &e), 0);
	cr_expect_eq(e.u.data.seq, 200);
	cr_expect_not(e.has_ack);
	cr_expect_eq(e.ack_seq, 0);
}
