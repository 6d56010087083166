"""cc_grpc_library for the system gRPC: C++ service stubs from a proto_library.

Usage, as with upstream gRPC's rule of the same name (grpc_only mode):

    load("@com_github_grpc_grpc//bazel:cc_grpc_library.bzl", "cc_grpc_library")

    cc_grpc_library(
        name = "messaging_cc_grpc",
        srcs = [":messaging_proto"],
        deps = [":messaging_cc_proto"],
    )

The messages themselves come from the native cc_proto_library in `deps`;
this rule only runs Debian's grpc_cpp_plugin.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def _import_path(source):
    root = source.owner.workspace_root
    return source.path[len(root) + 1:] if root else source.path

def _grpc_cc_sources_impl(ctx):
    proto_info = ctx.attr.srcs[0][ProtoInfo]
    headers = []
    sources = []
    arguments = ctx.actions.args()
    arguments.add(ctx.executable._plugin, format = "--plugin=protoc-gen-grpc=%s")
    for proto_path in proto_info.transitive_proto_path.to_list():
        arguments.add("-I" + proto_path)

    output_root = None
    for source in proto_info.direct_sources:
        import_path = _import_path(source)
        stem = import_path[:-len(".proto")]
        package_relative = stem[len(ctx.label.package) + 1:] if ctx.label.package else stem
        header = ctx.actions.declare_file(package_relative + ".grpc.pb.h")
        headers.append(header)
        sources.append(ctx.actions.declare_file(package_relative + ".grpc.pb.cc"))
        output_root = header.path[:-len(stem + ".grpc.pb.h")]
        arguments.add(import_path)

    arguments.add("--grpc_out=" + output_root)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [arguments],
        inputs = proto_info.transitive_sources,
        tools = [ctx.executable._plugin],
        outputs = headers + sources,
        mnemonic = "GrpcCppPlugin",
        progress_message = "Generating gRPC C++ stubs for " + str(ctx.label),
    )
    return [
        DefaultInfo(files = depset(headers + sources)),
        OutputGroupInfo(headers = depset(headers), sources = depset(sources)),
    ]

_grpc_cc_sources = rule(
    implementation = _grpc_cc_sources_impl,
    attrs = {
        "srcs": attr.label_list(mandatory = True, providers = [ProtoInfo]),
        "_plugin": attr.label(
            default = "@com_github_grpc_grpc//:grpc_cpp_plugin",
            executable = True,
            allow_single_file = True,
            cfg = "host",
        ),
        "_protoc": attr.label(
            default = "@com_google_protobuf//:protoc",
            executable = True,
            allow_single_file = True,
            cfg = "host",
        ),
    },
)

def cc_grpc_library(name, srcs, deps, visibility = None, **kwargs):
    if len(srcs) != 1:
        fail("cc_grpc_library takes exactly one proto_library in srcs")
    _grpc_cc_sources(name = name + "_generated", srcs = srcs)
    native.filegroup(
        name = name + "_headers",
        srcs = [":%s_generated" % name],
        output_group = "headers",
    )
    native.filegroup(
        name = name + "_sources",
        srcs = [":%s_generated" % name],
        output_group = "sources",
    )
    cc_library(
        name = name,
        srcs = [":%s_sources" % name],
        hdrs = [":%s_headers" % name],
        deps = deps + ["@com_github_grpc_grpc//:grpc++"],
        visibility = visibility,
        **kwargs
    )
