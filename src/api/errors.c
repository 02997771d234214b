/* Error names and sentences, generated from MWS_ERRNO_MAP. */
#include "managedws.h"

MWS_API const char *mws_strerror(int err)
{
	switch (err) {
	case MWS_OK:
		return "success";
#define MWS__ERR_TEXT(name, value, text) case MWS_##name: return text;
		MWS_ERRNO_MAP(MWS__ERR_TEXT)
#undef MWS__ERR_TEXT
	}
	return "unknown error";
}

MWS_API const char *mws_err_name(int err)
{
	switch (err) {
	case MWS_OK:
		return "MWS_OK";
#define MWS__ERR_NAME(name, value, text) case MWS_##name: return "MWS_" #name;
		MWS_ERRNO_MAP(MWS__ERR_NAME)
#undef MWS__ERR_NAME
	}
	return "MWS_UNKNOWN";
}

#define MWS__STR2(x) #x
#define MWS__STR(x) MWS__STR2(x)

MWS_API unsigned mws_version(void)
{
	return (MWS_VERSION_MAJOR << 16) | (MWS_VERSION_MINOR << 8) | MWS_VERSION_PATCH;
}

MWS_API const char *mws_version_string(void)
{
	return MWS__STR(MWS_VERSION_MAJOR) "." MWS__STR(MWS_VERSION_MINOR) "." MWS__STR(
		MWS_VERSION_PATCH);
}
