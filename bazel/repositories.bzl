"""Declares every external repository of the build, all from Debian packages.

Usage, from WORKSPACE:

    load("//bazel:repositories.bzl", "system_repositories")
    system_repositories()

Nothing here downloads: Bazel's own rules come from /usr/share/bazel and the
libraries are the system's gRPC, protobuf, Abseil, civetweb and GoogleTest.
"""

load("//bazel:debian_rules_cc.bzl", "debian_rules_cc")
load("//bazel:system_libraries.bzl", "system_libraries")

def system_repositories():
    debian_rules_cc(name = "rules_cc")

    native.local_repository(
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )

    native.local_repository(
        name = "platforms",
        path = "/usr/share/bazel/platforms",
    )

    # `bazel test` resolves the coverage tools even when not collecting
    # coverage; Bazel would download them. The stand-in makes `bazel coverage`
    # unsupported offline, which is documented in the README.
    native.local_repository(
        name = "remote_coverage_tools",
        path = "bazel/remote_coverage_tools",
    )

    system_libraries(
        name = "com_google_protobuf",
        build_file = "//bazel/com_google_protobuf:BUILD.system",
        pkg_config_modules = ["protobuf"],
        symlinks = {
            "google/protobuf": "/usr/include/google/protobuf",
            "protoc": "/usr/bin/protoc",
        },
    )

    system_libraries(
        name = "com_github_grpc_grpc",
        build_file = "//bazel/com_github_grpc_grpc:BUILD.system",
        symlinks = {
            "grpc/health/v1/health.proto": "/usr/share/grpc-proto/grpc/health/v1/health.proto",
            "grpc/reflection/v1alpha/reflection.proto": "/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto",
            "grpc_cpp_plugin": "/usr/bin/grpc_cpp_plugin",
        },
        extra_files = {
            "//bazel/com_github_grpc_grpc:bazel.BUILD": "bazel/BUILD",
            "//bazel/com_github_grpc_grpc:cc_grpc_library.bzl": "bazel/cc_grpc_library.bzl",
            "//bazel/com_github_grpc_grpc:health.BUILD": "grpc/health/v1/BUILD",
            "//bazel/com_github_grpc_grpc:reflection.BUILD": "grpc/reflection/v1alpha/BUILD",
        },
        pkg_config_modules = ["grpc++"],
    )

    system_libraries(
        name = "com_google_absl",
        build_file = "//bazel/com_google_absl:BUILD.system",
        extra_files = {
            "//bazel/com_google_absl:container.BUILD": "absl/container/BUILD",
            "//bazel/com_google_absl:flags.BUILD": "absl/flags/BUILD",
            "//bazel/com_google_absl:functional.BUILD": "absl/functional/BUILD",
            "//bazel/com_google_absl:status.BUILD": "absl/status/BUILD",
            "//bazel/com_google_absl:strings.BUILD": "absl/strings/BUILD",
            "//bazel/com_google_absl:synchronization.BUILD": "absl/synchronization/BUILD",
            "//bazel/com_google_absl:time.BUILD": "absl/time/BUILD",
            "//bazel/com_google_absl:types.BUILD": "absl/types/BUILD",
        },
        pkg_config_modules = [
            "absl_flags",
            "absl_flags_parse",
            "absl_flags_usage",
            "absl_function_ref",
            "absl_inlined_vector",
            "absl_span",
            "absl_status",
            "absl_statusor",
            "absl_str_format",
            "absl_strings",
            "absl_synchronization",
            "absl_time",
        ],
    )

    system_libraries(
        name = "com_github_civetweb_civetweb",
        build_file = "//bazel/com_github_civetweb_civetweb:BUILD.system",
        symlinks = {"civetweb.h": "/usr/include/civetweb.h"},
    )

    system_libraries(
        name = "com_github_google_benchmark",
        build_file = "//bazel/com_github_google_benchmark:BUILD.system",
        pkg_config_modules = ["benchmark"],
    )

    system_libraries(
        name = "com_google_googletest",
        build_file = "//bazel/com_google_googletest:BUILD.system",
        pkg_config_modules = ["gmock", "gtest", "gtest_main"],
    )
