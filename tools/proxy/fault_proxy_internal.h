/*
 * The fault proxy's private parts, shared by its files:
 *   fault_proxy.c          the public calls and the command slot
 *   fault_proxy_loop.c     the proxy thread: poll set, commands, fault modes
 *   fault_proxy_conn.c     one connection: accept, forward, queue, zombie
 *   fault_proxy_sock.c     socket plumbing: resolve, listen, reset, clock
 *   fault_proxy_command.c  the CLI's text commands
 */
#ifndef MWS_FAULT_PROXY_INTERNAL_H
#define MWS_FAULT_PROXY_INTERNAL_H

#include "fault_proxy.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Per-direction buffering. Small enough that a stalled reader is noticed
 * quickly by the writer, big enough for a burst of WebSocket frames. */
#define QUEUE_LIMIT (256 * 1024)
#define READ_CHUNK (16 * 1024)
/* Beyond this many held connections new clients are reset: a runaway test
 * must not exhaust the process's descriptors. */
#define MAX_CONNS 1024
/* Accepts and discarding reads per wake-up, so one busy socket cannot
 * starve the others. */
#define BURST 64

struct chunk {
	struct chunk *next;
	uint64_t due_ns;
	size_t len, off;
	unsigned char data[];
};

/* One direction: bytes read from src, queued, written to dst. */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	bool eof;  /* src sent FIN */
	bool shut; /* we passed the FIN on: shutdown(dst, SHUT_WR) */
};

struct conn {
	int cfd, ufd;    /* -1 once closed */
	bool connecting; /* non-blocking connect to upstream in progress */
	bool zombie;     /* blackholed: discard everything, forever */
	bool dead;       /* to be removed from the table */
	struct dir up;   /* client -> upstream */
	struct dir down; /* upstream -> client */
	int cidx, uidx;  /* positions in this round's pollfd array, or -1 */
};

enum cmd_kind { CMD_MODE, CMD_UPSTREAM, CMD_STOP };

struct cmd {
	enum cmd_kind kind;
	mws_fault_mode mode;
	int delay_ms;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct mws_fault_proxy {
	pthread_t thread;
	int wake_r, wake_w;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool slot_busy, slot_done;
	struct cmd slot;
	int slot_result;

	/* Owned by the proxy thread after start. */
	int lfd;
	struct sockaddr_storage laddr; /* bound address, with the real port */
	socklen_t laddrlen;
	struct sockaddr_storage uaddr;
	socklen_t uaddrlen;
	int delay_ms;
	struct conn **conns;
	size_t nconns, capconns;
	struct pollfd *pfds;
	size_t cappfds;

	int port;
	_Atomic int mode;
	_Atomic uint64_t accepted, active, bytes_up, bytes_down, queued, discarded,
		resets, upstream_failures;
};

/* fault_proxy_sock.c */
uint64_t mws__fp_now_ns(void);
int mws__fp_resolve(const char *host, int port, struct sockaddr_storage *ss,
		    socklen_t *len, bool passive);
/* Returns the listening fd, or a negative errno; writes the bound address
 * (with the real port) back to *ss. */
int mws__fp_open_listener(struct sockaddr_storage *ss, socklen_t *len);
int mws__fp_port_of(const struct sockaddr_storage *ss);
void mws__fp_close_reset(int fd);
void mws__fp_set_nodelay(int fd);

/* fault_proxy_conn.c */
void mws__fp_conn_close(struct mws_fault_proxy *p, struct conn *c, bool reset);
void mws__fp_conn_make_zombie(struct mws_fault_proxy *p, struct conn *c);
void mws__fp_do_accept(struct mws_fault_proxy *p);
short mws__fp_want_events(const struct conn *c, bool client_side);
void mws__fp_conn_service(struct mws_fault_proxy *p, struct conn *c);

/* fault_proxy_loop.c */
void *mws__fp_proxy_main(void *arg);

#endif
