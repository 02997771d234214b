{
  "targets": [
    {
      "target_name": "managedws",
      "sources": ["src/addon.c", "src/args.c", "src/client.c", "src/errors.c",
                  "src/events.c", "src/handle.c", "src/server.c"],
      "include_dirs": ["../../include", "build-core"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-D_GNU_SOURCE"],
      "libraries": [
        "<(module_root_dir)/build-core/libmanagedws_static.a",
        "-lwebsockets", "-lmsgpackc", "-lcjson", "-lpthread",
        "-Wl,--exclude-libs,ALL"
      ]
    }
  ]
}
