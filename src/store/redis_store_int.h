/* Shared between the files of the Redis store (private). */
#ifndef MWS_STORE_REDIS_STORE_INT_H
#define MWS_STORE_REDIS_STORE_INT_H
#ifdef MWS_HAVE_HIREDIS
#include <pthread.h>
#include <stdatomic.h>

#include "store/redis_link.h"
#include "store/redis_store.h"

#define MWS__RKEY_MAX 64

typedef struct mws__redis {
	mws__rlink io;             /* the server's I/O thread's */
	mws__rlink app;            /* application threads', under app_lock */
	pthread_mutex_t app_lock;
	mws__rlink bus;            /* the notice thread's, subscribed */
	uint64_t node;
	char node_s[24];
	atomic_int io_up, bus_up, stop;
	atomic_uint_least64_t errors, calls, sends_out, broadcasts_out, notices_in;
	pthread_t thread;
	int thread_started;
	mws__shared_notice_cb cb;
	void *cb_user;
} mws__redis;

/* "mws:s:<hex id>" and friends; `kind` is 's', 'o' or 'i'. */
void mws__rkey(char out[MWS__RKEY_MAX], char kind, const unsigned char *id);
/* A reply from a link, counted (calls, errors, io_up for the I/O link). */
redisReply *mws__redis_call(mws__redis *r, mws__rlink *l, int argc, const char **argv,
                            const size_t *lens);

/* redis_bus.c */
int mws__redis_listen(void *self, mws__shared_notice_cb cb, void *user);
void mws__redis_unlisten(mws__redis *r);
int mws__redis_send(void *self, uint64_t app_id, const void *data, size_t len, int type,
                    size_t max_msgs);
int mws__redis_broadcast(void *self, const void *data, size_t len, int type);

#endif
#endif
