# The addon and the C core in one module, built by node-gyp alone. The core's
# files are listed by scripts/core-sources.js from deps/managedws/ (a copy the
# package ships); MWS_API= keeps them hidden (-fvisibility=hidden): the
# module exports only its Node-API entry point. hiredis, when installed, gives
# the Redis session store (sessionStore); without it that option is refused.
# libev (with libwebsockets' libev plugin at run time) gives the epoll event
# loop (MWS_EVENT_LOOP=epoll); without it that loop is refused.
{
  "targets": [
    {
      "target_name": "managedws",
      "sources": ["src/addon.c", "src/args.c", "src/client.c", "src/client_creds.c", "src/errors.c",
                  "src/events.c", "src/handle.c", "src/server.c", "src/server_auth.c",
                  "src/server_stats.c",
                  "<!@(node scripts/core-sources.js)"],
      "include_dirs": ["deps/managedws/include", "deps/managedws/src"],
      "defines": ["_GNU_SOURCE", "MWS_API=", "MWS_NODE_HAS_SERVER=1",
                  "<!@(pkg-config --exists hiredis && echo MWS_HAVE_HIREDIS=1 || true)",
                  "<!@(test -f /usr/include/ev.h && echo MWS_HAVE_LIBEV=1 || true)"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden",
                   "<!@(pkg-config --cflags libwebsockets msgpack libcjson)"],
      "libraries": ["<!@(pkg-config --libs libwebsockets msgpack libcjson)", "-lpthread",
                    "<!@(pkg-config --libs hiredis 2>/dev/null || true)",
                    "<!@(test -f /usr/include/ev.h && echo -lev || true)"]
    }
  ]
}
