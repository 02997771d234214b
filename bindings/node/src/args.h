/* Reading JavaScript values into C: option objects through a table, and
 * the arguments of binding calls. A function that fails has thrown a JS
 * error and says so by its result (-1, or NULL). */
#ifndef MWS_NODE_ARGS_H
#define MWS_NODE_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "node_api_pin.h"

/* ---- options ---- */

typedef enum mws_node_opt_kind {
	MWS_NODE_OPT_INT,    /* int: an integer number */
	MWS_NODE_OPT_SIZE,   /* size_t: a non-negative integer number */
	MWS_NODE_OPT_DOUBLE, /* double: a number */
	MWS_NODE_OPT_BOOL,   /* int: a boolean, stored as 0 or 1 */
	MWS_NODE_OPT_STRING, /* const char *: a string (null: none), malloc'd */
	MWS_NODE_OPT_SEED    /* uint64_t: a number from 0 to 2^53-1 */
} mws_node_opt_kind;

/* One option: its JS name, and the field of the config struct it sets. */
typedef struct mws_node_opt {
	const char *name;
	mws_node_opt_kind kind;
	size_t offset;
} mws_node_opt;

#define MWS_NODE_OPT_CTYPE_INT int
#define MWS_NODE_OPT_CTYPE_SIZE size_t
#define MWS_NODE_OPT_CTYPE_DOUBLE double
#define MWS_NODE_OPT_CTYPE_BOOL int
#define MWS_NODE_OPT_CTYPE_STRING const char *
#define MWS_NODE_OPT_CTYPE_SEED uint64_t

/* A table entry for `field` of struct type T. The unevaluated comparison
 * checks at compile time that the field has the C type the kind writes (a
 * mismatch warns "comparison of distinct pointer types"). */
#define MWS_NODE_OPT(js, kind, T, field)                                             \
	{js, MWS_NODE_OPT_##kind,                                                    \
	 offsetof(T, field) + 0 * sizeof(&((T *)0)->field == (MWS_NODE_OPT_CTYPE_##kind *)0)}

/* Reads the options of table[0..n) from obj into the config struct cfg, in
 * table order. An absent or undefined option leaves its field alone (for a
 * string, so does null); a value of the wrong type throws TypeError
 * ERR_INVALID_ARG_TYPE, a seed out of range RangeError ERR_OUT_OF_RANGE.
 * Returns 0 or -1. String fields must start NULL (as *_config_init leaves
 * them); release them with mws_node_opts_free(), after a failure too. */
int mws_node_opts_read(napi_env env, napi_value obj, const mws_node_opt *table, size_t n,
                       void *cfg);
void mws_node_opts_free(const mws_node_opt *table, size_t n, void *cfg);

/* ---- arguments ---- */

/* A JS string as a malloc'd NUL-terminated UTF-8 string (free it), its
 * length in *len_out if not NULL. NULL after throwing. */
char *mws_node_string(napi_env env, napi_value v, size_t *len_out);

/* *out = a malloc'd copy of v if v is a string, else NULL. 0 or -1. */
int mws_node_string_or_null(napi_env env, napi_value v, char **out);

/* *out = v as an int32 if v is a number; otherwise *out is left alone. */
void mws_node_int32_or(napi_env env, napi_value v, int32_t *out);

/* A message for send(): its bytes, and its type, which `binary` gives if it
 * is a boolean, else text for a string and binary for anything else. The
 * bytes of a string are copied into `owned`; those of a Buffer, TypedArray,
 * DataView or ArrayBuffer are borrowed for the duration of the call. */
typedef struct mws_node_msg {
	const void *data;
	size_t len;
	int type; /* MWS_MSG_TEXT or MWS_MSG_BINARY */
	char *owned;
} mws_node_msg;

/* Fills *m from (data, binary). 0, or -1 after throwing TypeError for data
 * of another type. Release with mws_node_msg_free() after a 0. */
int mws_node_msg_get(napi_env env, napi_value data, napi_value binary, mws_node_msg *m);
void mws_node_msg_free(mws_node_msg *m);

#endif
