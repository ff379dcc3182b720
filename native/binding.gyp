{
  "targets": [
    {
      "target_name": "tjfs_fuse",
      "sources": ["tjfs_fuse.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
