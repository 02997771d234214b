#include <criterion/criterion.h>
#include <string.h>

#include "core/state_machine.h"

#define X MWS__STATE_INVALID
#define DIS MWS_STATE_DISCONNECTED
#define CNG MWS_STATE_CONNECTING
#define CON MWS_STATE_CONNECTED
#define REC MWS_STATE_RECONNECTING
#define FAI MWS_STATE_FAILED
#define CLO MWS_STATE_CLOSED

/* Written out independently of src/core/state_machine.c, from DESIGN.md. */
static const int expected[MWS__STATE_COUNT][MWS__EV_COUNT] = {
	/*          CONNECT OPENED RETRY FAIL CLOSE DUE NOW  DISC CLOSE */
	[DIS] = {CNG, X, X, X, X, X, X, X, CLO},
	[CNG] = {X, CON, REC, FAI, CLO, X, X, DIS, CLO},
	[CON] = {X, X, REC, FAI, CLO, X, X, DIS, CLO},
	[REC] = {X, X, X, FAI, X, CNG, CNG, DIS, CLO},
	[FAI] = {CNG, X, X, X, X, X, X, DIS, CLO},
	[CLO] = {X, X, X, X, X, X, X, X, X},
};

Test(state_machine, every_state_event_pair_matches_the_design_table)
{
	for (int s = 0; s < MWS__STATE_COUNT; s++)
		for (int e = 0; e < MWS__EV_COUNT; e++)
			cr_expect_eq(mws__sm_next(s, e), expected[s][e],
			             "state %d on %s: got %d, want %d", s, mws__event_name(e),
			             mws__sm_next(s, e), expected[s][e]);
}

Test(state_machine, closed_is_terminal)
{
	for (int e = 0; e < MWS__EV_COUNT; e++)
		cr_expect_eq(mws__sm_next(MWS_STATE_CLOSED, e), MWS__STATE_INVALID);
}

Test(state_machine, close_is_accepted_from_every_live_state)
{
	for (int s = 0; s < MWS_STATE_CLOSED; s++)
		cr_expect_eq(mws__sm_next(s, MWS__EV_CLOSE), MWS_STATE_CLOSED);
}

Test(state_machine, out_of_range_states_and_events_are_refused)
{
	cr_expect_eq(mws__sm_next(-1, MWS__EV_CONNECT), MWS__STATE_INVALID);
	cr_expect_eq(mws__sm_next(MWS__STATE_COUNT, MWS__EV_CONNECT), MWS__STATE_INVALID);
	cr_expect_eq(mws__sm_next(MWS_STATE_DISCONNECTED, -1), MWS__STATE_INVALID);
	cr_expect_eq(mws__sm_next(MWS_STATE_DISCONNECTED, MWS__EV_COUNT), MWS__STATE_INVALID);
}

Test(state_machine, every_event_has_a_distinct_name)
{
	for (int a = 0; a < MWS__EV_COUNT; a++) {
		cr_assert_not_null(mws__event_name(a));
		cr_expect_str_neq(mws__event_name(a), "UNKNOWN");
		for (int b = a + 1; b < MWS__EV_COUNT; b++)
			cr_expect_str_neq(mws__event_name(a), mws__event_name(b));
	}
	cr_expect_str_eq(mws__event_name(MWS__EV_RETRY_DUE), "RETRY_DUE");
	cr_expect_str_eq(mws__event_name(-3), "UNKNOWN");
	cr_expect_str_eq(mws__event_name(MWS__EV_COUNT), "UNKNOWN");
}
