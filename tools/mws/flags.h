/* A table-driven flag parser shared by the mws subcommands.
 *
 * Each subcommand describes its flags once, in a table of cli_flag; the
 * same table parses argv and prints --help. A flag's target holds its
 * default before parsing, so --help prints the defaults from the very
 * variables the program then uses: they cannot drift apart. */
#ifndef MWS_CLI_FLAGS_H
#define MWS_CLI_FLAGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum cli_flag_kind {
	CLI_BOOL,   /* int: present -> 1; takes no value */
	CLI_INT,    /* int within [min, max] */
	CLI_U64,    /* uint64_t */
	CLI_SIZE,   /* size_t, with an optional k/M/G suffix (1024-based) */
	CLI_DOUBLE, /* double within [min, max] */
	CLI_STRING, /* const char * (points into argv) */
	CLI_CHOICE, /* int: one of `choices` */
	CLI_LIST,   /* cli_list: repeatable, each value appended */
} cli_flag_kind;

typedef struct cli_choice {
	const char *name;
	int value;
} cli_choice;

/* Values of a repeatable flag, pointing into argv. */
typedef struct cli_list {
	const char **items;
	size_t count;
} cli_list;

typedef struct cli_flag {
	const char *name;    /* "heartbeat-interval", used as --heartbeat-interval */
	const char *metavar; /* "MS"; NULL for CLI_BOOL */
	cli_flag_kind kind;
	void *target;
	double min, max;     /* CLI_INT, CLI_DOUBLE; both 0: no bound */
	const cli_choice *choices; /* CLI_CHOICE, ended by {NULL, 0} */
	const char *help;
} cli_flag;

typedef struct cli_command {
	const char *name;     /* "connect" */
	const char *args;     /* "URL", or "" */
	const char *summary;  /* a paragraph under the usage line */
	const cli_flag *flags;
	size_t nflags;
	const char *epilogue; /* exit codes and examples; may be NULL */
} cli_command;

/* The bounds of a duration flag in milliseconds (up to a day): CLI_MS
 * where 0 would mean "the library default", CLI_MS0 where 0 is a value. */
#define CLI_MS 1, 86400000
#define CLI_MS0 0, 86400000

/* Rows for the flags several subcommands share, worded once. */
#define CLI_FLAG_VERBOSE(target) \
	{"verbose", NULL, CLI_BOOL, target, 0, 0, NULL, "library log lines on stderr"}
#define CLI_FLAG_SEED(target, what) \
	{"seed", "N", CLI_U64, target, 0, 0, NULL, what ", 0 = from the OS"}

enum { CLI_PARSE_OK = 0, CLI_PARSE_HELP = 1, CLI_PARSE_ERROR = 2 };

/* Parses argv[1..argc-1] (argv[0] is the subcommand's name). Positional
 * arguments go to pos[0..max_pos-1] and their number to *npos; "--" ends
 * the flags. Returns CLI_PARSE_OK, CLI_PARSE_HELP (help printed on stdout)
 * or CLI_PARSE_ERROR (one line and a usage hint printed on stderr); the
 * last two are also the exit status less one, see cli_parse_status(). A
 * CLI_LIST flag's items are malloc'ed: after CLI_PARSE_OK free them with
 * cli_lists_free(); otherwise cli_parse() has freed them. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const char **pos,
              int max_pos, int *npos);

/* The exit status for a cli_parse() result other than CLI_PARSE_OK:
 * 0 after --help, 2 after a usage error. */
int cli_parse_status(int parse_rc);

/* Frees what cli_parse() allocated for the command's CLI_LIST flags. */
void cli_lists_free(const cli_command *cmd);

/* Prints the help text: usage, summary, every flag with its default. */
void cli_print_help(const cli_command *cmd);

/* The error path every subcommand shares: "mws NAME: <message>" and the
 * usage hint on stderr. Returns 2, the usage exit status. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A runtime error: "mws NAME: <message>" on stderr, without a hint. */
void cli_error(const cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The name of `value` among `choices`, or "?". */
const char *cli_choice_name(const cli_choice *choices, int value);

#define CLI_NFLAGS(table) (sizeof(table) / sizeof((table)[0]))

#endif
