/* The Redis session store: the I/O thread's side (redis_store.h).
 *
 * Per session (hex id): a hash mws:s:<id> {sec, app, own, first, next,
 * recv}, its outbox mws:o:<id> (a list, one entry per message: a type byte
 * then the payload; entry k is message first + k), messages other nodes
 * sent it mws:i:<id>, and mws:a:<app id> -> <id> so any node finds it by
 * the id the application uses. All carry the session TTL as their expiry.
 * Every change is one Lua script, so it is atomic and checks that this
 * node still owns the session. */
#ifdef MWS_HAVE_HIREDIS
#include "store/redis_store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "managedws.h"

static const char save_lua[] =
	"local own = redis.call('HGET', KEYS[1], 'own')\n"
	"if ARGV[6] == '2' and own then return 2 end\n"
	"if own and own ~= ARGV[1] then return 0 end\n"
	"if not own then\n"
	"  if ARGV[6] == '0' then return -1 end\n"
	"  redis.call('DEL', KEYS[2])\n"
	"  redis.call('HSET', KEYS[1], 'sec', ARGV[7], 'app', ARGV[8], 'own', ARGV[1])\n"
	"  redis.call('SET', KEYS[3], ARGV[9])\n"
	"elseif ARGV[6] == '1' then\n"
	"  redis.call('DEL', KEYS[2])\n"
	"else\n"
	"  local old = tonumber(redis.call('HGET', KEYS[1], 'first'))\n"
	"  local first = tonumber(ARGV[3])\n"
	"  if first > old then redis.call('LTRIM', KEYS[2], first - old, -1) end\n"
	"end\n"
	"for i = 10, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end\n"
	"redis.call('HSET', KEYS[1], 'first', ARGV[3], 'next', ARGV[4], 'recv', ARGV[5])\n"
	"for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end\n"
	"return 1\n";

/* Lua strings are interned: comparing the secrets compares two pointers,
 * in time that does not depend on how many leading bytes match. */
static const char load_lua[] =
	"local h = redis.call('HMGET', KEYS[1], 'sec', 'app', 'own', 'first', 'next', 'recv')\n"
	"if not h[1] or h[1] ~= ARGV[1] then return false end\n"
	"redis.call('HSET', KEYS[1], 'own', ARGV[2])\n"
	"local room = tonumber(ARGV[5]) - redis.call('LLEN', KEYS[2])\n"
	"if room > 0 then\n"
	"  local inb = redis.call('LRANGE', KEYS[3], 0, room - 1)\n"
	"  redis.call('LTRIM', KEYS[3], room, -1)\n"
	"  for i = 1, #inb do redis.call('RPUSH', KEYS[2], inb[i]) end\n"
	"  h[5] = tostring(tonumber(h[5]) + #inb)\n"
	"  redis.call('HSET', KEYS[1], 'next', h[5])\n"
	"end\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
	"redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
	"redis.call('PEXPIRE', 'mws:a:' .. h[2], ARGV[3])\n"
	"if h[3] ~= ARGV[2] then redis.call('PUBLISH', 'mws:n:' .. h[3], 't' .. ARGV[4]) end\n"
	"return {h[2], h[3], h[4], h[5], h[6], redis.call('LRANGE', KEYS[2], 0, -1), {}}\n";

/* Moves at most ARGV[2] (the room in the session's outbox) from the inbox
 * to the end of the outbox, numbered from ARGV[3] (the next number, which
 * the hash must hold: the caller saved everything first), so they are
 * saved the moment they are taken. The rest waits. */
static const char inbox_lua[] =
	"local h = redis.call('HMGET', KEYS[1], 'own', 'next')\n"
	"if h[1] ~= ARGV[1] then return false end\n"
	"if h[2] ~= ARGV[3] then return redis.error_reply('mws: next differs') end\n"
	"local n = tonumber(ARGV[2])\n"
	"local l = redis.call('LRANGE', KEYS[2], 0, n - 1)\n"
	"redis.call('LTRIM', KEYS[2], n, -1)\n"
	"for i = 1, #l do redis.call('RPUSH', KEYS[3], l[i]) end\n"
	"redis.call('HSET', KEYS[1], 'next', tonumber(ARGV[3]) + #l)\n"
	"return l\n";

static const char remove_lua[] =
	"local h = redis.call('HMGET', KEYS[1], 'own', 'app')\n"
	"if h[1] ~= ARGV[1] then return 0 end\n"
	"redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], 'mws:a:' .. h[2])\n"
	"return 1\n";

