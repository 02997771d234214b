/* mws_server_stats_get: a consistent copy of the server's counters and
 * round-trip quantiles, from any thread. */
#include <string.h>

#include "io/server_io.h"

MWS_API int mws_server_stats_get(const mws_server *csrv, mws_server_stats *out)
{
	if (!csrv || !out || out->size < sizeof(size_t) * 2)
		return MWS_EINVAL;
	struct mws_server *srv = (struct mws_server *)csrv;
	mws_server_stats s;
	memset(&s, 0, sizeof s);
	s.size = out->size < sizeof s ? out->size : sizeof s;
	s.connections = atomic_load(&srv->connections);
	s.accepted = atomic_load(&srv->accepted);
	for (int i = 0; i < MWS_REFUSE_COUNT; i++) {
		s.refused[i] = atomic_load(&srv->refused[i]);
		s.refused_total += s.refused[i];
	}
	s.reaped = atomic_load(&srv->reaped);
	s.too_big = atomic_load(&srv->too_big);
	s.disconnects = atomic_load(&srv->disconnects);
	s.msgs_in = atomic_load(&srv->msgs_in);
	s.bytes_in = atomic_load(&srv->bytes_in);
	s.msgs_out = atomic_load(&srv->msgs_out);
	s.bytes_out = atomic_load(&srv->bytes_out);
	s.heartbeats_in = atomic_load(&srv->heartbeats_in);
	s.pings_sent = atomic_load(&srv->pings_sent);
	s.pongs_in = atomic_load(&srv->pongs_in);
	s.send_dropped = atomic_load(&srv->send_dropped);
	s.shutting_down = atomic_load(&srv->shutting_down);
	s.invalid_messages = atomic_load(&srv->invalid_messages);
	s.send_queue_full = atomic_load(&srv->send_queue_full);
	s.handshakes_over_address_limit = atomic_load(&srv->over_address_limit);
	s.headers_too_large = atomic_load(&srv->headers_too_large);
	s.sessions_active = atomic_load(&srv->sessions_active);
	s.sessions_suspended = atomic_load(&srv->sessions_suspended);
	s.sessions_created = atomic_load(&srv->sessions_created);
	s.sessions_resumed = atomic_load(&srv->sessions_resumed);
	s.sessions_expired = atomic_load(&srv->sessions_expired);
	s.protocol_errors = atomic_load(&srv->protocol_errors);
	s.replayed = atomic_load(&srv->replayed);
	s.duplicates_dropped = atomic_load(&srv->duplicates);
	s.batches_out = atomic_load(&srv->batches_out);
	s.goaways_sent = atomic_load(&srv->goaways_sent);
	s.session_msgs_dropped = atomic_load(&srv->session_msgs_dropped);
	s.paused_connections = (uint32_t)atomic_load(&srv->app_paused);
	pthread_mutex_lock(&srv->stats_lock);
	s.rtt_p50_us = (uint32_t)mws__hist_quantile(&srv->rtt_us, 0.50);
	s.rtt_p90_us = (uint32_t)mws__hist_quantile(&srv->rtt_us, 0.90);
	s.rtt_p99_us = (uint32_t)mws__hist_quantile(&srv->rtt_us, 0.99);
	s.duration_p50_ms = (uint32_t)mws__hist_quantile(&srv->duration_ms, 0.50);
	s.duration_p90_ms = (uint32_t)mws__hist_quantile(&srv->duration_ms, 0.90);
	s.duration_p99_ms = (uint32_t)mws__hist_quantile(&srv->duration_ms, 0.99);
	pthread_mutex_unlock(&srv->stats_lock);
	memcpy(out, &s, s.size);
	return 0;
}

/* srv->release: everything the server holds, then the server. */
