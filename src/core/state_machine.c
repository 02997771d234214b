/* The client's one transition table. Anything not written here is refused. */
#include "state_machine.h"

#define X MWS__STATE_INVALID
#define DIS MWS_STATE_DISCONNECTED
#define CNG MWS_STATE_CONNECTING
#define CON MWS_STATE_CONNECTED
#define REC MWS_STATE_RECONNECTING
#define FAI MWS_STATE_FAILED
#define CLO MWS_STATE_CLOSED

/* Columns follow mws__event: CONNECT OPENED DROP_RETRY DROP_FAIL DROP_CLOSE
 * RETRY_DUE RECONNECT_NOW DISCONNECT CLOSE. */
static const signed char transitions[MWS__STATE_COUNT][MWS__EV_COUNT] = {
	[MWS_STATE_DISCONNECTED] = {CNG, X, X, X, X, X, X, X, CLO},
	[MWS_STATE_CONNECTING] = {X, CON, REC, FAI, CLO, X, X, DIS, CLO},
	[MWS_STATE_CONNECTED] = {X, X, REC, FAI, CLO, X, X, DIS, CLO},
	/* DROP_FAIL here: max attempts reached or the breaker opened. */
	[MWS_STATE_RECONNECTING] = {X, X, X, FAI, X, CNG, CNG, DIS, CLO},
	[MWS_STATE_FAILED] = {CNG, X, X, X, X, X, X, DIS, CLO},
	[MWS_STATE_CLOSED] = {X, X, X, X, X, X, X, X, X},
};

_Static_assert(MWS__EV_COUNT == 9, "a new event needs a column in the table");
_Static_assert(MWS_STATE_CLOSED + 1 == MWS__STATE_COUNT, "a new state needs a row");

int mws__sm_next(int state, int event)
{
	if (state < 0 || state >= MWS__STATE_COUNT || event < 0 || event >= MWS__EV_COUNT)
		return MWS__STATE_INVALID;
	return transitions[state][event];
}

const char *mws__state_name(int state)
{
	static const char *const names[MWS__STATE_COUNT] = {
		"DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING", "FAILED", "CLOSED"};
	if (state < 0 || state >= MWS__STATE_COUNT)
		return "UNKNOWN";
	return names[state];
}

const char *mws__event_name(int event)
{
	static const char *const names[MWS__EV_COUNT] = {
		[MWS__EV_CONNECT] = "CONNECT",
		[MWS__EV_OPENED] = "OPENED",
		[MWS__EV_DROP_RETRY] = "DROP_RETRY",
		[MWS__EV_DROP_FAIL] = "DROP_FAIL",
		[MWS__EV_DROP_CLOSE] = "DROP_CLOSE",
		[MWS__EV_RETRY_DUE] = "RETRY_DUE",
		[MWS__EV_RECONNECT_NOW] = "RECONNECT_NOW",
		[MWS__EV_DISCONNECT] = "DISCONNECT",
		[MWS__EV_CLOSE] = "CLOSE",
	};
	if (event < 0 || event >= MWS__EV_COUNT)
		return "UNKNOWN";
	return names[event];
}