void mws__rkey(char out[MWS__RKEY_MAX], char kind, const unsigned char *id)
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(out, MWS__RKEY_MAX, "mws:%c:", kind);
	for (int i = 0; i < MWS__ENV_ID_LEN; i++) {
		out[n++] = hex[id[i] >> 4];
		out[n++] = hex[id[i] & 15];
	}
	out[n] = 0;
}

redisReply *mws__redis_call(mws__redis *r, mws__rlink *l, int argc, const char **argv,
                            const size_t *lens)
{
	atomic_fetch_add(&r->calls, 1);
	redisReply *rep = mws__rlink_cmd(l, argc, argv, lens);
	if (l == &r->io)
		atomic_store(&r->io_up, rep != NULL);
	if (!rep || rep->type == REDIS_REPLY_ERROR)
		atomic_fetch_add(&r->errors, 1);
	return rep;
}

/* An EVAL whose reply is an integer: it, or MWS_ESTORE (as INT64_MIN). */
static long long mws__redis_eval_int(mws__redis *r, int argc, const char **argv,
                                     const size_t *lens)
{
	redisReply *rep = mws__redis_call(r, &r->io, argc, argv, lens);
	long long v = INT64_MIN;
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	if (rep)
		freeReplyObject(rep);
	return v;
}

static uint64_t mws__rnum(const redisReply *e)
{
	if (!e || e->type != REDIS_REPLY_STRING)
		return 0;
	return strtoull(e->str, NULL, 10);
}

/* Entries (a type byte, then the payload) into messages. 0 or MWS_ENOMEM. */
static int mws__redis_entries(const redisReply *list, mws__msg_queue *q)
{
	mws__msgq_init(q);
	if (!list || list->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < list->elements; i++) {
		const redisReply *e = list->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len < 1)
			continue; /* not ours: nothing we could deliver */
		mws__msg *m = mws__msg_new(e->str + 1, e->len - 1,
		                           e->str[0] == MWS_MSG_TEXT ? MWS_MSG_TEXT : MWS_MSG_BINARY);
		if (!m) {
			mws__msgq_clear(q);
			return MWS_ENOMEM;
		}
		mws__msgq_push(q, m);
	}
	return 0;
}

static int mws__redis_save_mode(mws__redis *r, mws__store_rec *rec, uint64_t ttl_ms, int mode)
{
	mws__sess *s = &rec->sess;
	uint64_t from = mode ? s->first_seq : rec->saved_next;
	if (from < s->first_seq)
		from = s->first_seq;
	size_t n = (size_t)(s->next_seq - from);
	int argc = 15 + (int)n;
	const char **argv = malloc(sizeof *argv * (size_t)argc);
	size_t *lens = malloc(sizeof *lens * (size_t)argc);
	unsigned char *types = malloc(n ? n : 1);
	if (!argv || !lens || !types) {
		free(argv);
		free(lens);
		free(types);
		return MWS_ENOMEM;
	}
	char ks[MWS__RKEY_MAX], ko[MWS__RKEY_MAX], ka[40], hexid[MWS__RKEY_MAX];
	char ttl[24], first[24], next[24], recv[24], app[24], modes[2] = {(char)('0' + mode), 0};
	mws__rkey(ks, 's', rec->id);
	mws__rkey(ko, 'o', rec->id);
	snprintf(ka, sizeof ka, "mws:a:%" PRIu64, rec->app_id);
	snprintf(hexid, sizeof hexid, "%s", ks + 6);
	snprintf(ttl, sizeof ttl, "%" PRIu64, ttl_ms ? ttl_ms : 1);
	snprintf(first, sizeof first, "%" PRIu64, s->first_seq);
	snprintf(next, sizeof next, "%" PRIu64, s->next_seq);
	snprintf(recv, sizeof recv, "%" PRIu64, s->last_recv);
	snprintf(app, sizeof app, "%" PRIu64, rec->app_id);
	const char *fixed[] = {"EVAL", save_lua, "3", ks, ko, ka, r->node_s, ttl, first, next,
	                       recv, modes, (const char *)rec->secret, app, hexid};
	int k = 0;
	for (; k < 15; k++) {
		argv[k] = fixed[k];
		lens[k] = k == 12 ? MWS__ENV_ID_LEN : strlen(fixed[k]); /* the secret is bytes */
	}
	/* Each entry: the type byte goes in front of the payload, where the
	 * message keeps headroom for a frame header. */
	size_t i = 0;
	mws__msg *m = s->box.head;
	for (uint64_t seq = s->first_seq; m && seq < from; seq++)
		m = m->next;
	for (; m && i < n; m = m->next, i++) {
		unsigned char *p = mws__msg_payload(m) - 1;
		types[i] = *p; /* headroom: restored below */
		*p = m->type;
		argv[k] = (const char *)p;
		lens[k++] = m->len + 1;
	}
	argc = k;
	long long v = mws__redis_eval_int(r, argc, argv, lens);
	m = s->box.head;
	for (uint64_t seq = s->first_seq; m && seq < from; seq++)
		m = m->next;
	for (i = 0; m && i < n; m = m->next, i++)
		mws__msg_payload(m)[-1] = types[i];
	free(argv);
	free(lens);
	free(types);
	if (v == INT64_MIN)
		return MWS_ESTORE;
	if (v == 2)
		return MWS_EINVAL;
	if (v == 0)
		return MWS__SHARED_MOVED;
	if (v == -1)
		return mws__redis_save_mode(r, rec, ttl_ms, 1); /* the store lost it */
	rec->saved_first = s->first_seq;
	rec->saved_next = s->next_seq;
	rec->saved_recv = s->last_recv;
	rec->saved_ms = mws__rlink_now_ms();
	return 0;
}

