/* The envelopes of the managed protocol mws.v1 (docs/PROTOCOL.md): msgpack
 * arrays [type, field...]. Encoding uses msgpack-c's packer; decoding is a
 * small reader over the raw bytes of our fixed schema, so that no container
 * count claimed by the input is ever allocated (msgpack-c would allocate
 * what `df ff ff ff ff` claims). Decoded payloads point into the input. */
#ifndef MWS_CORE_ENVELOPE_H
#define MWS_CORE_ENVELOPE_H
#include <stddef.h>
#include <stdint.h>

#include "message.h"

#define MWS__SUBPROTOCOL "mws.v1"
/* A server that speaks mws.v1 says so in the 101 with this header beside
 * Sec-WebSocket-Protocol: some servers (Node `ws`) select whatever
 * protocol is offered first without speaking it (docs/PROTOCOL.md §1). */
#define MWS__MARKER_HEADER "mws-protocol:"
#define MWS__MARKER_VALUE "mws.v1"
#define MWS__ENV_ID_LEN 16      /* session id and resume secret: 128 bits */
#define MWS__ENV_MAX_DEPTH 8    /* nesting allowed in skipped extension fields */

typedef enum mws__env_type {
	MWS__ENV_HELLO = 1,
	MWS__ENV_WELCOME = 2,
	MWS__ENV_DATA = 3,
	MWS__ENV_ACK = 4,
	MWS__ENV_PING = 5,
	MWS__ENV_PONG = 6,
	MWS__ENV_GOAWAY = 7,
	MWS__ENV_BATCH = 8,
	MWS__ENV_ERROR = 9
} mws__env_type;

/* Close codes of docs/PROTOCOL.md for input that breaks the protocol. */
#define MWS__CLOSE_MALFORMED 4002  /* does not decode as an mws.v1 envelope */
#define MWS__CLOSE_UNEXPECTED 4003 /* unknown type, or not allowed in this state */
#define MWS__CLOSE_SEQUENCE 4004   /* sequence number or ack out of order */
#define MWS__CLOSE_TOO_BIG 4009    /* over the receiver's limits */
#define MWS__CLOSE_FULL 4013       /* the server holds too many sessions */

/* Decoder errors: negative, each with a name used by the test vectors. */
#define MWS__ENV_ERR_MAP(XX)                                                   \
	XX(ETRUNC, -1, "input ends inside a value")                            \
	XX(ETRAILING, -2, "bytes after the envelope")                          \
	XX(EFORMAT, -3, "not an mws.v1 envelope (not a msgpack array)")        \
	XX(ETYPE, -4, "a field has the wrong msgpack type")                    \
	XX(EARITY, -5, "wrong number of fields for the envelope type")         \
	XX(EVALUE, -6, "a field's value is out of range")                      \
	XX(EUNKNOWN, -7, "unknown envelope type")                              \
	XX(ETOOBIG, -8, "envelope longer than max_envelope_bytes")             \
	XX(EPAYLOAD, -9, "payload longer than max_payload_bytes")              \
	XX(EBATCH, -10, "batch empty or over max_batch_count")                 \
	XX(EDEPTH, -11, "extension field nested too deep")

#define MWS__ENV_ERR_ENUM(name, value, text) MWS__ENV_##name = value,
typedef enum mws__env_err { MWS__ENV_ERR_MAP(MWS__ENV_ERR_ENUM) } mws__env_err;
#undef MWS__ENV_ERR_ENUM

/* "ETRUNC" etc., or "UNKNOWN". */
const char *mws__env_err_name(int err);
/* A sentence for the close reason. */
const char *mws__env_strerror(int err);
/* The close code docs/PROTOCOL.md names for a decoder error. */
int mws__env_close_code(int err);

typedef struct mws__env_limits {
	size_t max_envelope_bytes; /* 0: 1 MiB + 64 */
	size_t max_payload_bytes;  /* 0: 1 MiB */
	size_t max_batch_count;    /* 0: 1024 */
} mws__env_limits;

/* A payload inside the input: text when it was a msgpack str. */
typedef struct mws__env_payload {
	const unsigned char *data;
	size_t len;
	int text;
} mws__env_payload;

