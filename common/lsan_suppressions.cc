// Leaks that LeakSanitizer (bazel test --config=asan) finds inside system
// libraries rather than this project's code. Linked into every binary; the
// function is only ever called by the sanitizer runtime.

// c-ares, gRPC's DNS resolver, keeps a small allocation per resolver that
// it never frees.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcares.so\n";
}
