"""A repository that wraps libraries installed by Debian packages.

Usage, from bazel/repositories.bzl:

    system_libraries(
        name = "com_github_grpc_grpc",
        build_file = "//bazel/com_github_grpc_grpc:BUILD.system",
        pkg_config_modules = ["grpc++", "protobuf"],
        symlinks = {"grpc": "/usr/share/grpc-proto/grpc"},
    )

The repository gets the BUILD file, the extra BUILD/.bzl files (so targets
keep their upstream labels, like `@com_google_absl//absl/flags:flag`), and
symlinks to system directories. It also writes `pkg_config.bzl`
defining `PKG_CONFIG_LINKOPTS`, a dict from each of `pkg_config_modules` to
the complete link line pkg-config reports: the only reliable list for gRPC,
which pulls in a few dozen Abseil libraries.
"""

def _system_libraries_impl(repository_ctx):
    repository_ctx.symlink(repository_ctx.attr.build_file, "BUILD.bazel")
    for label, path in repository_ctx.attr.extra_files.items():
        repository_ctx.symlink(label, path)
    for path, system_path in repository_ctx.attr.symlinks.items():
        if not repository_ctx.path(system_path).exists:
            fail("%s is missing: run bazel/install_deps.sh" % system_path)
        repository_ctx.symlink(system_path, path)

    linkopts = {}
    for module in repository_ctx.attr.pkg_config_modules:
        result = repository_ctx.execute(["pkg-config", "--libs", module])
        if result.return_code != 0:
            fail("pkg-config --libs %s failed (run bazel/install_deps.sh): %s" % (
                module,
                result.stderr,
            ))
        linkopts[module] = [flag for flag in result.stdout.strip().split(" ") if flag]
    repository_ctx.file(
        "pkg_config.bzl",
        "PKG_CONFIG_LINKOPTS = %r\n" % linkopts,
        executable = False,
    )

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "extra_files": attr.label_keyed_string_dict(allow_files = True),
        "pkg_config_modules": attr.string_list(),
        "symlinks": attr.string_dict(),
    },
    local = True,
)
