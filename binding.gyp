{
  "targets": [
    {
      "target_name": "ringzero",
      "sources": [
        "native/addon.cc",
        "native/memory.cc",
        "native/sys.cc",
        "native/libpcap.cc"
      ],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "libraries": ["-ldl"]
    }
  ]
}
