/* mws: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "managedws.h"
#include "subcommands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{"connect", mws_cmd_connect, "a managed client: stdin lines out, messages to stdout"},
	{"serve", mws_cmd_serve, "a server: echo, broadcast or sink, graceful on SIGTERM"},
	{"proxy", mws_cmd_proxy, "a fault-injecting TCP proxy (pass, delay, blackhole, reset, refuse)"},
	{"demo", mws_cmd_demo, "a live, scripted tour of reconnection on 127.0.0.1"},
	{"cluster-client", mws_cmd_cluster_client,
	 "N mws.v1 clients checking numbered echoes (scripts/cluster.sh)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mws COMMAND [FLAGS] [ARGS]\n\n"
	             "WebSocket connections that stay up (managedws %s).\n\ncommands:\n",
	        mws_version_string());
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].what);
	fprintf(out, "\n'mws COMMAND --help' lists a command's flags; 'mws --version' prints the "
	             "version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "mws: missing command\nusage: mws COMMAND [FLAGS] (mws --help lists "
		                "the commands)\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
		printf("mws %d.%d.%d (libmanagedws %s)\n", MWS_VERSION_MAJOR, MWS_VERSION_MINOR,
		       MWS_VERSION_PATCH, mws_version_string());
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mws: unknown command '%s'\nusage: mws COMMAND [FLAGS] (mws --help "
	                "lists the commands)\n", cmd);
	return 2;
}
