/* The flag parser and help printer for every mws subcommand. */
#include "flags.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_choice_name(const cli_choice *choices, int value)
{
	for (const cli_choice *c = choices; c && c->name; c++)
		if (c->value == value)
			return c->name;
	return "?";
}

static void verror(const cli_command *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "mws %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: mws %s [FLAGS]%s%s (mws %s --help lists the flags)\n", cmd->name,
	        *cmd->args ? " " : "", cmd->args, cmd->name);
	return 2;
}

int cli_parse_status(int parse_rc)
{
	return parse_rc == CLI_PARSE_HELP ? 0 : 2;
}

static const cli_flag *find_flag(const cli_command *cmd, const char *name, size_t len)
{
	for (size_t i = 0; i < cmd->nflags; i++)
		if (strlen(cmd->flags[i].name) == len && !memcmp(cmd->flags[i].name, name, len))
			return &cmd->flags[i];
	return NULL;
}

static int parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;

	if (*s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int list_append(cli_list *l, const char *value)
{
	const char **items = realloc(l->items, (l->count + 1) * sizeof *items);

	if (!items)
		return -1;
	items[l->count++] = value;
	l->items = items;
	return 0;
}

/* Applies one value; prints the error and returns 2 if it is not valid. */
static int set_flag(const cli_command *cmd, const cli_flag *f, const char *v)
{
	long long i;
	uint64_t u;
	double d;
	char *end;
	bool bounded = f->min != 0 || f->max != 0;

	switch (f->kind) {
	case CLI_BOOL:
		*(int *)f->target = 1;
		return 0;
	case CLI_INT:
		if (parse_int(v, &i) || i < INT32_MIN || i > INT32_MAX ||
		    (bounded && (i < (long long)f->min || i > (long long)f->max)))
			return cli_usage_error(cmd, "--%s: '%s' is not a whole number in %.0f..%.0f",
			                       f->name, v, bounded ? f->min : (double)INT32_MIN,
			                       bounded ? f->max : (double)INT32_MAX);
		*(int *)f->target = (int)i;
		return 0;
	case CLI_U64:
		if (*v == '-' || parse_size(v, &u) || strpbrk(v, "kKmMgG"))
			return cli_usage_error(cmd, "--%s: '%s' is not a non-negative whole number",
			                       f->name, v);
		*(uint64_t *)f->target = u;
		return 0;
	case CLI_SIZE:
		if (parse_size(v, &u) || u > SIZE_MAX)
			return cli_usage_error(cmd, "--%s: '%s' is not a size (bytes, or with k, M, G)",
			                       f->name, v);
		*(size_t *)f->target = (size_t)u;
		return 0;
	case CLI_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(d) ||
		    (bounded && (d < f->min || d > f->max)))
			return cli_usage_error(cmd, "--%s: '%s' is not a number in %g..%g", f->name, v,
			                       f->min, f->max);
		*(double *)f->target = d;
		return 0;
	case CLI_STRING:
		*(const char **)f->target = v;
		return 0;
	case CLI_CHOICE:
		for (const cli_choice *c = f->choices; c->name; c++)
			if (!strcmp(c->name, v)) {
				*(int *)f->target = c->value;
				return 0;
			}
		{
			char names[256] = "";
			size_t n = 0;
			for (const cli_choice *c = f->choices; c->name && n < sizeof names; c++)
				n += (size_t)snprintf(names + n, sizeof names - n, "%s%s",
				                      c == f->choices ? "" : ", ", c->name);
			return cli_usage_error(cmd, "--%s: '%s' is not one of %s", f->name, v, names);
		}
	case CLI_LIST:
		if (list_append(f->target, v))
			return cli_usage_error(cmd, "out of memory");
		return 0;
	}
	return cli_usage_error(cmd, "--%s: unsupported flag kind", f->name);
}

