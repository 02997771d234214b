/* Built without hiredis: a Redis URL is refused with a reason. */
#ifndef MWS_HAVE_HIREDIS
#include <stdio.h>

#include "managedws.h"
#include "store/redis_store.h"

int mws__redis_store_new(mws__shared *out, const char *url, char *err, size_t errlen)
{
	(void)out;
	(void)url;
	if (err && errlen)
		snprintf(err, errlen, "this build of managedws has no Redis support (hiredis)");
	return MWS_EINVAL;
}
#endif