static int mws__redis_create(void *self, mws__store_rec *rec, uint64_t ttl_ms)
{
	return mws__redis_save_mode(self, rec, ttl_ms, 2);
}

static int mws__redis_save(void *self, mws__store_rec *rec, uint64_t ttl_ms, int full)
{
	return mws__redis_save_mode(self, rec, ttl_ms, full ? 1 : 0);
}

static int mws__redis_load(void *self, const unsigned char *id, const unsigned char *secret,
                           uint64_t ttl_ms, size_t max_msgs, mws__shared_loaded *out)
{
	mws__redis *r = self;
	memset(out, 0, sizeof *out);
	mws__msgq_init(&out->box);
	mws__msgq_init(&out->inbox);
	char ks[MWS__RKEY_MAX], ko[MWS__RKEY_MAX], ki[MWS__RKEY_MAX], ttl[24];
	mws__rkey(ks, 's', id);
	mws__rkey(ko, 'o', id);
	mws__rkey(ki, 'i', id);
	snprintf(ttl, sizeof ttl, "%" PRIu64, ttl_ms ? ttl_ms : 1);
	char max[24];
	snprintf(max, sizeof max, "%zu", max_msgs);
	const char *argv[] = {"EVAL", load_lua, "3", ks, ko, ki, (const char *)secret,
	                      r->node_s, ttl, ks + 6, max};
	size_t lens[11];
	for (int i = 0; i < 11; i++)
		lens[i] = i == 6 ? MWS__ENV_ID_LEN : strlen(argv[i]); /* the secret is bytes */
	redisReply *rep = mws__redis_call(r, &r->io, 11, argv, lens);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		if (rep)
			freeReplyObject(rep);
		return MWS_ESTORE;
	}
	int found = rep->type == REDIS_REPLY_ARRAY && rep->elements == 7;
	if (found) {
		out->app_id = mws__rnum(rep->element[0]);
		out->was_mine = rep->element[1]->type == REDIS_REPLY_STRING &&
		                !strcmp(rep->element[1]->str, r->node_s);
		out->first_seq = mws__rnum(rep->element[2]);
		out->next_seq = mws__rnum(rep->element[3]);
		out->last_recv = mws__rnum(rep->element[4]);
		if (mws__redis_entries(rep->element[5], &out->box) ||
		    mws__redis_entries(rep->element[6], &out->inbox)) {
			mws__msgq_clear(&out->box);
			freeReplyObject(rep);
			return MWS_ENOMEM;
		}
	}
	freeReplyObject(rep);
	return found;
}

