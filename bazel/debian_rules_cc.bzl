"""Debian's rules_cc, patched to load under Bazel 4.2.3.

Debian ships rules_cc 0.0.4, whose cc_flags_supplier.bzl and compiler_flag.bzl
load `use_cpp_toolchain` from @bazel_tools; Bazel 4.2.3 does not have it yet.
This rule mirrors the tree with symlinks and writes those two files with the
helper replaced by the toolchain type it returns, so BUILD files can keep
loading `@rules_cc//cc:defs.bzl` as newer Bazel versions require.
"""

_DEBIAN_RULES_CC = "/usr/share/bazel/rules/cc"

_PATCHED_FILES = [
    "cc/private/rules_impl/cc_flags_supplier.bzl",
    "cc/private/rules_impl/compiler_flag.bzl",
]

def _patch(repository_ctx, source, relative):
    original = repository_ctx.read(source)
    patched = original.replace(
        '"find_cpp_toolchain", "use_cpp_toolchain")',
        '"find_cpp_toolchain")',
    ).replace(
        "use_cpp_toolchain()",
        '["@bazel_tools//tools/cpp:toolchain_type"]',
    )
    if patched == original:
        fail("the rules_cc patch no longer applies to " + relative)
    repository_ctx.file(relative, patched, executable = False)

def _mirror(repository_ctx, source):
    # Directories on the way to a patched file are recreated; everything
    # else is a symlink into the Debian package. (Starlark has no recursion.)
    expanded = {}
    for relative in _PATCHED_FILES:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            expanded["/".join(parts[:depth])] = True

    pending = [("", source)]
    for _ in range(len(expanded) + 1):
        if not pending:
            break
        relative, directory = pending.pop()
        for entry in directory.readdir():
            child = relative + "/" + entry.basename if relative else entry.basename
            if child in _PATCHED_FILES:
                _patch(repository_ctx, entry, child)
            elif child in expanded:
                pending.append((child, entry))
            else:
                repository_ctx.symlink(entry, child)

def _debian_rules_cc_impl(repository_ctx):
    source = repository_ctx.path(_DEBIAN_RULES_CC)
    if not source.exists:
        fail("%s is missing: run bazel/install_deps.sh (package bazel-rules-cc)" % _DEBIAN_RULES_CC)
    _mirror(repository_ctx, source)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    local = True,
)
