/* RFC 6455 section 5.2: header, extended length, masking key, payload. */
#include "core/ws_frame.h"

#include <stdint.h>
#include <string.h>

size_t mws__frame_header_len(size_t len, int masked)
{
	size_t n = len < 126 ? 2 : len < 65536 ? 4 : 10;
	return n + (masked ? 4 : 0);
}

/* Sixteen bytes: one SSE2 register on x86-64, NEON on arm64. */
typedef uint64_t mws__u64x2 __attribute__((vector_size(16)));

/* XOR with the 4-byte key, 32 then 8 bytes at a time where it can. */
static void mws__mask_copy(unsigned char *out, const unsigned char *in, size_t len,
                           const unsigned char *key)
{
	size_t i = 0;
	if (len >= 8) {
		unsigned char k8[8];
		uint64_t kw, w;
		memcpy(k8, key, 4);
		memcpy(k8 + 4, key, 4);
		memcpy(&kw, k8, 8);
		mws__u64x2 kv = {kw, kw}, a, b;
		for (; i + 32 <= len; i += 32) {
			memcpy(&a, in + i, 16);
			memcpy(&b, in + i + 16, 16);
			a ^= kv;
			b ^= kv;
			memcpy(out + i, &a, 16);
			memcpy(out + i + 16, &b, 16);
		}
		for (; i + 8 <= len; i += 8) {
			memcpy(&w, in + i, 8);
			w ^= kw;
			memcpy(out + i, &w, 8);
		}
	}
	for (; i < len; i++)
		out[i] = in[i] ^ key[i & 3];
}

size_t mws__frame_put(unsigned char *out, int opcode, int fin, const unsigned char *mask,
                      const void *payload, size_t len)
{
	unsigned char *p = out;
	unsigned char maskbit = mask ? 0x80 : 0;
	*p++ = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		*p++ = (unsigned char)(maskbit | len);
	} else if (len < 65536) {
		*p++ = maskbit | 126;
		*p++ = (unsigned char)(len >> 8);
		*p++ = (unsigned char)len;
	} else {
		*p++ = maskbit | 127;
		for (int s = 56; s >= 0; s -= 8)
			*p++ = (unsigned char)((uint64_t)len >> s);
	}
	if (mask) {
		memcpy(p, mask, 4);
		p += 4;
		mws__mask_copy(p, payload, len, mask);
	} else if (len) {
		memcpy(p, payload, len);
	}
	return (size_t)(p - out) + len;
}
