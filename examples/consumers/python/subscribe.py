#!/usr/bin/python3
"""A graphmill change consumer in Python (docs/consumers.md).

Follows Graph.Subscribe with a bearer token over TLS, keeps a copy of the graph
in memory from each change's JupiterOne flat JSON (object_json), and resumes
after the last sequence it saw when the stream breaks.

  subscribe.py --server HOST:PORT --token-file FILE
      [--tls-ca-file CA.pem [--tls-cert-file C.pem --tls-key-file K.pem]]
      [--instance ID]... [--from SEQ] [--raw] [--until-caught-up]
      [--proto-dir DIR]

stdout: one JSON line per change, {"sequence","kind","instanceId","object"}
with `object` the parsed flat JSON. stderr: "# caught up at sequence N: E
entities, R relationships" after the backlog, and reconnect notices. The token
is read from a file (not argv, which other users can see) and never printed.

Needs grpcio (Debian: python3-grpcio) and, to generate the stubs from the
.proto files at start, protoc with grpc_python_plugin (Debian:
protobuf-compiler, protobuf-compiler-grpc) or a grpcio-tools recent enough
for proto3 `optional` (Debian 12's python3-grpc-tools 1.14 is not).
"""

import argparse
import atexit
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

# Codes after which a new stream, resuming after the last sequence seen, can
# succeed: the coordinator restarted or the connection dropped. Anything else
# (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, OUT_OF_RANGE...) needs a
# person or a snapshot, so it ends the program.
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 10.0
# The coordinator sends messages of up to 16 MiB (an event with raw data,
# common/grpc_limits.h); gRPC's default limit is 4 MiB.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 16 << 20)]

PROTO = "graphmill/v1/graph.proto"


def load_stubs(proto_dir):
    """Generates graph_pb2 and graph_pb2_grpc into a temporary directory and
    imports them: nothing generated lives in the repository, and the stubs
    always match the .proto files."""
    out = tempfile.mkdtemp(prefix="graphmill-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = (os.environ.get("GRPC_PYTHON_PLUGIN")
              or shutil.which("grpc_python_plugin"))
    if protoc and plugin:
        command = [protoc, f"--plugin=protoc-gen-grpc_python={plugin}"]
    else:
        command = [sys.executable, "-m", "grpc_tools.protoc"]
    command += [f"-I{proto_dir}", f"--python_out={out}",
                f"--grpc_python_out={out}", os.path.join(proto_dir, PROTO)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"subscribe.py: generating stubs failed ({command[0]}): "
                 f"{result.stderr.strip()}")
    sys.path.insert(0, out)
    return (importlib.import_module("graphmill.v1.graph_pb2"),
            importlib.import_module("graphmill.v1.graph_pb2_grpc"))


def channel(args):
    """TLS with the given CA (and client certificate for mTLS); without a CA,
    plaintext, which the coordinator serves only on loopback, so it is refused
    for any other address rather than sending the token in the clear."""
    if args.tls_ca_file:
        def read(path):
            if not path:
                return None
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.tls_ca_file),
            private_key=read(args.tls_key_file),
            certificate_chain=read(args.tls_cert_file))
        return grpc.secure_channel(args.server, credentials, CHANNEL_OPTIONS)
    if not re.fullmatch(r"(127\.[0-9.]+|localhost|\[::1\]):[0-9]+",
                        args.server):
        sys.exit(f"subscribe.py: {args.server} is not loopback: "
                 "pass --tls-ca-file")
    return grpc.insecure_channel(args.server, CHANNEL_OPTIONS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server",
                        default=os.environ.get("GRAPHMILL_SERVER",
                                               "127.0.0.1:7400"))
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--tls-ca-file")
    parser.add_argument("--tls-cert-file")
    parser.add_argument("--tls-key-file")
    parser.add_argument("--instance", action="append", default=[])
    parser.add_argument("--from", dest="after", type=int, default=0)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--until-caught-up", action="store_true")
    parser.add_argument(
        "--proto-dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "..", "proto"))
    args = parser.parse_args()
    if args.after < 0:
        parser.error("--from must be a sequence >= 0")
    if bool(args.tls_cert_file) != bool(args.tls_key_file):
        parser.error("--tls-cert-file and --tls-key-file go together")

    with open(args.token_file) as f:
        token = f.read().strip()
    graph_pb2, graph_pb2_grpc = load_stubs(args.proto_dir)
    stub = graph_pb2_grpc.GraphStub(channel(args))
    metadata = (("authorization", f"Bearer {token}"),)

    # The graph as of `after`: _key -> flat object, per kind of object.
    graph = {"entity": {}, "relationship": {}}
    after = args.after
    backoff = FIRST_BACKOFF_S
    while True:
        request = graph_pb2.SubscribeRequest(
            instance_ids=args.instance, after_sequence=after,
            include_raw_data=args.raw, include_object_json=True,
            mark_caught_up=True)
        stream = stub.Subscribe(request, metadata=metadata)
        try:
            for event in stream:
                backoff = FIRST_BACKOFF_S  # progress: the next failure is new
                after = event.sequence
                if event.HasField("caught_up"):
                    print(f"# caught up at sequence {event.sequence}: "
                          f"{len(graph['entity'])} entities, "
                          f"{len(graph['relationship'])} relationships",
                          file=sys.stderr, flush=True)
                    if args.until_caught_up:
                        stream.cancel()
                        return 0
                    continue
                obj = json.loads(event.object_json)
                objects = graph[event.WhichOneof("object")]
                if event.kind == graph_pb2.CHANGE_KIND_DELETED:
                    objects.pop(obj["_key"], None)
                else:
                    objects[obj["_key"]] = obj
                print(json.dumps({
                    "sequence": str(event.sequence),
                    "kind": graph_pb2.ChangeKind.Name(event.kind),
                    "instanceId": event.instance_id,
                    "object": obj,
                }, separators=(",", ":")), flush=True)
            return 0  # the server ended the stream
        except grpc.RpcError as error:
            # details() is the server's message; the token is not in it.
            message = f"{error.code().name}: {error.details()}"
            if error.code() not in RETRYABLE:
                print(f"subscribe.py: {message}", file=sys.stderr)
                return 1
            print(f"subscribe.py: {message}; reconnecting in "
                  f"{int(backoff * 1000)}ms to resume after sequence {after}",
                  file=sys.stderr, flush=True)
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


if __name__ == "__main__":
    sys.exit(main())
