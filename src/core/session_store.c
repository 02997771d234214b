/* What every session store shares: defaults and the secret comparison. */
#include "session_store.h"

void mws__store_config_defaults(mws__store_config *cfg)
{
	if (!cfg->ttl_ms)
		cfg->ttl_ms = 120000;
	if (!cfg->max_sessions)
		cfg->max_sessions = 10000;
	if (!cfg->max_bytes_per_session)
		cfg->max_bytes_per_session = 1u << 20;
	if (!cfg->max_messages_per_session)
		cfg->max_messages_per_session = 1024;
}

mws__sess_limits mws__store_sess_limits(const mws__store_config *cfg)
{
	mws__sess_limits lim = {0};
	lim.max_messages = cfg->max_messages_per_session;
	lim.max_bytes = cfg->max_bytes_per_session;
	return lim;
}

int mws__store_secret_equal(const unsigned char a[MWS__ENV_ID_LEN],
                            const unsigned char b[MWS__ENV_ID_LEN])
{
	/* Every byte is read whatever the first difference: a guesser learns
	 * nothing from the time a refusal takes. */
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < MWS__ENV_ID_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}
