/* The mws subcommands. Each gets argv with argv[0] = its own name and
 * returns the process exit status (2 for usage errors). */
#ifndef MWS_CLI_SUBCOMMANDS_H
#define MWS_CLI_SUBCOMMANDS_H

int mws_cmd_connect(int argc, char **argv);
int mws_cmd_serve(int argc, char **argv);
int mws_cmd_proxy(int argc, char **argv);
int mws_cmd_demo(int argc, char **argv);
int mws_cmd_cluster_client(int argc, char **argv);

#endif
