#!/usr/bin/env node
// A graphmill change consumer in Node (docs/consumers.md): follows
// Graph.Subscribe with a bearer token over TLS, keeps a copy of the graph in
// memory from each change's JupiterOne flat JSON (object_json), and resumes
// after the last sequence it saw when the stream breaks.
//
//   node subscribe.js --server HOST:PORT --token-file FILE
//       [--tls-ca-file CA.pem [--tls-cert-file C.pem --tls-key-file K.pem]]
//       [--instance ID]... [--from SEQ] [--raw] [--until-caught-up]
//       [--proto-dir DIR]
//
// stdout: one JSON line per change, {"sequence","kind","instanceId","object"}
// with `object` the parsed flat JSON. stderr: "# caught up at sequence N: E
// entities, R relationships" after the backlog, and reconnect notices. The
// token is read from a file (not argv, which other users can see) and never
// printed.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function usage(message) {
  process.stderr.write(`subscribe.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    server: process.env.GRAPHMILL_SERVER || '127.0.0.1:7400',
    tokenFile: '',
    caFile: '',
    certFile: '',
    keyFile: '',
    instances: [],
    from: '0',
    raw: false,
    untilCaughtUp: false,
    // The repository's proto/ when run from examples/consumers/node.
    protoDir: path.join(__dirname, '..', '..', '..', 'proto'),
  };
  const valued = {
    '--server': (v) => { options.server = v; },
    '--token-file': (v) => { options.tokenFile = v; },
    '--tls-ca-file': (v) => { options.caFile = v; },
    '--tls-cert-file': (v) => { options.certFile = v; },
    '--tls-key-file': (v) => { options.keyFile = v; },
    '--instance': (v) => { options.instances.push(v); },
    '--from': (v) => { options.from = v; },
    '--proto-dir': (v) => { options.protoDir = v; },
  };
  for (let i = 0; i < argv.length; ++i) {
    let arg = argv[i];
    let value;
    const equals = arg.indexOf('=');
    if (arg.startsWith('--') && equals > 0) {  // --flag=value
      value = arg.slice(equals + 1);
      arg = arg.slice(0, equals);
    }
    if (value !== undefined && !(arg in valued)) {
      usage(`unknown argument '${arg}' (or it takes no value)`);
    } else if (arg === '--raw') {
      options.raw = true;
    } else if (arg === '--until-caught-up') {
      options.untilCaughtUp = true;
    } else if (arg in valued) {
      if (value === undefined) {
        if (i + 1 >= argv.length) usage(`${arg} needs a value`);
        value = argv[++i];
      }
      valued[arg](value);
    } else {
      usage(`unknown argument '${arg}'`);
    }
  }
  if (!options.tokenFile) usage('--token-file is required');
  if (!/^[0-9]+$/.test(options.from)) usage('--from must be a sequence >= 0');
  if (!!options.certFile !== !!options.keyFile) {
    usage('--tls-cert-file and --tls-key-file go together');
  }
  return options;
}

// TLS with the given CA (and client certificate for mTLS); without a CA,
// plaintext, which the coordinator serves only on loopback, so it is refused
// for any other address rather than sending the token in the clear.
function channelCredentials(options) {
  if (options.caFile) {
    const read = (file) => (file ? fs.readFileSync(file) : null);
    return grpc.credentials.createSsl(read(options.caFile),
                                      read(options.keyFile),
                                      read(options.certFile));
  }
  if (!/^(127\.[0-9.]+|localhost|\[::1\]):[0-9]+$/.test(options.server)) {
    usage(`${options.server} is not loopback: pass --tls-ca-file`);
  }
  return grpc.credentials.createInsecure();
}

// Codes after which a new stream, resuming after the last sequence seen, can
// succeed: the coordinator restarted or the connection dropped. Anything else
// (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, OUT_OF_RANGE...) needs a
// person or a snapshot, so it ends the program.
const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.ABORTED,
  grpc.status.INTERNAL, grpc.status.UNKNOWN,
]);
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10000;
const MAX_MESSAGE_BYTES = 16 << 20;  // common/grpc_limits.h

function main() {
  const options = parseArgs(process.argv.slice(2));
  const token = fs.readFileSync(options.tokenFile, 'utf8').trim();
  const definition = protoLoader.loadSync('graphmill/v1/graph.proto', {
    includeDirs: [options.protoDir],
    keepCase: true,    // field names as in the .proto: object_json, caught_up
    longs: String,     // int64 as decimal strings: no precision lost
    enums: String,     // "CHANGE_KIND_CREATED"
    oneofs: true,      // event.object says "entity" or "relationship"
    defaults: true,    // sequence 0 (a marker on an empty log) as '0'
  });
  const v1 = grpc.loadPackageDefinition(definition).graphmill.v1;
  // The coordinator sends messages of up to 16 MiB (an event with raw data);
  // gRPC's default limit is 4 MiB.
  const client = new v1.Graph(options.server, channelCredentials(options), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);

  // The graph as of `after`: _key -> flat object, per kind of object.
  const graph = {entity: new Map(), relationship: new Map()};
  let after = options.from;  // a string: int64 stays exact
  let backoffMs = FIRST_BACKOFF_MS;
  let stopping = false;

  const subscribe = () => {
    const call = client.Subscribe({
      instance_ids: options.instances,
      after_sequence: after,
      include_raw_data: options.raw,
      include_object_json: true,
      mark_caught_up: true,
    }, metadata);
    call.on('data', (event) => {
      backoffMs = FIRST_BACKOFF_MS;  // progress: the next failure is new
      after = event.sequence;
      if (event.caught_up) {
        process.stderr.write(
            `# caught up at sequence ${event.sequence}: ` +
            `${graph.entity.size} entities, ` +
            `${graph.relationship.size} relationships\n`);
        if (options.untilCaughtUp) {
          stopping = true;
          call.cancel();
          client.close();
        }
        return;
      }
      const object = JSON.parse(event.object_json);
      const objects = graph[event.object];
      if (event.kind === 'CHANGE_KIND_DELETED') {
        objects.delete(object._key);
      } else {
        objects.set(object._key, object);
      }
      process.stdout.write(JSON.stringify({
        sequence: event.sequence,
        kind: event.kind,
        instanceId: event.instance_id,
        object,
      }) + '\n');
    });
    call.on('error', (error) => {
      if (stopping) return;  // our own cancel after the marker
      if (!RETRYABLE.has(error.code)) {
        // error.details is the server's message; the token is not in it.
        process.stderr.write(
            `subscribe.js: ${grpc.status[error.code]}: ${error.details}\n`);
        process.exit(1);
      }
      process.stderr.write(
          `subscribe.js: ${grpc.status[error.code]}: ${error.details}; ` +
          `reconnecting in ${backoffMs}ms to resume after sequence ` +
          `${after}\n`);
      setTimeout(subscribe, backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    });
  };
  subscribe();
}

main();