static int mws__redis_take_inbox(void *self, const mws__store_rec *rec, size_t room,
                                 mws__msg_queue *out)
{
	mws__redis *r = self;
	mws__msgq_init(out);
	char ks[MWS__RKEY_MAX], ki[MWS__RKEY_MAX], ko[MWS__RKEY_MAX];
	mws__rkey(ks, 's', rec->id);
	mws__rkey(ki, 'i', rec->id);
	mws__rkey(ko, 'o', rec->id);
	char n[24], next[24];
	snprintf(n, sizeof n, "%zu", room);
	snprintf(next, sizeof next, "%" PRIu64, rec->saved_next);
	const char *argv[] = {"EVAL", inbox_lua, "3", ks, ki, ko, r->node_s, n, next};
	redisReply *rep = mws__redis_call(r, &r->io, 9, argv, NULL);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		if (rep)
			freeReplyObject(rep);
		return MWS_ESTORE;
	}
	int rc = rep->type == REDIS_REPLY_ARRAY ? mws__redis_entries(rep, out) : MWS__SHARED_MOVED;
	freeReplyObject(rep);
	return rc;
}

static int mws__redis_remove(void *self, const mws__store_rec *rec)
{
	mws__redis *r = self;
	char ks[MWS__RKEY_MAX], ko[MWS__RKEY_MAX], ki[MWS__RKEY_MAX];
	mws__rkey(ks, 's', rec->id);
	mws__rkey(ko, 'o', rec->id);
	mws__rkey(ki, 'i', rec->id);
	const char *argv[] = {"EVAL", remove_lua, "3", ks, ko, ki, r->node_s};
	long long v = mws__redis_eval_int(r, 7, argv, NULL);
	return v == INT64_MIN ? MWS_ESTORE : 0;
}

static int mws__redis_check(void *self)
{
	mws__redis *r = self;
	if (!r->io.c) {
		int up = mws__rlink_up(&r->io) == 0;
		atomic_store(&r->io_up, up);
		return up;
	}
	const char *argv[] = {"PING"};
	redisReply *rep = mws__redis_call(r, &r->io, 1, argv, NULL);
	if (rep)
		freeReplyObject(rep);
	return rep != NULL;
}

static void mws__redis_stats(void *self, mws__shared_stats *out)
{
	mws__redis *r = self;
	out->up = atomic_load(&r->io_up);
	out->bus_up = atomic_load(&r->bus_up);
	out->node = r->node;
	out->errors = atomic_load(&r->errors);
	out->calls = atomic_load(&r->calls);
	out->sends_out = atomic_load(&r->sends_out);
	out->broadcasts_out = atomic_load(&r->broadcasts_out);
	out->notices_in = atomic_load(&r->notices_in);
}

static void mws__redis_destroy(void *self)
{
	mws__redis *r = self;
	if (!r)
		return;
	mws__redis_unlisten(r);
	mws__rlink_close(&r->io);
	mws__rlink_close(&r->app);
	mws__rlink_close(&r->bus);
	pthread_mutex_destroy(&r->app_lock);
	free(r);
}

static const mws__shared_ops mws__redis_ops = {
	.create = mws__redis_create,
	.load = mws__redis_load,
	.save = mws__redis_save,
	.take_inbox = mws__redis_take_inbox,
	.remove = mws__redis_remove,
	.check = mws__redis_check,
	.send = mws__redis_send,
	.broadcast = mws__redis_broadcast,
	.listen = mws__redis_listen,
	.stats = mws__redis_stats,
	.destroy = mws__redis_destroy,
};

int mws__redis_store_new(mws__shared *out, const char *url, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	mws__redis *r = calloc(1, sizeof *r);
	if (!r)
		return MWS_ENOMEM;
	if (mws__rlink_parse(&r->io, url)) {
		free(r);
		if (err)
			snprintf(err, errlen, "not a redis://host[:port][/db] URL");
		return MWS_EINVAL;
	}
	r->app = r->io;
	r->bus = r->io;
	pthread_mutex_init(&r->app_lock, NULL);
	const char *argv[] = {"INCR", "mws:nodes"};
	redisReply *rep = mws__redis_call(r, &r->io, 2, argv, NULL);
	if (!rep || rep->type != REDIS_REPLY_INTEGER) {
		if (err)
			snprintf(err, errlen, "redis %s:%d: %s", r->io.host, r->io.port,
			         rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->io.err);
		if (rep)
			freeReplyObject(rep);
		mws__redis_destroy(r);
		return MWS_ESTORE;
	}
	r->node = (uint64_t)rep->integer;
	freeReplyObject(rep);
	snprintf(r->node_s, sizeof r->node_s, "%" PRIu64, r->node);
	out->ops = &mws__redis_ops;
	out->self = r;
	/* Application ids of this node: (n mod 8000 + 1) << 40 upwards, unique
	 * across nodes and below 2^53 (exact in JavaScript). */
	out->id_base = (r->node % 8000 + 1) << 40;
	return 0;
}

#endif
