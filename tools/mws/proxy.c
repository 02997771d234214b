/* mws proxy: the fault-injecting TCP proxy as a tool. Modes change by
 * lines typed on stdin and, with --control, over a small HTTP endpoint;
 * both listen only where the user says. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "fault_proxy.h"
#include "flags.h"
#include "subcommands.h"
#include "util.h"

static struct {
	const char *listen, *upstream, *control, *mode;
	int print_port, summary_ms;
} o;

static const cli_flag proxy_flags[] = {
	{"listen", "HOST:PORT", CLI_STRING, &o.listen, 0, 0, NULL,
	 "where clients connect (required; port 0 picks a free one)"},
	{"upstream", "HOST:PORT", CLI_STRING, &o.upstream, 0, 0, NULL,
	 "where connections are forwarded (required)"},
	{"control", "HOST:PORT", CLI_STRING, &o.control, 0, 0, NULL,
	 "HTTP control endpoint: GET /mode?set=blackhole, POST /mode, GET /stats"},
	{"mode", "CMD", CLI_STRING, &o.mode, 0, 0, NULL,
	 "initial mode: pass, delay=MS, blackhole, reset, refuse"},
	{"print-port", NULL, CLI_BOOL, &o.print_port, 0, 0, NULL,
	 "print 'PORT n' (and 'CONTROL n' with --control) first on stdout"},
	{"summary-interval", "MS", CLI_INT, &o.summary_ms, CLI_MS0, NULL,
	 "print the counters on stderr every MS; 0 = never"},
};

static const cli_command proxy_cmd = {
	"proxy", "",
	"A TCP proxy that misbehaves on request, to see how an application copes.\n"
	"Modes: pass; delay=MS (each chunk held MS); blackhole (a zombie network:\n"
	"sockets stay open, bytes vanish; connections caught in it stay zombies);\n"
	"reset (RST every connection, and new ones); refuse (stop listening).\n"
	"Type a mode on stdin (or 'upstream=HOST:PORT', 'mode', 'stats'); each\n"
	"command is answered by one line on stdout. SIGINT/SIGTERM stop it.",
	proxy_flags, CLI_NFLAGS(proxy_flags),
	"exit status:\n"
	"  0  stopped by SIGINT/SIGTERM\n"
	"  1  cannot listen or resolve an address\n"
	"  2  bad flag or address\n\n"
	"example:\n"
	"  mws proxy --listen 127.0.0.1:9000 --upstream 127.0.0.1:8080 --control 127.0.0.1:9001\n"
	"  curl '127.0.0.1:9001/mode?set=blackhole'\n",
};

static void stats_line(mws_fault_proxy *p, char *buf, size_t cap)
{
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(p, &st);
	snprintf(buf, cap,
	         "mode=%s accepted=%" PRIu64 " active=%" PRIu64 " bytes_up=%" PRIu64
	         " bytes_down=%" PRIu64 " held=%" PRIu64 " discarded=%" PRIu64 " resets=%" PRIu64
	         " upstream_failures=%" PRIu64,
	         mws_fault_mode_name(mws_fault_proxy_mode(p)), st.accepted, st.active, st.bytes_up,
	         st.bytes_down, st.queued, st.discarded, st.resets, st.upstream_failures);
}

int proxy_apply(mws_fault_proxy *p, const char *cmd, const char *source, char *reply,
                size_t cap)
{
	char line[300];
	size_t len;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	len = strcspn(cmd, "\r\n");
	while (len && (cmd[len - 1] == ' ' || cmd[len - 1] == '\t'))
		len--;
	snprintf(line, sizeof line, "%.*s", (int)len, cmd);
	if (!strcmp(line, "mode")) {
		snprintf(reply, cap, "ok mode=%s", mws_fault_mode_name(mws_fault_proxy_mode(p)));
		return 0;
	}
	if (!strcmp(line, "stats")) {
		char st[256];
		stats_line(p, st, sizeof st);
		snprintf(reply, cap, "ok %s", st);
		return 0;
	}
	int rc = mws_fault_proxy_command(p, line);
	if (rc == -1) {
		snprintf(reply, cap, "error: unknown command '%.60s' (pass, delay=MS, blackhole, "
		                     "reset, refuse, upstream=HOST:PORT, mode, stats)", line);
		return -1;
	}
	if (rc) {
		snprintf(reply, cap, "error: %s: %s", line, strerror(-rc));
		return -1;
	}
	if (!strncmp(line, "upstream=", 9))
		snprintf(reply, cap, "ok %s", line);
	else
		snprintf(reply, cap, "ok mode=%s", line);
	cli_log_line("%s (from %s)", line, source);
	return 0;
}

static int run(mws_fault_proxy *p, int sig_r, int control_fd)
{
	char in[4096], reply[320];
	size_t len = 0;
	int eof = 0;
	uint64_t summary_at = cli_now_ms();

	for (;;) {
		struct pollfd f[3] = {{.fd = sig_r, .events = POLLIN},
		                      {.fd = eof ? -1 : 0, .events = POLLIN},
		                      {.fd = control_fd, .events = POLLIN}};
		int timeout = o.summary_ms > 0 ? 250 : -1;
		if (poll(f, 3, timeout) < 0 && errno != EINTR)
			return 1;
		if (cli_signal_take(sig_r))
			return 0;
		if (f[2].revents)
			control_serve_one(control_fd, p);
		if (f[1].revents) {
			ssize_t n = read(0, in + len, sizeof in - 1 - len);
			if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
				eof = 1;
				cli_log_line("stdin closed; %s", control_fd >= 0
				                                     ? "commands over --control only"
				                                     : "mode fixed until stopped");
			} else if (n > 0) {
				len += (size_t)n;
			}
			char *nl;
			while ((nl = memchr(in, '\n', len)) || len == sizeof in - 1 || (eof && len)) {
				size_t l = nl ? (size_t)(nl - in) : len;
				in[l] = '\0';
				if (in[strspn(in, " \t\r")]) {
					proxy_apply(p, in, "stdin", reply, sizeof reply);
					printf("%s\n", reply);
					fflush(stdout);
				}
				size_t used = nl ? l + 1 : len;
				memmove(in, in + used, len - used);
				len -= used;
			}
		}
		uint64_t now = cli_now_ms();
		if (o.summary_ms > 0 && now - summary_at >= (uint64_t)o.summary_ms) {
			char st[256];
			stats_line(p, st, sizeof st);
			cli_log_line("summary %s", st);
			summary_at = now;
		}
	}
}

int mws_cmd_proxy(int argc, char **argv)
{
	const char *pos;
	int npos, lport, uport, cport = 0, bound_control = 0, control_fd = -1, status = 1;
	char lhost[256], uhost[256], chost[256], reply[320], control[300] = "";
	mws_fault_proxy *p = NULL;

	memset(&o, 0, sizeof o);
	o.mode = "pass";
	int rc = cli_parse(&proxy_cmd, argc, argv, &pos, 0, &npos);
	if (rc != CLI_PARSE_OK)
		return cli_parse_status(rc);
	if (!o.listen || !o.upstream)
		return cli_usage_error(&proxy_cmd, "--listen and --upstream are required");
	if (cli_parse_hostport(o.listen, lhost, sizeof lhost, &lport))
		return cli_usage_error(&proxy_cmd, "--listen '%s' is not HOST:PORT", o.listen);
	if (cli_parse_hostport(o.upstream, uhost, sizeof uhost, &uport) || uport == 0)
		return cli_usage_error(&proxy_cmd, "--upstream '%s' is not HOST:PORT", o.upstream);
	if (o.control && cli_parse_hostport(o.control, chost, sizeof chost, &cport))
		return cli_usage_error(&proxy_cmd, "--control '%s' is not HOST:PORT", o.control);

	int sig_r = cli_signals_install();
	if (sig_r < 0) {
		cli_error(&proxy_cmd, "%s", strerror(errno));
		return 1;
	}
	rc = mws_fault_proxy_start(&p, lhost, lport, uhost, uport);
	if (rc) {
		cli_error(&proxy_cmd, "cannot listen on %s or resolve %s: %s", o.listen, o.upstream,
		          strerror(-rc));
		return 1;
	}
	if (strcmp(o.mode, "pass") && proxy_apply(p, o.mode, "--mode", reply, sizeof reply)) {
		status = cli_usage_error(&proxy_cmd, "--mode: %s", reply);
		goto out;
	}
	if (o.control) {
		control_fd = control_listen(chost, cport, &bound_control);
		if (control_fd < 0) {
			cli_error(&proxy_cmd, "cannot listen on --control %s: %s", o.control,
			          strerror(-control_fd));
			goto out;
		}
	}
	if (o.print_port) {
		printf("PORT %d\n", mws_fault_proxy_port(p));
		if (o.control)
			printf("CONTROL %d\n", bound_control);
		fflush(stdout);
	}
	if (o.control)
		snprintf(control, sizeof control, " control=http://%s:%d/mode", chost, bound_control);
	cli_log_line("proxy %s:%d -> %s:%d mode=%s%s", lhost, mws_fault_proxy_port(p), uhost, uport,
	             mws_fault_mode_name(mws_fault_proxy_mode(p)), control);
	status = run(p, sig_r, control_fd);
out:
	if (control_fd >= 0)
		close(control_fd);
	mws_fault_proxy_stop(p);
	return status;
}
