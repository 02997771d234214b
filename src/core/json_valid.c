/* JSON validity with cJSON: one value, nothing but whitespace after it
 * (cJSON_ParseWithLength alone accepts trailing bytes). */
#include "core/json_valid.h"

#include <cjson/cJSON.h>

int mws__json_valid(const char *text, size_t len)
{
	if (!text || !len)
		return 0;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root)
		return 0;
	cJSON_Delete(root);
	for (const char *p = end; p && p < text + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return end != NULL;
}