typedef struct mws__env {
	int type; /* mws__env_type */
	union {
		struct {
			int has_session; /* 0: a new session is asked for */
			unsigned char session_id[MWS__ENV_ID_LEN];
			unsigned char secret[MWS__ENV_ID_LEN];
			uint64_t last_recv_seq;
		} hello;
		struct {
			unsigned char session_id[MWS__ENV_ID_LEN];
			int resumed;
			uint64_t last_recv_seq;
			uint64_t session_ttl_ms;
		} welcome;
		struct {
			uint64_t seq;
			mws__env_payload payload;
		} data;
		struct {
			uint64_t first_seq;  /* items carry first_seq, first_seq + 1, ... */
			size_t count;
			const unsigned char *items; /* the first item, for mws__env_batch_next */
			const unsigned char *end;
		} batch;
		struct {
			uint64_t timestamp_ms;
		} ping; /* also pong */
		struct {
			uint32_t code;
			uint64_t retry_after_ms;
			const char *reason; /* into the input, not NUL-terminated */
			size_t reason_len;
		} goaway; /* also error */
	} u;
	int has_ack;      /* data, batch and ack carry a cumulative ack */
	uint64_t ack_seq;
} mws__env;

/* Decodes one whole WebSocket message. 0, or an mws__env_err. On success
 * pointers in `out` point into `buf`, which must outlive them. `limits` may
 * be NULL (defaults). */
int mws__env_decode(const void *buf, size_t len, const mws__env_limits *limits,
                    mws__env *out);

/* Walks a decoded batch: writes the next payload; 0 when done. The batch was
 * fully checked by mws__env_decode, so this cannot fail. */
typedef struct mws__env_batch_iter {
	const unsigned char *p, *end;
	size_t left;
	uint64_t seq;
} mws__env_batch_iter;
void mws__env_batch_iter_init(mws__env_batch_iter *it, const mws__env *batch);
int mws__env_batch_next(mws__env_batch_iter *it, uint64_t *seq, mws__env_payload *out);

/* Output for the encoders: either a caller's fixed buffer (cap > 0 from the
 * start; overflow gives MWS_ETOOBIG) or a growing one (data NULL, cap 0;
 * free data with free()). `headroom` bytes stay free in front of the
 * envelope (libwebsockets' LWS_PRE, passed in as a size: core does not
 * include libwebsockets); the envelope starts at data + headroom. */
typedef struct mws__env_out {
	unsigned char *data;
	size_t cap;
	size_t len;      /* envelope bytes written after the headroom */
	size_t headroom;
	int fixed;       /* set by mws__env_out_fixed */
	int overflow;
} mws__env_out;

void mws__env_out_fixed(mws__env_out *o, void *buf, size_t cap, size_t headroom);
void mws__env_out_growing(mws__env_out *o, size_t headroom);
static inline unsigned char *mws__env_out_bytes(const mws__env_out *o)
{
	return o->data ? o->data + o->headroom : NULL;
}
/* Frees a growing buffer; no-op on a fixed one. */
void mws__env_out_release(mws__env_out *o);
/* Forgets the envelope written, keeps the buffer. */
static inline void mws__env_out_reset(mws__env_out *o)
{
	o->len = 0;
	o->overflow = 0;
}

/* Each encoder appends one envelope; 0, MWS_ETOOBIG (fixed buffer too
 * small; its contents are then undefined), MWS_ENOMEM, MWS_EINVAL. An ack
 * of 0 means "no ack" and leaves the field out. */
int mws__env_encode_hello(mws__env_out *o, const unsigned char *session_id /* NULL: new */,
                          const unsigned char secret[MWS__ENV_ID_LEN], uint64_t last_recv_seq);
int mws__env_encode_welcome(mws__env_out *o, const unsigned char session_id[MWS__ENV_ID_LEN],
                            int resumed, uint64_t last_recv_seq, uint64_t session_ttl_ms);
int mws__env_encode_data(mws__env_out *o, uint64_t seq, const void *payload, size_t len,
                         int text, uint64_t ack);
int mws__env_encode_ack(mws__env_out *o, uint64_t ack);
int mws__env_encode_ping(mws__env_out *o, uint64_t timestamp_ms);
int mws__env_encode_pong(mws__env_out *o, uint64_t timestamp_ms);
int mws__env_encode_goaway(mws__env_out *o, uint32_t code, uint64_t retry_after_ms,
                           const char *reason, size_t reason_len);
int mws__env_encode_error(mws__env_out *o, uint32_t code, const char *reason,
                          size_t reason_len);
/* A batch of `count` queued messages starting at `first` (linked by next),
 * numbered first_seq, first_seq + 1, ... */
int mws__env_encode_batch(mws__env_out *o, uint64_t first_seq, const mws__msg *first,
                          size_t count, uint64_t ack);

/* Exact encoded sizes, for planning a batch before writing it. */
size_t mws__env_uint_size(uint64_t v);
size_t mws__env_payload_size(size_t len, int text);
size_t mws__env_data_size(uint64_t seq, size_t len, int text, uint64_t ack);
/* A batch's bytes without its items' payloads: add mws__env_payload_size
 * of each item. */
size_t mws__env_batch_overhead(uint64_t first_seq, size_t count, uint64_t ack);

#endif
