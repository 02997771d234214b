/* Shared by the tests that run clients which are not ours (a Python or Node
 * script, a browser) against our server: the script runs as a child,
 * prints one JSON object describing what it saw, and the test reads it. */
#ifndef MWS_TEST_JSON_PEERS_H
#define MWS_TEST_JSON_PEERS_H

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <linux/close_range.h>

#include "server_common.h"

#define PEERS MWS_SOURCE_DIR "/tests/peers/"

/* Runs argv, collects its stdout into out; kills it after timeout_ms.
 * Returns its exit code, or -1 if it was killed or could not start. */
static inline int run_child(const char *const argv[], char *out, size_t cap, int timeout_ms)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		/* Criterion's own pipes must not live on in the peer. */
		close_range(3, ~0u, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	int killed = 0;
	for (;;) {
		uint64_t now = mws_test_now_ms();
		if (now >= end) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		if (poll(&pf, 1, (int)(end - now)) <= 0)
			continue;
		char tmp[4096];
		ssize_t n = read(p[0], tmp, sizeof tmp);
		if (n <= 0)
			break;
		size_t take = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
		memcpy(out + got, tmp, take);
		got += take;
	}
	out[got] = '\0';
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (killed || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static inline cJSON *run_json(const char *const argv[], int timeout_ms)
{
	static char out[1 << 16];
	int rc = run_child(argv, out, sizeof out, timeout_ms);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j != NULL, "%s exited %d, printed: %s", argv[1], rc, out);
	cr_expect_eq(rc, 0, "%s exited %d: %s", argv[1], rc, out);
	return j;
}

static inline int json_true(const cJSON *j, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, key));
}

static inline double json_num(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static inline mws_server *json_server(mws_ctx **ctx, rec *r, mws_server_config *cfg)
{
	mws_server_config dflt;
	if (!cfg) {
		mws_server_config_init(&dflt);
		cfg = &dflt;
	}
	cfg->json_protocol = 1;
	cfg->json_allow_invalid = 1; /* the peers echo plain text ("hello") too */
	cr_assert_eq(mws_ctx_new(ctx, NULL), 0);
	rec_init(r);
	r->echo = 1;
	return rec_server(*ctx, cfg, r);
}

static inline void expect_protocol_ok(const cJSON *j)
{
	const cJSON *ack = cJSON_GetObjectItemCaseSensitive(j, "ack_type");
	cr_expect(cJSON_IsString(ack) && !strcmp(ack->valuestring, "connection_ack"));
	cr_expect(json_true(j, "hb_ack_ok"), "heartbeat_ack");
	cr_expect(json_true(j, "text_echo_ok"));
	cr_expect(json_true(j, "binary_echo_ok"));
	cr_expect(json_true(j, "ok"));
}

#endif