static int parse_args(const cli_command *cmd, int argc, char **argv, const char **pos,
                      int max_pos, int *npos)
{
	bool flags_done = false;

	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (flags_done || a[0] != '-' || !strcmp(a, "-")) {
			if (*npos >= max_pos)
				return cli_usage_error(cmd, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			flags_done = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_print_help(cmd);
			return CLI_PARSE_HELP;
		}
		if (a[1] != '-')
			return cli_usage_error(cmd, "unknown flag '%s'", a);
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const cli_flag *f = find_flag(cmd, name, len);
		if (!f)
			return cli_usage_error(cmd, "unknown flag '--%.*s'", (int)len, name);
		const char *v = NULL;
		if (f->kind == CLI_BOOL) {
			if (eq)
				return cli_usage_error(cmd, "--%s takes no value", f->name);
		} else if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			return cli_usage_error(cmd, "--%s needs a value (%s)", f->name, f->metavar);
		}
		if (set_flag(cmd, f, v))
			return CLI_PARSE_ERROR;
	}
	return CLI_PARSE_OK;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const char **pos,
              int max_pos, int *npos)
{
	int rc = parse_args(cmd, argc, argv, pos, max_pos, npos);

	if (rc != CLI_PARSE_OK)
		cli_lists_free(cmd);
	return rc;
}

void cli_lists_free(const cli_command *cmd)
{
	for (size_t i = 0; i < cmd->nflags; i++)
		if (cmd->flags[i].kind == CLI_LIST) {
			cli_list *l = cmd->flags[i].target;
			free(l->items);
			l->items = NULL;
			l->count = 0;
		}
}

/* The default as text, read from the flag's target before parsing. */
static void format_default(const cli_flag *f, char *buf, size_t cap)
{
	switch (f->kind) {
	case CLI_BOOL:
		snprintf(buf, cap, "%s", *(int *)f->target ? "on" : "off");
		break;
	case CLI_INT:
		snprintf(buf, cap, "%d", *(int *)f->target);
		break;
	case CLI_U64:
		snprintf(buf, cap, "%" PRIu64, *(uint64_t *)f->target);
		break;
	case CLI_SIZE: {
		size_t v = *(size_t *)f->target;
		if (v && v % (1u << 20) == 0)
			snprintf(buf, cap, "%zuM", v >> 20);
		else if (v && v % 1024 == 0)
			snprintf(buf, cap, "%zuk", v >> 10);
		else
			snprintf(buf, cap, "%zu", v);
		break;
	}
	case CLI_DOUBLE:
		snprintf(buf, cap, "%g", *(double *)f->target);
		break;
	case CLI_STRING: {
		const char *s = *(const char **)f->target;
		snprintf(buf, cap, "%s", s ? s : "none");
		break;
	}
	case CLI_CHOICE:
		snprintf(buf, cap, "%s", cli_choice_name(f->choices, *(int *)f->target));
		break;
	case CLI_LIST:
		snprintf(buf, cap, "none; repeatable");
		break;
	}
}

void cli_print_help(const cli_command *cmd)
{
	size_t width = 0;

	printf("usage: mws %s [FLAGS]%s%s\n\n%s\n\nflags:\n", cmd->name, *cmd->args ? " " : "",
	       cmd->args, cmd->summary);
	for (size_t i = 0; i < cmd->nflags; i++) {
		const cli_flag *f = &cmd->flags[i];
		size_t w = strlen(f->name) + (f->metavar ? strlen(f->metavar) + 1 : 0);
		width = w > width ? w : width;
	}
	for (size_t i = 0; i < cmd->nflags; i++) {
		const cli_flag *f = &cmd->flags[i];
		char left[96], def[64];
		snprintf(left, sizeof left, "%s%s%s", f->name, f->metavar ? " " : "",
		         f->metavar ? f->metavar : "");
		format_default(f, def, sizeof def);
		printf("  --%-*s  %s", (int)width, left, f->help);
		for (const cli_choice *c = f->kind == CLI_CHOICE ? f->choices : NULL; c && c->name;
		     c++)
			printf("%s%s", c == f->choices ? " [" : "|", c->name);
		printf("%s (default: %s)\n", f->kind == CLI_CHOICE ? "]" : "", def);
	}
	printf("  --%-*s  %s\n", (int)width, "help", "print this help and exit");
	if (cmd->epilogue)
		printf("\n%s", cmd->epilogue);
}
