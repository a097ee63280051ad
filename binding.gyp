# The Node addon: native/binding/addon.cc linked against the Rust engine's static library.
# Built by scripts/build-addon.js, which passes --nodedir so node-gyp never downloads headers.
{
  "targets": [
    {
      "target_name": "strand",
      "sources": ["native/binding/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-std=gnu++1y", "-std=gnu++17", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "libraries": [
        "<(module_root_dir)/native/target/release/libstrand_engine.a",
        "-lpthread",
        "-ldl",
        "-lm"
      ],
      # Keep the Rust runtime's symbols private to the addon.
      "ldflags": ["-Wl,--exclude-libs,ALL"]
    }
  ]
}
