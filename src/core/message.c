/* Outgoing messages and the FIFO that holds them while the client waits. */
#include "message.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

mws__msg *mws__msg_new(const void *data, size_t len, int type)
{
	if (len && !data)
		return NULL;
	if (len > SIZE_MAX - sizeof(mws__msg) - MWS__MSG_HEADROOM)
		return NULL;
	mws__msg *m = malloc(sizeof(mws__msg) + MWS__MSG_HEADROOM + len);
	if (!m)
		return NULL;
	m->next = NULL;
	m->len = m->cap = len;
	m->type = (uint8_t)type;
	if (len)
		memcpy(mws__msg_payload(m), data, len);
	return m;
}

void mws__msg_free(mws__msg *m)
{
	free(m);
}

void mws__msgq_init(mws__msg_queue *q)
{
	q->head = q->tail = NULL;
	q->count = 0;
	q->bytes = 0;
}

void mws__msgq_push(mws__msg_queue *q, mws__msg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	q->bytes += m->len;
}

void mws__msgq_push_front(mws__msg_queue *q, mws__msg *m)
{
	m->next = q->head;
	q->head = m;
	if (!q->tail)
		q->tail = m;
	q->count++;
	q->bytes += m->len;
}

void mws__msgq_append(mws__msg_queue *q, mws__msg_queue *from)
{
	if (!from->head)
		return;
	if (q->tail)
		q->tail->next = from->head;
	else
		q->head = from->head;
	q->tail = from->tail;
	q->count += from->count;
	q->bytes += from->bytes;
	mws__msgq_init(from);
}

mws__msg *mws__msgq_pop(mws__msg_queue *q)
{
	mws__msg *m = q->head;
	if (!m)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	m->next = NULL;
	q->count--;
	q->bytes -= m->len;
	return m;
}

size_t mws__msgq_clear(mws__msg_queue *q)
{
	size_t n = 0;
	mws__msg *m;
	while ((m = mws__msgq_pop(q))) {
		mws__msg_free(m);
		n++;
	}
	return n;
}
