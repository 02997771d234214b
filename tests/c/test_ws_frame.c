/* Frames we build ourselves (src/core/ws_frame.c), against RFC 6455's
 * own examples (section 5.7) and every length form. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/ws_frame.h"

Test(ws_frame, an_unmasked_text_frame_is_the_rfc_example)
{
	unsigned char out[16];
	static const unsigned char want[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	cr_assert_eq(mws__frame_put(out, MWS__OP_TEXT, 1, NULL, "Hello", 5), sizeof want);
	cr_assert_eq(memcmp(out, want, sizeof want), 0);
}

Test(ws_frame, a_masked_text_frame_is_the_rfc_example)
{
	unsigned char out[16];
	static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
	static const unsigned char want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
	                                     0x9f, 0x4d, 0x51, 0x58};
	cr_assert_eq(mws__frame_put(out, MWS__OP_TEXT, 1, key, "Hello", 5), sizeof want);
	cr_assert_eq(memcmp(out, want, sizeof want), 0);
}

Test(ws_frame, lengths_take_the_7_16_and_64_bit_forms)
{
	static unsigned char payload[70000], out[70016];
	cr_assert_eq(mws__frame_header_len(125, 0), 2);
	cr_assert_eq(mws__frame_header_len(126, 0), 4);
	cr_assert_eq(mws__frame_header_len(65535, 1), 8);
	cr_assert_eq(mws__frame_header_len(65536, 0), 10);
	cr_assert_eq(mws__frame_header_len(65536, 1), 14);
	/* 256 bytes binary, unmasked: 0x82 0x7E 0x0100 (RFC 6455 5.7) */
	cr_assert_eq(mws__frame_put(out, MWS__OP_BINARY, 1, NULL, payload, 256), 4 + 256);
	cr_assert_eq(memcmp(out, "\x82\x7e\x01\x00", 4), 0);
	/* 64 KiB: 0x82 0x7F 0x0000000000010000 */
	cr_assert_eq(mws__frame_put(out, MWS__OP_BINARY, 1, NULL, payload, 65536), 10 + 65536);
	cr_assert_eq(memcmp(out, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10), 0);
	/* a continuation without FIN */
	mws__frame_put(out, MWS__OP_CONTINUATION, 0, NULL, payload, 1);
	cr_assert_eq(out[0], 0x00);
}

Test(ws_frame, masking_every_length_round_trips)
{
	static const unsigned char key[4] = {0xa1, 0x02, 0xff, 0x5c};
	unsigned char payload[300], out[320];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (unsigned char)(i * 13 + 1);
	for (size_t n = 0; n <= sizeof payload; n++) {
		size_t h = mws__frame_header_len(n, 1);
		cr_assert_eq(mws__frame_put(out, MWS__OP_BINARY, 1, key, payload, n), h + n);
		cr_assert_eq(out[1] & 0x80, 0x80, "mask bit");
		cr_assert_eq(memcmp(out + h - 4, key, 4), 0);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(out[h + i] ^ key[i & 3], payload[i], "length %zu byte %zu", n, i);
	}
}
