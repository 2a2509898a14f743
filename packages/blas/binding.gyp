{
  "targets": [
    {
      "target_name": "vsae_blas",
      "sources": ["native/blas.cc"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-ldl"]
    }
  ]
}
