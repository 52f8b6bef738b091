#!/usr/bin/env node
// Validates deploy/k8s offline: renders every overlay under deploy/k8s/overlays with the
// subset of kustomize the manifests use (resources, components, patches, namespace, images;
// implemented below, no kubectl needed), then checks every object
//   - against the Kubernetes OpenAPI schemas (npm kubernetes-models), and cert-manager's
//     Certificate and KEDA's ScaledObject against their CRD schemas (@kubernetes-models/...);
//   - for unknown fields, as `kubectl apply --validate=strict` would (from the models' type
//     declarations);
//   - against graphmill's deployment policies: restricted Pod Security, probes, disruption
//     budgets, per store (a SQLite file: one StatefulSet pod, its headless Service and claim
//     template; PostgreSQL: a Deployment of several replicas, rolled and drained one at a time,
//     spread over nodes, no volume claims, the password from a Secret and never in --store),
//     autoscaling on the task backlog, flags the binaries know and the image's ENTRYPOINT does
//     not already set, the secret key's file mode, and more (the check names below say which).
// When kubectl is on the PATH, the rendering is also compared with `kubectl kustomize`.
//
//   node tools/k8s-validate/validate.js              validate every overlay
//   node tools/k8s-validate/validate.js --self-test  also break the manifests on purpose,
//                                                    one way at a time, and expect a failure
// The packages come from package-lock.json (tools/setup runs npm ci). The last line is
// "k8s-validate: N passed, M failed"; the exit status is 1 if any check failed.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const OVERLAYS = path.join(ROOT, 'deploy', 'k8s', 'overlays');
const DOCKERFILE = path.join(ROOT, 'deploy', 'docker', 'Dockerfile');
const MODULES = path.join(HERE, 'node_modules');

function load(mod) {
  try {
    return require(mod);
  } catch (e) {
    console.error(`k8s-validate: cannot load ${mod} (${e.code || e.message}); run tools/setup ` +
                  '(it runs npm ci in tools/k8s-validate)');
    process.exit(2);
  }
}
const YAML = load('yaml');

const rel = (p) => path.relative(ROOT, p) || '.';
const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const id = (o) => `${o.kind}/${(o.metadata && o.metadata.name) || '?'}`;

// --- graphmill's facts the policies rely on ------------------------------------------------

const UID = 10001;
// Containers running graphmill's binaries, by container name: the Dockerfile target whose
// ENTRYPOINT they run and the source folders that define their flags.
const BINARIES = {
  coordinator: { target: 'coordinator', sources: ['coordinator', 'common'] },
  worker: { target: 'worker', sources: ['worker', 'common'] },
};
// Secrets the manifests use but do not contain (deploy/README.md says how to make them).
const EXTERNAL_SECRETS = {
  'graphmill-secret-key': 'made by hand: the key that encrypts instance secrets',
  'graphmill-worker-token': 'made by hand: a token with role worker',
  'graphmill-coordinator-tls': 'issued by cert-manager from the Certificate',
  'graphmill-postgres': 'made by hand: the PostgreSQL password (overlays/postgresql, as PGPASSWORD)',
};
const WORKER_DRAIN_DEFAULT = 30; // --drain_grace_seconds
// Pod Security Standards, "restricted" (kubernetes.io/docs/concepts/security/pod-security-standards).
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);

// --- YAML, as Kubernetes reads it (YAML 1.1: 0440 is octal) ---------------------------------

function parseYaml(text, where) {
  const out = [];
  for (const doc of YAML.parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors[0].message}`);
    const value = doc.toJS({ maxAliasCount: -1 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}
const loadYaml = (file) => parseYaml(fs.readFileSync(file, 'utf8'), rel(file));

// --- The kustomize subset -----------------------------------------------------------------

const KUSTOMIZATION_FIELDS = ['apiVersion', 'kind', 'resources', 'components', 'patches',
  'namespace', 'images'];
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding',
  'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'PersistentVolume',
  'ClusterIssuer', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
// Strategic merge: lists merged by key (the rest are replaced), as Kubernetes' types declare.
const MERGE_KEYS = { containers: 'name', initContainers: 'name', ephemeralContainers: 'name',
  volumes: 'name', volumeMounts: 'mountPath', env: 'name', imagePullSecrets: 'name',
  volumeDevices: 'devicePath', hostAliases: 'ip' };

function mergeKeyOf(field, items) {
  if (field === 'ports') return items.some((i) => isMap(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function strategicMerge(base, patch) {
  if (!isMap(patch)) return clone(patch);
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace' || !isMap(base)) {
    const { $patch, ...rest } = patch; // eslint-disable-line no-unused-vars
    return clone(rest);
  }
  const out = clone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && Array.isArray(out[k]) && mergeKeyOf(k, [...out[k], ...v])) {
      // As Kubernetes orders the result: the patch's items first (merged with the base's
      // item of the same key), then the base's other items.
      const key = mergeKeyOf(k, [...out[k], ...v]);
      const merged = [];
      const used = new Set();
      for (const item of v) {
        if (!isMap(item) || !(key in item)) throw new Error(`patch of list '${k}': an item without ${key}`);
        const i = out[k].findIndex((b) => isMap(b) && b[key] === item[key]);
        if (i >= 0) used.add(i);
        if (item.$patch !== 'delete') merged.push(strategicMerge(i >= 0 ? out[k][i] : undefined, item));
      }
      out[k] = [...merged, ...out[k].filter((_, i) => !used.has(i))];
    } else {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  return out;
}

function jsonPointer(pathText) {
  return pathText.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJson6902(obj, ops, where) {
  for (const op of ops) {
    const parts = jsonPointer(op.path);
    const last = parts.pop();
    let parent = obj;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : parent[p];
      if (parent === undefined) throw new Error(`${where}: ${op.op} ${op.path}: no such path in ${id(obj)}`);
    }
    if (op.op === 'add') {
      if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, clone(op.value));
      else parent[last] = clone(op.value);
    } else if (op.op === 'replace' || op.op === 'remove') {
      const exists = Array.isArray(parent) ? Number(last) < parent.length : last in parent;
      if (!exists) throw new Error(`${where}: ${op.op} ${op.path}: no such path in ${id(obj)}`);
      if (op.op === 'remove') {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
      } else if (Array.isArray(parent)) {
        parent[Number(last)] = clone(op.value);
      } else {
        parent[last] = clone(op.value);
      }
    } else {
      throw new Error(`${where}: JSON patch op '${op.op}' is not in validate.js's subset (add, replace, remove)`);
    }
  }
}

function selectTargets(objs, target, where) {
  const fits = (value, want) => want === undefined || new RegExp(`^(?:${want})$`).test(value || '');
  const found = objs.filter((o) => fits(o.kind, target.kind) && fits(o.metadata.name, target.name) &&
    fits(o.metadata.namespace, target.namespace) &&
    fits(o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '', target.group) &&
    fits(o.apiVersion.split('/').pop(), target.version));
  if (!found.length) throw new Error(`${where}: the patch's target ${JSON.stringify(target)} matches nothing`);
  return found;
}

function podSpecs(o) {
  const spec = o.spec || {};
  if (o.kind === 'Pod') return [spec];
  if (o.kind === 'CronJob') return [(((spec.jobTemplate || {}).spec || {}).template || {}).spec].filter(Boolean);
  return spec.template && spec.template.spec ? [spec.template.spec] : [];
}
const containersOf = (ps) => [...(ps.initContainers || []), ...(ps.containers || [])];

function splitImage(image) {
  let rest = image;
  let digest = '';
  let tag = '';
  const at = rest.indexOf('@');
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  return { name: rest, tag, digest };
}

// The objects `dir` renders. A Kustomization (kind Kustomization, or none) starts from nothing;
// a Component (kind Component, listed under `components`) starts from `accumulated`, the
// objects its parent has read so far, and adds its resources and applies its patches, namespace
// and images to all of them. As kustomize orders it: resources, then components (in order),
// then patches, namespace, images.
function kustomize(dir, accumulated) {
  const asComponent = accumulated !== undefined;
  const kfile = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!kfile) throw new Error(`${rel(dir)}: no kustomization.yaml`);
  const [k] = loadYaml(kfile);
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.includes(key)) {
      throw new Error(`${rel(kfile)}: '${key}' is not in the subset of kustomize that ` +
        `tools/k8s-validate/validate.js implements (${KUSTOMIZATION_FIELDS.join(', ')}): ` +
        'add it there, or use those');
    }
  }
  const kind = k.kind || 'Kustomization';
  if (asComponent && kind !== 'Component') throw new Error(`${rel(kfile)}: listed under components, but its kind is ${kind}, not Component`);
  if (!asComponent && kind !== 'Kustomization') throw new Error(`${rel(kfile)}: its kind is ${kind}; a ${kind} is listed under components, not resources`);
  let objs = asComponent ? accumulated : [];
  for (const r of k.resources || []) {
    const p = path.resolve(dir, r);
    if (!fs.existsSync(p)) throw new Error(`${rel(kfile)}: resource ${r} does not exist`);
    objs.push(...(fs.statSync(p).isDirectory() ? kustomize(p) : loadYaml(p)));
  }
  const seen = new Set();
  for (const o of objs) {
    if (!isMap(o) || !o.apiVersion || !o.kind || !isMap(o.metadata) || !o.metadata.name) {
      throw new Error(`${rel(dir)}: an object without apiVersion, kind or metadata.name: ${JSON.stringify(o).slice(0, 120)}`);
    }
    const key = `${o.kind}/${o.metadata.namespace || ''}/${o.metadata.name}`;
    if (seen.has(key)) throw new Error(`${rel(dir)}: ${id(o)} is defined twice`);
    seen.add(key);
  }
  for (const c of k.components || []) {
    const p = path.resolve(dir, c);
    if (!fs.existsSync(p) || !fs.statSync(p).isDirectory()) throw new Error(`${rel(kfile)}: component ${c} is not a directory`);
    objs = kustomize(p, objs);
  }
  for (const patch of k.patches || []) {
    const where = patch.path ? rel(path.resolve(dir, patch.path)) : `${rel(kfile)}: inline patch`;
    const docs = patch.path ? loadYaml(path.resolve(dir, patch.path)) : parseYaml(patch.patch, where);
    for (const doc of docs) {
      if (Array.isArray(doc)) {
        if (!patch.target) throw new Error(`${where}: a JSON patch needs a target`);
        for (const t of selectTargets(objs, patch.target, where)) applyJson6902(t, doc, where);
        continue;
      }
      // kustomize cannot parse a strategic merge patch without a kind and a name, even with a
      // target.
      if (!doc.kind || !isMap(doc.metadata) || !doc.metadata.name) throw new Error(`${where}: a strategic merge patch needs kind and metadata.name`);
      const targets = patch.target ? selectTargets(objs, patch.target, where)
        : objs.filter((o) => o.kind === doc.kind && o.metadata.name === (doc.metadata || {}).name);
      if (!targets.length) throw new Error(`${where}: patches ${id(doc)}, which the resources do not have`);
      // With a target, the patch's own apiVersion, kind, name and namespace do not rename the
      // targets (its labels and annotations are merged, as kustomize does).
      const body = clone(doc);
      if (patch.target) {
        for (const k of ['apiVersion', 'kind']) delete body[k];
        delete body.metadata.name;
        delete body.metadata.namespace;
        if (!Object.keys(body.metadata).length) delete body.metadata;
      }
      objs = objs.map((o) => (targets.includes(o) ? strategicMerge(o, body) : o))
        .filter((o) => o !== undefined);
    }
  }
  if (k.namespace) {
    for (const o of objs) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  for (const img of k.images || []) {
    for (const o of objs) {
      for (const ps of podSpecs(o)) {
        for (const c of containersOf(ps)) {
          const cur = splitImage(c.image || '');
          if (cur.name !== img.name) continue;
          const name = img.newName || cur.name;
          const tag = img.newTag !== undefined ? String(img.newTag) : cur.tag;
          const digest = img.digest || (img.newTag !== undefined ? '' : cur.digest);
          c.image = name + (digest ? `@${digest}` : tag ? `:${tag}` : '');
        }
      }
    }
  }
  return objs;
}

// --- Schemas -------------------------------------------------------------------------------

const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/cert-manager', '@kubernetes-models/keda'];

function modelOf(o) {
  for (const pkg of MODEL_PACKAGES) {
    let mod;
    try {
      mod = require(`${pkg}/${o.apiVersion}`);
    } catch (e) {
      continue;
    }
    if (typeof mod[o.kind] === 'function') {
      return { cls: mod[o.kind], dts: path.join(MODULES, pkg, o.apiVersion, `${o.kind}.d.ts`) };
    }
  }
  return null;
}

function schemaProblems(o) {
  const model = modelOf(o);
  if (!model) return [`${id(o)}: no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new model.cls(clone(o)).validate(); // eslint-disable-line new-cap
    return [];
  } catch (e) {
    const errors = e.errors || [{ instancePath: '', message: e.message }];
    return errors.map((err) => `${id(o)}: ${err.instancePath || '/'} ${err.message}` +
      (err.params && Object.keys(err.params).length ? ` ${JSON.stringify(err.params)}` : ''));
  }
}

// Unknown fields, from the models' TypeScript declarations (the JSON schemas they compile do
// not forbid extra properties; the API server drops or refuses them).
class TypeDeclarations {
  constructor() { this.files = new Map(); }

  static tokenize(text) {
    const tokens = [];
    const re = /\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|[^\s]/g;
    let m;
    while ((m = re.exec(text)) !== null) {
      const t = m[0];
      if (/^\s/.test(t) || t.startsWith('/*') || t.startsWith('//')) continue;
      tokens.push(t);
    }
    return tokens;
  }

  file(p) {
    if (this.files.has(p)) return this.files.get(p);
    const info = { path: p, imports: new Map(), decls: new Map(), aliases: new Map() };
    this.files.set(p, info);
    if (!fs.existsSync(p)) return info;
    const toks = TypeDeclarations.tokenize(fs.readFileSync(p, 'utf8'));
    let i = 0;
    const parser = {
      peek: () => toks[i],
      next: () => toks[i++],
      eat(t) { if (toks[i] === t) { i++; return true; } return false; },
    };
    while (i < toks.length) {
      const t = toks[i];
      if (t === 'import' && toks[i + 1] === '{') {
        i += 2;
        while (toks[i] !== '}' && i < toks.length) {
          const name = toks[i++];
          let local = name;
          if (toks[i] === 'as') { local = toks[i + 1]; i += 2; }
          info.imports.set(local, { name });
          if (toks[i] === ',') i++;
        }
        i++;
        if (toks[i] === 'from') {
          const from = JSON.parse(toks[i + 1].replace(/^'|'$/g, '"'));
          for (const v of info.imports.values()) if (!v.from) v.from = from;
          i += 2;
        }
      } else if (t === 'export' && toks[i + 1] === '{') {
        i += 2;
        while (toks[i] !== '}' && i < toks.length) {
          const name = toks[i++];
          if (toks[i] === 'as') { info.aliases.set(toks[i + 1], name); i += 2; }
          if (toks[i] === ',') i++;
        }
        i++;
      } else if (t === 'interface') {
        const name = toks[i + 1];
        i += 2;
        const ext = [];
        if (toks[i] === 'extends') {
          i++;
          while (toks[i] !== '{') { if (toks[i] !== ',') ext.push(toks[i]); i++; }
        }
        i++; // {
        const node = TypeDeclarations.objectBody(parser);
        node.ext = ext;
        info.decls.set(name, node);
      } else if (t === 'type' && /^[A-Za-z_$]/.test(toks[i + 1] || '') && toks[i + 2] === '=') {
        const name = toks[i + 1];
        i += 3;
        info.decls.set(name, TypeDeclarations.type(parser));
      } else if (t === 'class') {
        while (toks[i] !== '{') i++;
        let depth = 0;
        do {
          if (toks[i] === '{') depth++;
          if (toks[i] === '}') depth--;
          i++;
        } while (depth > 0 && i < toks.length);
      } else {
        i++;
      }
    }
    return info;
  }

  static objectBody(p) { // after '{', through '}'
    const node = { t: 'obj', props: {}, index: null };
    while (p.peek() !== undefined && p.peek() !== '}') {
      if (p.peek() === 'readonly') p.next();
      if (p.peek() === '[') {
        while (p.next() !== ']');
        p.eat(':');
        node.index = TypeDeclarations.type(p);
      } else {
        let name = p.next();
        if (name.startsWith('"') || name.startsWith("'")) name = JSON.parse(name.replace(/^'|'$/g, '"'));
        p.eat('?');
        if (!p.eat(':')) { // a method or something else: skip to the end of the member
          while (p.peek() !== ';' && p.peek() !== '}' && p.peek() !== undefined) p.next();
        } else {
          node.props[name] = TypeDeclarations.type(p);
        }
      }
      if (!p.eat(';')) p.eat(',');
    }
    p.eat('}');
    return node;
  }

  static type(p) {
    const members = [TypeDeclarations.postfix(p)];
    while (p.eat('|')) members.push(TypeDeclarations.postfix(p));
    while (p.eat('&')) members.push(TypeDeclarations.postfix(p));
    return members.length === 1 ? members[0] : { t: 'union', of: members };
  }

  static postfix(p) {
    let node = TypeDeclarations.primary(p);
    while (p.peek() === '[') {
      p.next();
      if (p.eat(']')) {
        node = { t: 'arr', of: node };
      } else {
        let depth = 1;
        while (depth > 0) { const t = p.next(); if (t === '[') depth++; if (t === ']') depth--; }
        node = { t: 'any' };
      }
    }
    return node;
  }

  static skipGenerics(p) {
    let depth = 0;
    do {
      const t = p.next();
      if (t === '<') depth++;
      if (t === '>') depth--;
    } while (depth > 0);
  }

  static primary(p) {
    const t = p.next();
    if (t === '{') return TypeDeclarations.objectBody(p);
    if (t === '(') { const inner = TypeDeclarations.type(p); p.eat(')'); return inner; }
    if (t === 'Array' && p.peek() === '<') {
      p.next();
      const of = TypeDeclarations.type(p);
      p.eat('>');
      return { t: 'arr', of };
    }
    if (t === 'import' && p.peek() === '(') {
      while (p.next() !== ')');
      while (p.peek() === '.') { p.next(); p.next(); }
      if (p.peek() === '<') TypeDeclarations.skipGenerics(p);
      return { t: 'any' };
    }
    if (/^[A-Za-z_$]/.test(t)) {
      if (p.peek() === '<') { TypeDeclarations.skipGenerics(p); return { t: 'any' }; }
      if (['string', 'number', 'boolean', 'any', 'unknown', 'object', 'null', 'undefined', 'true', 'false', 'never'].includes(t)) return { t: 'any' };
      return { t: 'ref', name: t };
    }
    return { t: 'any' }; // literals
  }

  // The declaration `name` refers to in file `p`: {node, file} or null.
  resolve(p, name, depth = 0) {
    if (depth > 20) return null;
    const info = this.file(p);
    if (info.decls.has(name)) return { node: info.decls.get(name), file: p };
    if (info.aliases.has(name) && info.aliases.get(name) !== name) return this.resolve(p, info.aliases.get(name), depth + 1);
    const imp = info.imports.get(name);
    if (imp && imp.from) {
      const target = imp.from.startsWith('.') ? path.resolve(path.dirname(p), imp.from) : path.join(MODULES, imp.from);
      for (const f of [`${target}.d.ts`, path.join(target, 'index.d.ts')]) {
        if (fs.existsSync(f)) return this.resolve(f, imp.name, depth + 1);
      }
    }
    return null;
  }

  // Unknown fields of `value` for the declaration `node` of file `p`, into `problems`.
  check(value, node, p, where, problems, depth = 0) {
    if (depth > 60 || !node) return;
    if (node.t === 'ref') {
      const r = this.resolve(p, node.name);
      if (r) this.check(value, r.node, r.file, where, problems, depth + 1);
      return;
    }
    if (node.t === 'arr') {
      if (Array.isArray(value)) value.forEach((v, i) => this.check(v, node.of, p, `${where}[${i}]`, problems, depth + 1));
      return;
    }
    if (node.t === 'union') {
      const objects = [];
      for (const m of node.of) {
        let r = { node: m, file: p };
        while (r && r.node.t === 'ref') r = this.resolve(r.file, r.node.name);
        if (!r) return; // unresolved: nothing to say
        if (r.node.t === 'obj') objects.push(r);
        if (r.node.t === 'arr' && Array.isArray(value)) { this.check(value, r.node, r.file, where, problems, depth + 1); return; }
      }
      if (isMap(value) && objects.length === 1) this.check(value, objects[0].node, objects[0].file, where, problems, depth + 1);
      return;
    }
    if (node.t !== 'obj' || !isMap(value)) return;
    const props = { ...node.props };
    let open = node.index !== null;
    for (const e of node.ext || []) {
      const r = this.resolve(p, e);
      if (r && r.node.t === 'obj') Object.assign(props, r.node.props);
      else if (e === 'TypeMeta') Object.assign(props, { apiVersion: { t: 'any' }, kind: { t: 'any' } });
      else open = true;
    }
    for (const [k, v] of Object.entries(value)) {
      if (props[k]) this.check(v, props[k], p, `${where}.${k}`, problems, depth + 1);
      else if (node.index) this.check(v, node.index, p, `${where}.${k}`, problems, depth + 1);
      else if (!open) problems.push(`${where}.${k}: unknown field`);
    }
  }
}
const declarations = new TypeDeclarations();

function unknownFieldProblems(o) {
  const model = modelOf(o);
  if (!model || !fs.existsSync(model.dts)) return [`${id(o)}: no type declarations for ${o.apiVersion} ${o.kind}`];
  const decl = declarations.resolve(model.dts, `I${o.kind}`);
  if (!decl) return [`${id(o)}: cannot read ${rel(model.dts)}`];
  const problems = [];
  declarations.check(o, decl.node, decl.file, id(o), problems);
  return problems;
}

// --- The Dockerfile's ENTRYPOINTs and the binaries' flags ----------------------------------

function dockerEntrypoints() {
  const lines = [];
  let cur = '';
  for (const raw of fs.readFileSync(DOCKERFILE, 'utf8').split('\n')) {
    const s = raw.trim();
    if (!cur && (!s || s.startsWith('#'))) continue;
    if (cur && s.startsWith('#')) continue;
    if (s.endsWith('\\')) { cur += `${s.slice(0, -1)} `; continue; }
    lines.push(cur + s);
    cur = '';
  }
  const stages = {};
  let stage = null;
  for (const line of lines) {
    const m = line.match(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i);
    if (m) {
      stage = { base: m[1], entrypoint: null };
      stages[m[2] || m[1]] = stage;
    } else if (stage && /^ENTRYPOINT\s/i.test(line)) {
      stage.entrypoint = JSON.parse(line.replace(/^ENTRYPOINT\s+/i, ''));
    }
  }
  const resolve = (name, n = 0) => (!stages[name] || n > 10 ? null
    : stages[name].entrypoint || resolve(stages[name].base, n + 1));
  const out = {};
  for (const t of Object.keys(stages)) out[t] = resolve(t);
  return out;
}

// The C++ sources (not tests) under `dirs`: [{path, text}].
function sources(dirs) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.cc') && !e.name.endsWith('_test.cc')) out.push({ path: p, text: fs.readFileSync(p, 'utf8') });
    }
  };
  for (const d of dirs) walk(path.join(ROOT, d));
  return out;
}

function definedFlags(dirs) {
  const flags = new Set();
  for (const { text } of sources(dirs)) {
    for (const m of text.matchAll(/ABSL_FLAG\(\s*[^,]+?,\s*([A-Za-z_]\w*)\s*,/g)) flags.add(m[1]);
  }
  return flags;
}

// `--name=value` flags of a container, the image's ENTRYPOINT first, then args; the last wins.
function flagsOf(words) {
  const flags = new Map();
  for (const w of words || []) {
    const m = w.match(/^--?([A-Za-z_]\w*)(?:=(.*))?$/s);
    if (m) flags.set(m[1], m[2] === undefined ? 'true' : m[2]);
  }
  return flags;
}

// --- Policies -------------------------------------------------------------------------------

function labelsMatch(selector, labels) {
  if (!isMap(selector)) return false;
  const ml = selector.matchLabels || {};
  if (!Object.keys(ml).length && !(selector.matchExpressions || []).length) return true;
  if (!Object.entries(ml).every(([k, v]) => (labels || {})[k] === v)) return false;
  return (selector.matchExpressions || []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels || {}, e.key);
    const v = (labels || {})[e.key];
    if (e.operator === 'In') return has && e.values.includes(v);
    if (e.operator === 'NotIn') return !has || !e.values.includes(v);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
}

function hostPort(listen) {
  const m = /^(.*):(\d+)$/.exec(listen || '');
  return m ? { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) } : null;
}

// The container port a probe or Service names: a number, or a port name.
function resolvePort(container, port) {
  if (typeof port === 'number') return port;
  const p = (container.ports || []).find((x) => x.name === port);
  return p ? p.containerPort : null;
}

// The coordinator's --store (the binary's default when the flag is absent) and, for a
// PostgreSQL URI (what coordinator/store/store.cc opens as PostgreSQL), its parts.
const STORE_DEFAULT = 'graphmill.db';
const PG_DEFAULT_PORT = 5432;
function postgresStore(store) {
  const m = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(store || '');
  if (!m) return null;
  const query = new URLSearchParams(m[4] || '');
  const hosts = m[2] ? m[2].split(',').map((h) => {
    const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(h) || [h, h, ''];
    return { host: hp[1].replace(/^\[|\]$/g, ''), port: Number(hp[2] || query.get('port') || PG_DEFAULT_PORT) };
  }) : [];
  return { userinfo: m[1], hosts, query };
}

// How many of `replicas` pods a PodDisruptionBudget lets be down (percentages rounded up, as
// the disruption controller does).
function pdbAllowed(pdb, replicas) {
  const scaled = (v) => (typeof v === 'string' && v.endsWith('%') ? Math.ceil((Number(v.slice(0, -1)) * replicas) / 100) : Number(v));
  if (pdb.spec.maxUnavailable !== undefined) return scaled(pdb.spec.maxUnavailable);
  if (pdb.spec.minAvailable !== undefined) return Math.max(0, replicas - scaled(pdb.spec.minAvailable));
  return null;
}

// Whether a NetworkPolicy peer list's ports admit `protocol` `port` (numbers only: a named port
// names the other pod's port, unknown here).
function portsAdmit(ports, protocol, port) {
  if (!ports || !ports.length) return true;
  return ports.some((x) => (x.protocol || 'TCP') === protocol && (x.port === undefined ||
    (typeof x.port === 'number' && (x.endPort !== undefined ? port >= x.port && port <= x.endPort : port === x.port))));
}

function analyze(objs) {
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const workloads = objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  const entrypoints = dockerEntrypoints();
  const flagSets = {};
  for (const [name, b] of Object.entries(BINARIES)) flagSets[name] = definedFlags(b.sources);
  const ctx = { objs, byKind, workloads, entrypoints, flagSets, coordinatorSources: sources(['coordinator']) };
  // Every graphmill container: its workload, pod spec, and effective flags.
  ctx.graphmill = [];
  for (const w of workloads) {
    const ps = w.spec.template.spec;
    for (const c of ps.containers || []) {
      const b = BINARIES[c.name];
      if (!b || c.command) continue;
      const ep = entrypoints[b.target] || [];
      const flags = flagsOf([...ep.slice(1), ...(c.args || [])]);
      ctx.graphmill.push({ w, ps, c, binary: c.name, entrypoint: ep, flags,
        postgres: c.name === 'coordinator' ? postgresStore(flags.get('store') || STORE_DEFAULT) : null });
    }
  }
  return ctx;
}

const CHECKS = [];
const policy = (name, fn) => CHECKS.push({ name, fn });

policy('namespace: Pod Security Admission enforces "restricted"; every object is in it', (ctx) => {
  const p = [];
  const nss = ctx.byKind('Namespace');
  if (!nss.length) p.push('no Namespace object');
  for (const ns of nss) {
    const l = ns.metadata.labels || {};
    if (l['pod-security.kubernetes.io/enforce'] !== 'restricted') p.push(`${id(ns)}: label pod-security.kubernetes.io/enforce is not "restricted"`);
  }
  for (const o of ctx.objs) {
    if (CLUSTER_SCOPED.has(o.kind)) continue;
    if (!nss.some((ns) => ns.metadata.name === o.metadata.namespace)) p.push(`${id(o)}: namespace ${o.metadata.namespace} is not one of the Namespaces`);
  }
  return p;
});

policy('restricted Pod Security in every pod: non-root, no privilege escalation, capabilities dropped, seccomp, allowed volumes', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const ps of podSpecs(w)) {
      const psc = ps.securityContext || {};
      for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (ps[f]) p.push(`${id(w)}: ${f}`);
      for (const v of ps.volumes || []) {
        const type = Object.keys(v).find((k) => k !== 'name');
        if (!RESTRICTED_VOLUME_TYPES.has(type)) p.push(`${id(w)}: volume ${v.name} is ${type}`);
      }
      for (const s of psc.sysctls || []) if (!SAFE_SYSCTLS.has(s.name)) p.push(`${id(w)}: sysctl ${s.name}`);
      for (const c of [...containersOf(ps), ...(ps.ephemeralContainers || [])]) {
        const sc = c.securityContext || {};
        const where = `${id(w)} container ${c.name}`;
        const eff = (k) => (sc[k] !== undefined ? sc[k] : psc[k]);
        if (eff('runAsNonRoot') !== true) p.push(`${where}: runAsNonRoot is not true`);
        if (eff('runAsUser') === 0) p.push(`${where}: runAsUser 0`);
        if (sc.privileged) p.push(`${where}: privileged`);
        if (sc.allowPrivilegeEscalation !== false) p.push(`${where}: allowPrivilegeEscalation is not false`);
        const caps = sc.capabilities || {};
        if (!(caps.drop || []).includes('ALL')) p.push(`${where}: capabilities do not drop ALL`);
        for (const a of caps.add || []) if (a !== 'NET_BIND_SERVICE') p.push(`${where}: adds capability ${a}`);
        const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
        if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) p.push(`${where}: seccompProfile is ${seccomp || 'not set'}, not RuntimeDefault`);
        if (sc.procMount && sc.procMount !== 'Default') p.push(`${where}: procMount ${sc.procMount}`);
        for (const port of c.ports || []) if (port.hostPort) p.push(`${where}: hostPort ${port.hostPort}`);
        if (((sc.appArmorProfile || psc.appArmorProfile) || {}).type === 'Unconfined') p.push(`${where}: AppArmor unconfined`);
        const se = sc.seLinuxOptions || psc.seLinuxOptions || {};
        if (se.user || se.role || (se.type && !['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'].includes(se.type))) p.push(`${where}: seLinuxOptions ${JSON.stringify(se)}`);
      }
    }
  }
  return p;
});

policy(`every container runs as uid ${UID} on a read-only root with an emptyDir on /tmp`, (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const ps of podSpecs(w)) {
      const psc = ps.securityContext || {};
      for (const c of containersOf(ps)) {
        const sc = c.securityContext || {};
        const where = `${id(w)} container ${c.name}`;
        if ((sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser) !== UID) p.push(`${where}: runAsUser is not ${UID} (the image's user)`);
        if (sc.readOnlyRootFilesystem !== true) p.push(`${where}: readOnlyRootFilesystem is not true`);
        if (c.command) continue; // a one-shot helper needs no /tmp
        const tmp = (c.volumeMounts || []).find((m) => m.mountPath === '/tmp');
        const vol = tmp && (ps.volumes || []).find((v) => v.name === tmp.name);
        if (!vol || !vol.emptyDir) p.push(`${where}: no emptyDir mounted on /tmp`);
      }
    }
  }
  return p;
});

policy('pods mount no service-account token and get no Service environment variables', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const ps of podSpecs(w)) {
      if (ps.automountServiceAccountToken !== false) p.push(`${id(w)}: automountServiceAccountToken is not false (neither binary calls the Kubernetes API)`);
      if (ps.enableServiceLinks !== false) p.push(`${id(w)}: enableServiceLinks is not false (Service links add GRAPHMILL_COORDINATOR_* variables)`);
    }
  }
  return p;
});

policy('every container requests CPU and memory and limits memory', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const ps of podSpecs(w)) {
      for (const c of containersOf(ps)) {
        const r = c.resources || {};
        for (const [k, v] of [['requests.cpu', (r.requests || {}).cpu], ['requests.memory', (r.requests || {}).memory], ['limits.memory', (r.limits || {}).memory]]) {
          if (v === undefined) p.push(`${id(w)} container ${c.name}: no resources.${k}`);
        }
      }
    }
  }
  return p;
});

policy('probes: readiness and liveness on every container; workers on /readyz and /healthz of --health_listen; a PostgreSQL coordinator is ready by grpc.health.v1', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const c of w.spec.template.spec.containers || []) {
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = c[kind];
        if (!probe) {
          if (kind !== 'startupProbe') p.push(`${id(w)} container ${c.name}: no ${kind}`);
          continue;
        }
        const action = probe.httpGet || probe.tcpSocket || probe.grpc;
        if (action && resolvePort(c, action.port) === null) p.push(`${id(w)} container ${c.name}: ${kind} port ${action.port} is not a container port`);
      }
    }
  }
  for (const g of ctx.graphmill) {
    const where = `${id(g.w)} container ${g.c.name}`;
    if (g.binary === 'worker') {
      const hl = hostPort(g.flags.get('health_listen'));
      if (!hl) { p.push(`${where}: no --health_listen`); continue; }
      for (const [kind, want] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']]) {
        const get = (g.c[kind] || {}).httpGet;
        if (!get || get.path !== want) p.push(`${where}: ${kind} is not an HTTP GET of ${want}`);
        else if (resolvePort(g.c, get.port) !== hl.port) p.push(`${where}: ${kind} port is not --health_listen's ${hl.port}`);
      }
    }
    if (g.binary === 'coordinator') {
      // kubelet's grpc probe has no TLS: a grpc probe must ask the plaintext health-only port
      // (--health_listen); a TCP probe checks the gRPC port.
      const grpcPort = hostPort(g.flags.get('listen'));
      const healthPort = hostPort(g.flags.get('health_listen'));
      for (const kind of ['readinessProbe', 'livenessProbe']) {
        const probe = g.c[kind] || {};
        if (probe.grpc) {
          if (!healthPort || probe.grpc.port !== healthPort.port) p.push(`${where}: ${kind} is a grpc probe of port ${probe.grpc.port}, but kubelet's grpc probe has no TLS: it needs a plaintext health port (--health_listen)`);
        } else if (probe.tcpSocket) {
          if (!grpcPort || resolvePort(g.c, probe.tcpSocket.port) !== grpcPort.port) p.push(`${where}: ${kind} is not a check of the gRPC port`);
        } else {
          p.push(`${where}: ${kind} is neither a grpc nor a TCP probe`);
        }
      }
      // The overall health ("") is NOT_SERVING while the store does not answer; liveness must
      // ask the service that only says the process answers, or a database outage restarts
      // every coordinator.
      const live = (g.c.livenessProbe || {}).grpc;
      if (live && live.service !== 'graphmill.liveness') p.push(`${where}: livenessProbe is a grpc probe of service '${live.service || ''}', not graphmill.liveness (a store outage would restart the coordinator)`);
      // Replicas share a database: one whose store does not answer (NOT_SERVING) must leave
      // the Service, which a TCP check of the gRPC port would not notice.
      if (g.postgres && !(g.c.readinessProbe || {}).grpc) p.push(`${where}: readinessProbe is not a grpc probe (a replica whose PostgreSQL store does not answer would stay in the Service)`);
    }
  }
  return p;
});

policy('a PodDisruptionBudget covers every workload', (ctx) => {
  const p = [];
  const pdbs = ctx.byKind('PodDisruptionBudget');
  for (const w of ctx.workloads) {
    const mine = pdbs.filter((b) => b.metadata.namespace === w.metadata.namespace && labelsMatch(b.spec.selector, w.spec.template.metadata.labels));
    if (mine.length !== 1) p.push(`${id(w)}: ${mine.length} PodDisruptionBudgets select its pods`);
    for (const b of mine) {
      if (b.spec.maxUnavailable === undefined && b.spec.minAvailable === undefined) p.push(`${id(b)}: neither minAvailable nor maxUnavailable`);
    }
  }
  return p;
});

policy('StatefulSet: its serviceName is a headless Service selecting its pods; storage from volumeClaimTemplates', (ctx) => {
  const p = [];
  for (const s of ctx.byKind('StatefulSet')) {
    const svc = ctx.byKind('Service').find((x) => x.metadata.name === s.spec.serviceName && x.metadata.namespace === s.metadata.namespace);
    if (!svc) p.push(`${id(s)}: serviceName ${s.spec.serviceName} is not a Service here`);
    else {
      if (svc.spec.clusterIP !== 'None') p.push(`${id(s)}: serviceName ${s.spec.serviceName} is not headless (clusterIP: None)`);
      if (!labelsMatch({ matchLabels: svc.spec.selector || { '': '\u0000' } }, s.spec.template.metadata.labels)) p.push(`${id(svc)} does not select ${id(s)}'s pods`);
    }
    const ps = s.spec.template.spec;
    const names = new Set([...(ps.volumes || []).map((v) => v.name), ...(s.spec.volumeClaimTemplates || []).map((t) => t.metadata.name)]);
    for (const v of ps.volumes || []) if (v.persistentVolumeClaim) p.push(`${id(s)}: volume ${v.name} names a PersistentVolumeClaim; use volumeClaimTemplates`);
    for (const c of containersOf(ps)) {
      for (const m of c.volumeMounts || []) if (!names.has(m.name)) p.push(`${id(s)} container ${c.name}: mounts ${m.name}, which is neither a volume nor a claim template`);
    }
  }
  for (const w of ctx.byKind('Deployment')) {
    const ps = w.spec.template.spec;
    const names = new Set((ps.volumes || []).map((v) => v.name));
    for (const c of containersOf(ps)) for (const m of c.volumeMounts || []) if (!names.has(m.name)) p.push(`${id(w)} container ${c.name}: mounts ${m.name}, which is not a volume`);
  }
  for (const pvc of ctx.byKind('PersistentVolumeClaim')) p.push(`${id(pvc)}: a standalone claim; the StatefulSet's volumeClaimTemplates make the store's`);
  return p;
});

policy('the coordinator\'s SQLite store is on its claim template\'s volume, with one replica', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator')) {
    const store = g.flags.get('store') || 'graphmill.db';
    if (/^[a-z]+:\/\//i.test(store)) continue; // a database URL: not SQLite
    const file = path.posix.resolve(g.c.workingDir || '/var/lib/graphmill', store);
    const mount = (g.c.volumeMounts || []).filter((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const templates = (g.w.spec.volumeClaimTemplates || []).map((t) => t.metadata.name);
    if (!mount || !templates.includes(mount.name)) p.push(`${id(g.w)}: the store ${file} is not on a volumeClaimTemplates volume (mounted: ${mount ? mount.name : 'nothing'})`);
    else if (mount.readOnly) p.push(`${id(g.w)}: the store's volume is mounted read-only`);
    if (g.w.kind !== 'StatefulSet' || g.w.spec.replicas !== 1) p.push(`${id(g.w)}: SQLite allows one coordinator: a StatefulSet with replicas: 1`);
  }
  if (!ctx.graphmill.some((g) => g.binary === 'coordinator')) p.push('no coordinator container');
  return p;
});

policy('the coordinator\'s PostgreSQL store: a Deployment of 2 or more replicas without volume claims, rolled out with none unavailable, spread over nodes, a PodDisruptionBudget letting one down at a time', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator' && x.postgres)) {
    const w = g.w;
    const replicas = w.spec.replicas === undefined ? 1 : w.spec.replicas;
    // Replicas take leases and run-level decisions through the database: no stable name, no
    // volume of their own.
    if (w.kind !== 'Deployment') p.push(`${id(w)}: a coordinator on PostgreSQL is a Deployment (its replicas need no stable identity or volume), not a ${w.kind}`);
    if (!(replicas >= 2)) p.push(`${id(w)}: replicas ${replicas}: several replicas keep serving while one restarts or moves`);
    for (const v of g.ps.volumes || []) {
      if (v.persistentVolumeClaim || v.ephemeral) p.push(`${id(w)}: volume ${v.name} is a ${v.persistentVolumeClaim ? 'PersistentVolumeClaim' : 'generic ephemeral volume (a claim)'}; the store is the database`);
    }
    if ((w.spec.volumeClaimTemplates || []).length) p.push(`${id(w)}: volumeClaimTemplates; the store is the database`);
    if (w.kind === 'Deployment') {
      const st = w.spec.strategy || {};
      const ru = st.rollingUpdate || {};
      if ((st.type || 'RollingUpdate') !== 'RollingUpdate') p.push(`${id(w)}: strategy ${st.type}: a rollout replaces replicas one by one (RollingUpdate)`);
      else if (!(ru.maxUnavailable === 0 || ru.maxUnavailable === '0%')) p.push(`${id(w)}: rollingUpdate.maxUnavailable is ${ru.maxUnavailable === undefined ? 'unset (25%)' : ru.maxUnavailable}, not 0: a rollout would stop a replica before its successor is ready`);
      else if (ru.maxSurge === 0 || ru.maxSurge === '0%') p.push(`${id(w)}: rollingUpdate.maxSurge 0 with maxUnavailable 0 cannot roll out`);
    }
    // Spread over nodes: anti-affinity to its own pods (preferred or required), or a topology
    // spread constraint, on kubernetes.io/hostname.
    const labels = w.spec.template.metadata.labels;
    const anti = (g.ps.affinity || {}).podAntiAffinity || {};
    const terms = [...(anti.requiredDuringSchedulingIgnoredDuringExecution || []),
      ...(anti.preferredDuringSchedulingIgnoredDuringExecution || []).map((t) => t.podAffinityTerm || {})];
    const spread = terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' && labelsMatch(t.labelSelector, labels)) ||
      (g.ps.topologySpreadConstraints || []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && labelsMatch(t.labelSelector, labels));
    if (!spread) p.push(`${id(w)}: no pod anti-affinity (or topology spread) on kubernetes.io/hostname for its own pods: replicas may share a node`);
    const pdbs = ctx.byKind('PodDisruptionBudget').filter((b) => b.metadata.namespace === w.metadata.namespace && labelsMatch(b.spec.selector, labels));
    for (const b of pdbs) {
      const allowed = pdbAllowed(b, replicas);
      if (allowed === null) continue; // 'a PodDisruptionBudget covers every workload' says so
      if (allowed > 1) p.push(`${id(b)}: lets ${allowed} of ${replicas} replicas be down at once (at most 1)`);
      if (allowed < 1) p.push(`${id(b)}: lets none of ${replicas} replicas be down: a node drain could never move one (maxUnavailable: 1)`);
    }
  }
  return p;
});

policy('the PostgreSQL password: PGPASSWORD from a Secret (secretKeyRef), never a literal value, never in --store', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const c of containersOf(w.spec.template.spec)) {
      for (const e of c.env || []) {
        if (e.name === 'PGPASSWORD' && e.value !== undefined) p.push(`${id(w)} container ${c.name}: PGPASSWORD is a literal value in the manifest; take it from a Secret (valueFrom.secretKeyRef)`);
      }
    }
  }
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator' && x.postgres)) {
    const where = `${id(g.w)} container ${g.c.name}`;
    // In args, the password would be in the pod spec, in `ps` and in the coordinator's logs.
    if ((g.postgres.userinfo || '').includes(':')) p.push(`${where}: --store has a password (postgresql://user:password@...); libpq reads it from PGPASSWORD`);
    for (const k of ['password', 'sslpassword']) if (g.postgres.query.has(k)) p.push(`${where}: --store has ?${k}=; libpq reads the password from PGPASSWORD`);
    const pw = (g.c.env || []).find((e) => e.name === 'PGPASSWORD');
    if (!pw) p.push(`${where}: no PGPASSWORD (from a Secret, secretKeyRef)`);
    else if (pw.value === undefined && !(pw.valueFrom || {}).secretKeyRef) p.push(`${where}: PGPASSWORD is not from a Secret (valueFrom.secretKeyRef)`);
  }
  return p;
});

policy('Services select pods and target their declared ports', (ctx) => {
  const p = [];
  for (const svc of ctx.byKind('Service')) {
    const pods = ctx.workloads.filter((w) => w.metadata.namespace === svc.metadata.namespace && svc.spec.selector && labelsMatch({ matchLabels: svc.spec.selector }, w.spec.template.metadata.labels));
    if (!pods.length) { p.push(`${id(svc)}: selects no workload's pods`); continue; }
    for (const port of svc.spec.ports || []) {
      const target = port.targetPort === undefined ? port.port : port.targetPort;
      for (const w of pods) {
        if (!(w.spec.template.spec.containers || []).some((c) => resolvePort(c, target) !== null)) p.push(`${id(svc)}: port ${port.name || port.port} targets ${target}, which ${id(w)} does not declare`);
      }
    }
  }
  return p;
});

policy('workers scale on the task backlog (KEDA, graphmill_tasks), not on CPU; the Deployment leaves replicas to it', (ctx) => {
  const p = [];
  const scaled = ctx.byKind('ScaledObject');
  const hpas = ctx.byKind('HorizontalPodAutoscaler');
  for (const g of ctx.graphmill.filter((x) => x.binary === 'worker')) {
    const targets = (o, ref) => ref && ref.name === g.w.metadata.name && (ref.kind || 'Deployment') === g.w.kind && o.metadata.namespace === g.w.metadata.namespace;
    const so = scaled.filter((o) => targets(o, o.spec.scaleTargetRef));
    const hpa = hpas.filter((o) => targets(o, o.spec.scaleTargetRef));
    if (so.length + hpa.length !== 1) p.push(`${id(g.w)}: ${so.length} ScaledObjects and ${hpa.length} HorizontalPodAutoscalers target it (one autoscaler)`);
    for (const h of hpa) {
      for (const m of h.spec.metrics || []) if (['Resource', 'ContainerResource'].includes(m.type)) p.push(`${id(h)}: scales on ${m.type} ${(m.resource || m.containerResource || {}).name}; workers wait on I/O and rate limits`);
    }
    for (const o of so) {
      const capacity = Number(g.flags.get('capacity') || 4);
      if (!(o.spec.minReplicaCount >= 1)) p.push(`${id(o)}: minReplicaCount must be at least 1 (a run starts only when a worker implementing it is connected)`);
      for (const t of o.spec.triggers || []) {
        if (['cpu', 'memory'].includes(t.type)) p.push(`${id(o)}: a ${t.type} trigger; workers wait on I/O and rate limits`);
        if (t.type === 'prometheus') {
          const query = t.metadata.query || '';
          if (!/graphmill_tasks\b/.test(query)) p.push(`${id(o)}: the prometheus query does not read graphmill_tasks`);
          // The metrics and label values it names exist in the coordinator's sources.
          for (const m of query.matchAll(/\b(graphmill_\w+)\s*(?:\{([^}]*)\})?/g)) {
            const file = ctx.coordinatorSources.find((f) => f.text.includes(`"${m[1]}"`));
            if (!file) { p.push(`${id(o)}: the query reads ${m[1]}, which the coordinator does not export`); continue; }
            for (const v of (m[2] || '').matchAll(/=~?\s*"([^"]*)"/g)) {
              for (const value of v[1].split('|')) if (!file.text.includes(`"${value}"`)) p.push(`${id(o)}: the query matches ${m[1]} on "${value}", which ${rel(file.path)} never sets`);
            }
          }
          if (Number(t.metadata.threshold) !== capacity) p.push(`${id(o)}: threshold ${t.metadata.threshold} is not the worker's --capacity ${capacity}`);
        }
      }
      if (!(o.spec.triggers || []).some((t) => t.type === 'prometheus')) p.push(`${id(o)}: no prometheus trigger on graphmill_tasks`);
    }
    if ((so.length || hpa.length) && g.w.spec.replicas !== undefined) p.push(`${id(g.w)}: sets replicas, which every apply would reset under the autoscaler`);
  }
  return p;
});

policy('worker ids come from the pod name; every $(VAR) in args is defined', (ctx) => {
  const p = [];
  for (const w of ctx.workloads) {
    for (const c of containersOf(w.spec.template.spec)) {
      const env = new Set((c.env || []).map((e) => e.name));
      for (const a of [...(c.command || []), ...(c.args || [])]) {
        for (const m of a.matchAll(/(?<!\$)\$\(([A-Za-z_]\w*)\)/g)) if (!env.has(m[1])) p.push(`${id(w)} container ${c.name}: $(${m[1]}) in its args is not in its env`);
      }
      for (const e of c.env || []) {
        if (!e.value && !e.valueFrom) p.push(`${id(w)} container ${c.name}: env ${e.name} has no value`);
      }
    }
  }
  for (const g of ctx.graphmill.filter((x) => x.binary === 'worker')) {
    const podName = (g.c.env || []).find((e) => e.name === 'POD_NAME');
    if (!podName || ((podName.valueFrom || {}).fieldRef || {}).fieldPath !== 'metadata.name') p.push(`${id(g.w)}: POD_NAME is not the pod's metadata.name`);
    if (g.flags.get('worker_id') !== '$(POD_NAME)') p.push(`${id(g.w)}: --worker_id is not $(POD_NAME)`);
  }
  return p;
});

policy('terminationGracePeriodSeconds exceeds the worker\'s --drain_grace_seconds', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill.filter((x) => x.binary === 'worker')) {
    const drain = Number(g.flags.get('drain_grace_seconds') || WORKER_DRAIN_DEFAULT);
    const grace = g.ps.terminationGracePeriodSeconds === undefined ? 30 : g.ps.terminationGracePeriodSeconds;
    if (!(grace > drain)) p.push(`${id(g.w)}: terminationGracePeriodSeconds ${grace} is not more than --drain_grace_seconds ${drain}`);
  }
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator')) {
    const grace = g.ps.terminationGracePeriodSeconds === undefined ? 30 : g.ps.terminationGracePeriodSeconds;
    if (grace <= 5) p.push(`${id(g.w)}: terminationGracePeriodSeconds ${grace} leaves the coordinator no time for its 5 s shutdown`);
  }
  return p;
});

policy('the coordinator\'s secret key file has no group or other permission bits (coordinator/secrets/secret_box.cc)', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator')) {
    const key = g.flags.get('secret_key_file');
    if (!key) { p.push(`${id(g.w)}: no --secret_key_file`); continue; }
    const mount = (g.c.volumeMounts || []).filter((m) => key.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const vol = mount && (g.ps.volumes || []).find((v) => v.name === mount.name);
    if (!vol) { p.push(`${id(g.w)}: no volume holds --secret_key_file ${key}`); continue; }
    const fsGroup = (g.ps.securityContext || {}).fsGroup !== undefined;
    if (vol.secret || vol.projected) {
      const src = vol.secret || vol.projected;
      const item = (src.items || []).find((i) => path.posix.join(mount.mountPath, i.path) === key);
      let mode = (item && item.mode !== undefined ? item.mode : src.defaultMode !== undefined ? src.defaultMode : 0o644);
      if (fsGroup) mode |= 0o440; // the kubelet makes Secret files group-readable for fsGroup
      if (mode & 0o077) p.push(`${id(g.w)}: ${key} comes from ${vol.secret ? 'Secret' : 'projected'} volume ${vol.name} with mode 0${mode.toString(8)}${fsGroup ? ' (fsGroup adds 0440)' : ''}: the coordinator warns at every start`);
    } else if (vol.emptyDir) {
      const writers = (g.ps.initContainers || []).filter((ic) => (ic.volumeMounts || []).some((m) => m.name === vol.name && !m.readOnly));
      const restricts = (ic) => /umask 0?077|install\s[^;&]*-m\s*0?[46]00|chmod\s+0?[46]00/.test([...(ic.command || []), ...(ic.args || [])].join(' '));
      if (!writers.length) p.push(`${id(g.w)}: nothing writes ${key} into emptyDir ${vol.name}`);
      else if (!writers.every(restricts)) p.push(`${id(g.w)}: the init container writing ${key} does not restrict its mode (umask 077, chmod 0400)`);
      if (!mount.readOnly) p.push(`${id(g.w)}: the coordinator mounts ${vol.name} writable`);
      if (vol.emptyDir.medium !== 'Memory') p.push(`${id(g.w)}: emptyDir ${vol.name} holding the key is not in memory`);
    } else {
      p.push(`${id(g.w)}: --secret_key_file ${key} is on a ${Object.keys(vol).find((k) => k !== 'name')} volume`);
    }
  }
  return p;
});

policy('flags: --name=value, known to the binary, not repeating the image\'s ENTRYPOINT; the init container runs the coordinator\'s image', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill) {
    const known = ctx.flagSets[g.binary];
    const ep = new Set([...flagsOf(g.entrypoint.slice(1)).keys()]);
    if (!ctx.entrypoints[BINARIES[g.binary].target]) p.push(`${id(g.w)}: the Dockerfile has no ENTRYPOINT for target ${BINARIES[g.binary].target}`);
    for (const a of g.c.args || []) {
      const m = a.match(/^--([A-Za-z_]\w*)=(.*)$/s);
      if (!m) { p.push(`${id(g.w)} container ${g.c.name}: '${a}' is not --name=value`); continue; }
      if (!known.has(m[1])) p.push(`${id(g.w)} container ${g.c.name}: --${m[1]} is not a flag of graphmill-${g.binary} (${BINARIES[g.binary].sources.join(', ')})`);
      if (ep.has(m[1])) p.push(`${id(g.w)} container ${g.c.name}: --${m[1]} is already set by the image's ENTRYPOINT (deploy/docker/Dockerfile)`);
    }
    for (const ic of g.ps.initContainers || []) {
      if (g.binary === 'coordinator' && ic.image !== g.c.image) p.push(`${id(g.w)}: init container ${ic.name} runs ${ic.image}, not the coordinator's ${g.c.image}`);
    }
  }
  return p;
});

policy('Secrets: each is in the manifests or documented as made outside; the TLS Secret comes from the Certificate, which names the host workers dial', (ctx) => {
  const p = [];
  const defined = new Set(ctx.byKind('Secret').map((s) => s.metadata.name));
  const certs = ctx.byKind('Certificate');
  for (const w of ctx.workloads) {
    const ps = w.spec.template.spec;
    const refs = [];
    for (const v of ps.volumes || []) {
      if (v.secret) refs.push(v.secret.secretName);
      for (const s of ((v.projected || {}).sources || [])) if (s.secret) refs.push(s.secret.name);
    }
    for (const c of containersOf(ps)) {
      for (const e of c.env || []) if (e.valueFrom && e.valueFrom.secretKeyRef) refs.push(e.valueFrom.secretKeyRef.name);
      for (const e of c.envFrom || []) if (e.secretRef) refs.push(e.secretRef.name);
    }
    for (const r of refs) {
      if (!defined.has(r) && !EXTERNAL_SECRETS[r]) p.push(`${id(w)}: Secret ${r} is neither in the manifests nor in EXTERNAL_SECRETS (validate.js, deploy/README.md)`);
    }
  }
  const tls = certs.find((c) => c.spec.secretName === 'graphmill-coordinator-tls');
  if (!tls) p.push('no Certificate issues graphmill-coordinator-tls');
  for (const g of ctx.graphmill.filter((x) => x.binary === 'worker')) {
    const target = hostPort(g.flags.get('coordinator'));
    if (!target) { p.push(`${id(g.w)}: no --coordinator`); continue; }
    if (!ctx.byKind('Service').some((s) => s.metadata.name === target.host.split('.')[0] && s.spec.clusterIP !== 'None')) p.push(`${id(g.w)}: --coordinator ${target.host} is not a (non-headless) Service here`);
    if (tls && !(tls.spec.dnsNames || []).includes(target.host)) p.push(`${id(tls)}: dnsNames do not include ${target.host}, which workers dial`);
    if (!g.flags.get('tls_ca_file')) p.push(`${id(g.w)}: no --tls_ca_file (plaintext to a non-loopback coordinator is refused)`);
  }
  for (const g of ctx.graphmill.filter((x) => x.binary === 'coordinator')) {
    for (const f of ['tls_cert_file', 'tls_key_file']) if (!g.flags.get(f)) p.push(`${id(g.w)}: no --${f} (a non-loopback --listen needs TLS)`);
    if (g.flags.get('insecure_plaintext') === 'true') p.push(`${id(g.w)}: --insecure_plaintext`);
  }
  return p;
});

policy('NetworkPolicies: every pod is selected for Ingress; workers may reach the coordinator\'s gRPC port; where the coordinator\'s egress is restricted, it may reach its PostgreSQL store and DNS', (ctx) => {
  const p = [];
  const nps = ctx.byKind('NetworkPolicy');
  for (const w of ctx.workloads) {
    const labels = w.spec.template.metadata.labels;
    const mine = nps.filter((n) => n.metadata.namespace === w.metadata.namespace && labelsMatch(n.spec.podSelector, labels) && (n.spec.policyTypes || ['Ingress']).includes('Ingress'));
    if (!mine.length) p.push(`${id(w)}: no NetworkPolicy restricts ingress to its pods`);
  }
  const coords = ctx.graphmill.filter((g) => g.binary === 'coordinator');
  const workers = ctx.graphmill.filter((g) => g.binary === 'worker');
  for (const c of coords) {
    const port = (hostPort(c.flags.get('listen')) || {}).port;
    for (const wk of workers) {
      const admitted = nps.some((n) => labelsMatch(n.spec.podSelector, c.w.spec.template.metadata.labels) &&
        (n.spec.ingress || []).some((rule) => (rule.from || []).some((peer) => peer.podSelector && !peer.namespaceSelector && labelsMatch(peer.podSelector, wk.w.spec.template.metadata.labels)) &&
          (!rule.ports || rule.ports.some((x) => x.port === port || resolvePort(c.c, x.port) === port))));
      if (!admitted) p.push(`${id(wk.w)}'s pods may not reach ${id(c.w)} on port ${port}`);
    }
  }
  for (const c of coords.filter((g) => g.postgres)) {
    // Policies add up: egress is restricted once one of them selects the pod for Egress (so
    // does a policy with egress rules and no policyTypes), and allowed where any rule allows.
    const egress = nps.filter((n) => n.metadata.namespace === c.w.metadata.namespace && labelsMatch(n.spec.podSelector, c.w.spec.template.metadata.labels) &&
      (n.spec.policyTypes || (n.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'])).includes('Egress'));
    if (!egress.length) continue;
    const admits = (protocol, port) => egress.some((n) => (n.spec.egress || []).some((rule) => portsAdmit(rule.ports, protocol, port)));
    for (const h of c.postgres.hosts) {
      if (!admits('TCP', h.port)) p.push(`${id(c.w)}: its NetworkPolicies restrict egress and admit no TCP to port ${h.port}, PostgreSQL's (${h.host}:${h.port} in --store)`);
      if (!/^[\d.]+$|:/.test(h.host) && !admits('UDP', 53)) p.push(`${id(c.w)}: its NetworkPolicies restrict egress and admit no DNS (UDP 53) to resolve ${h.host}`);
    }
  }
  return p;
});

policy('listen addresses: on the pod IP (0.0.0.0) and declared as container ports; Prometheus annotations name the metrics port', (ctx) => {
  const p = [];
  for (const g of ctx.graphmill) {
    for (const f of ['listen', 'health_listen', 'metrics_listen']) {
      if (!g.flags.has(f)) continue;
      const hp = hostPort(g.flags.get(f));
      if (!hp) { p.push(`${id(g.w)}: --${f}=${g.flags.get(f)} is not HOST:PORT`); continue; }
      if (!['0.0.0.0', '::'].includes(hp.host)) p.push(`${id(g.w)}: --${f} listens on ${hp.host}, which kubelet and other pods cannot reach`);
      if (!(g.c.ports || []).some((x) => x.containerPort === hp.port)) p.push(`${id(g.w)}: --${f}'s port ${hp.port} is not a container port`);
    }
    const ann = g.w.spec.template.metadata.annotations || {};
    const metrics = hostPort(g.flags.get('metrics_listen'));
    if (!metrics) p.push(`${id(g.w)}: no --metrics_listen`);
    else if (ann['prometheus.io/scrape'] === 'true' && Number(ann['prometheus.io/port']) !== metrics.port) p.push(`${id(g.w)}: prometheus.io/port ${ann['prometheus.io/port']} is not --metrics_listen's ${metrics.port}`);
  }
  return p;
});

function runPolicies(objs) {
  const ctx = analyze(objs);
  return CHECKS.map(({ name, fn }) => {
    let problems;
    try {
      problems = fn(ctx);
    } catch (e) {
      problems = [`the check crashed: ${e.stack.split('\n').slice(0, 3).join(' ')}`];
    }
    return { name, problems };
  });
}

function schemaChecks(objs) {
  return [
    { name: 'every object validates against its schema (Kubernetes OpenAPI; cert-manager and KEDA CRDs)', problems: objs.flatMap(schemaProblems) },
    { name: 'no unknown fields (as kubectl apply --validate=strict)', problems: objs.flatMap(unknownFieldProblems) },
  ];
}

// --- Comparison with kubectl kustomize ------------------------------------------------------

function canonical(objs) {
  const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys) : isMap(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);
  return objs.map(sortKeys).map((o) => JSON.stringify(o)).sort();
}

function compareWithKubectl(dir, objs) {
  const which = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60000 });
  if (run.status !== 0) return [`kubectl kustomize ${rel(dir)} failed: ${(run.stderr || run.error || '').toString().trim().slice(0, 500)}`];
  const theirs = canonical(parseYaml(run.stdout, `kubectl kustomize ${rel(dir)}`));
  const ours = canonical(objs);
  const problems = [];
  for (const o of ours) if (!theirs.includes(o)) problems.push(`only validate.js renders: ${o.slice(0, 300)}`);
  for (const o of theirs) if (!ours.includes(o)) problems.push(`only kubectl kustomize renders: ${o.slice(0, 300)}`);
  return problems;
}

// --- Self-test: each way of breaking the manifests must fail the check named ----------------

function find(objs, kind, name) {
  const o = objs.find((x) => x.kind === kind && (!name || x.metadata.name === name));
  if (!o) throw new Error(`self-test: no ${kind}/${name || '*'}`);
  return o;
}
// The workload running the container `name` ('coordinator' or 'worker'), whatever its kind.
function workload(objs, name) {
  const w = objs.find((o) => podSpecs(o).some((ps) => (ps.containers || []).some((c) => c.name === name)));
  if (!w) throw new Error(`self-test: no workload runs a container ${name}`);
  return w;
}
const container = (objs, name) => workload(objs, name).spec.template.spec.containers.find((c) => c.name === name);
const setArg = (c, flag, value) => {
  c.args = c.args.filter((a) => !a.startsWith(`--${flag}=`));
  if (value !== undefined) c.args.push(`--${flag}=${value}`);
};
// Which store an overlay's coordinator uses: 'postgresql' for a PostgreSQL URI, else 'sqlite'.
function storeVariant(objs) {
  const c = container(objs, 'coordinator');
  return postgresStore(flagsOf(c.args).get('store') || STORE_DEFAULT) ? 'postgresql' : 'sqlite';
}

// [what, the check (part of its name) that must fail, how to break, the store variant it
// applies to (all when absent)].
const BREAKAGES = [
  ['a misspelt field (readOnlyRootFileSystem)', 'unknown fields', (o) => { const c = container(o, 'worker'); c.securityContext.readOnlyRootFileSystem = true; }],
  ['a containerPort that is not a number', 'schema', (o) => { container(o, 'coordinator').ports[0].containerPort = '7400x'; }],
  ['a ScaledObject without triggers (CRD schema)', 'schema', (o) => { delete find(o, 'ScaledObject').spec.triggers; }],
  ['the Namespace without the restricted label', 'namespace', (o) => { delete find(o, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']; }],
  ['allowPrivilegeEscalation: true on the worker', 'restricted Pod Security', (o) => { container(o, 'worker').securityContext.allowPrivilegeEscalation = true; }],
  ['capabilities not dropped in the init container', 'restricted Pod Security', (o) => { delete workload(o, 'coordinator').spec.template.spec.initContainers[0].securityContext.capabilities; }],
  ['no seccomp profile on the coordinator pod', 'restricted Pod Security', (o) => { delete workload(o, 'coordinator').spec.template.spec.securityContext.seccompProfile; }],
  ['a hostPath volume', 'restricted Pod Security', (o) => { workload(o, 'worker').spec.template.spec.volumes.push({ name: 'h', hostPath: { path: '/' } }); }],
  ['a writable root filesystem', 'read-only root', (o) => { container(o, 'coordinator').securityContext.readOnlyRootFilesystem = false; }],
  ['no emptyDir on /tmp', 'read-only root', (o) => { const c = container(o, 'worker'); c.volumeMounts = c.volumeMounts.filter((m) => m.mountPath !== '/tmp'); }],
  ['a mounted service-account token', 'service-account token', (o) => { workload(o, 'worker').spec.template.spec.automountServiceAccountToken = true; }],
  ['no memory limit', 'requests CPU and memory', (o) => { delete container(o, 'worker').resources.limits; }],
  ['a TCP readiness probe on the worker', 'probes', (o) => { container(o, 'worker').readinessProbe = { tcpSocket: { port: 'health' } }; }],
  ['no liveness probe on the coordinator', 'probes', (o) => { delete container(o, 'coordinator').livenessProbe; }],
  ['coordinator liveness asks the overall health (restarts on a store outage)', 'probes', (o) => { delete container(o, 'coordinator').livenessProbe.grpc.service; }],
  ['a grpc probe on the TLS port', 'probes', (o) => { container(o, 'coordinator').readinessProbe = { grpc: { port: 7400 } }; }],
  ['no PodDisruptionBudget for workers', 'PodDisruptionBudget', (o) => { o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'graphmill-worker')), 1); }],
  ['serviceName naming the regular Service', 'StatefulSet', (o) => { find(o, 'StatefulSet').spec.serviceName = 'graphmill-coordinator'; }, 'sqlite'],
  ['a standalone PersistentVolumeClaim for the store', 'StatefulSet', (o) => {
    const s = find(o, 'StatefulSet');
    delete s.spec.volumeClaimTemplates;
    s.spec.template.spec.volumes.push({ name: 'store', persistentVolumeClaim: { claimName: 'graphmill-store' } });
    o.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'graphmill-store', namespace: s.metadata.namespace }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  }, 'sqlite'],
  ['two coordinator replicas on SQLite', 'SQLite store', (o) => { find(o, 'StatefulSet').spec.replicas = 2; }, 'sqlite'],
  ['the store on an emptyDir', 'SQLite store', (o) => {
    const s = find(o, 'StatefulSet');
    delete s.spec.volumeClaimTemplates;
    s.spec.template.spec.volumes.push({ name: 'store', emptyDir: {} });
  }, 'sqlite'],
  ['no --store, from a working directory on the read-only root', 'SQLite store', (o) => {
    const c = container(o, 'coordinator');
    setArg(c, 'store');
    c.workingDir = '/';
  }, 'sqlite'],
  ['the PostgreSQL coordinator as a StatefulSet', 'PostgreSQL store', (o) => { workload(o, 'coordinator').kind = 'StatefulSet'; }, 'postgresql'],
  ['one PostgreSQL coordinator replica', 'PostgreSQL store', (o) => { workload(o, 'coordinator').spec.replicas = 1; }, 'postgresql'],
  ['a rollout that stops a replica before its successor is ready', 'PostgreSQL store', (o) => { workload(o, 'coordinator').spec.strategy.rollingUpdate.maxUnavailable = 1; }, 'postgresql'],
  ['the default rollout (25% unavailable)', 'PostgreSQL store', (o) => { delete workload(o, 'coordinator').spec.strategy; }, 'postgresql'],
  ['no anti-affinity: replicas may share a node', 'PostgreSQL store', (o) => { delete workload(o, 'coordinator').spec.template.spec.affinity; }, 'postgresql'],
  ['a PersistentVolumeClaim on a PostgreSQL coordinator', 'PostgreSQL store', (o) => {
    const ps = workload(o, 'coordinator').spec.template.spec;
    ps.volumes.push({ name: 'store', persistentVolumeClaim: { claimName: 'graphmill-store' } });
    ps.containers[0].volumeMounts.push({ name: 'store', mountPath: '/data' });
  }, 'postgresql'],
  ['a PodDisruptionBudget letting 2 of 3 replicas down', 'PostgreSQL store', (o) => { find(o, 'PodDisruptionBudget', 'graphmill-coordinator').spec.maxUnavailable = 2; }, 'postgresql'],
  ['a PodDisruptionBudget keeping all 3 replicas (drains blocked)', 'PostgreSQL store', (o) => {
    const b = find(o, 'PodDisruptionBudget', 'graphmill-coordinator');
    delete b.spec.maxUnavailable;
    b.spec.minAvailable = 3;
  }, 'postgresql'],
  ['PGPASSWORD as a literal value', 'PostgreSQL password', (o) => { const c = container(o, 'coordinator'); c.env = c.env.map((e) => (e.name === 'PGPASSWORD' ? { name: e.name, value: 'hunter2' } : e)); }, 'postgresql'],
  ['no PGPASSWORD', 'PostgreSQL password', (o) => { const c = container(o, 'coordinator'); c.env = c.env.filter((e) => e.name !== 'PGPASSWORD'); }, 'postgresql'],
  ['a password in the --store URI (postgresql://user:pass@)', 'PostgreSQL password', (o) => { setArg(container(o, 'coordinator'), 'store', 'postgresql://graphmill:hunter2@postgresql:5432/graphmill'); }, 'postgresql'],
  ['a password in the --store URI\'s query', 'PostgreSQL password', (o) => { setArg(container(o, 'coordinator'), 'store', 'postgresql://graphmill@postgresql:5432/graphmill?password=hunter2'); }, 'postgresql'],
  ['a TCP readiness probe on replicated coordinators', 'probes', (o) => { container(o, 'coordinator').readinessProbe = { tcpSocket: { port: 'grpc' }, periodSeconds: 5 }; }, 'postgresql'],
  ['egress without PostgreSQL\'s port', 'NetworkPolicies', (o) => {
    const n = find(o, 'NetworkPolicy', 'graphmill-coordinator');
    n.spec.egress = n.spec.egress.filter((r) => !(r.ports || []).some((x) => x.port === 5432));
  }, 'postgresql'],
  ['egress without DNS', 'NetworkPolicies', (o) => {
    const n = find(o, 'NetworkPolicy', 'graphmill-coordinator');
    n.spec.egress = n.spec.egress.filter((r) => !(r.ports || []).some((x) => x.port === 53));
  }, 'postgresql'],
  ['a Service port targeting an undeclared port', 'Services select pods', (o) => { find(o, 'Service', 'graphmill-coordinator').spec.ports[0].targetPort = 'grpcs'; }],
  ['an HPA on CPU instead of KEDA', 'scale on the task backlog', (o) => {
    o.splice(o.indexOf(find(o, 'ScaledObject')), 1);
    o.push({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'graphmill-worker', namespace: 'graphmill' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'graphmill-worker' }, minReplicas: 2, maxReplicas: 20, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] } });
  }],
  ['replicas set on the autoscaled Deployment', 'scale on the task backlog', (o) => { workload(o, 'worker').spec.replicas = 3; }],
  ['a threshold other than --capacity', 'scale on the task backlog', (o) => { find(o, 'ScaledObject').spec.triggers[0].metadata.threshold = '100'; }],
  ['a query on a metric the coordinator does not export', 'scale on the task backlog', (o) => { find(o, 'ScaledObject').spec.triggers[0].metadata.query = 'sum(graphmill_tasks_pending)'; }],
  ['a query on a task state the coordinator never sets', 'scale on the task backlog', (o) => { find(o, 'ScaledObject').spec.triggers[0].metadata.query = 'sum(graphmill_tasks{state=~"pending|queued"})'; }],
  ['POD_NAME set but unused', 'worker ids', (o) => { setArg(container(o, 'worker'), 'worker_id'); }],
  ['a grace period shorter than the drain', 'terminationGracePeriodSeconds', (o) => { workload(o, 'worker').spec.template.spec.terminationGracePeriodSeconds = 30; }],
  ['the key straight from a Secret volume with defaultMode 0400 and fsGroup', 'secret key file', (o) => {
    const s = workload(o, 'coordinator').spec.template.spec;
    s.initContainers = [];
    const c = s.containers[0];
    c.volumeMounts = c.volumeMounts.map((m) => (m.name === 'secret-key' ? { name: 'secret-key-source', mountPath: '/run/graphmill/secret', readOnly: true } : m));
    s.volumes.find((v) => v.name === 'secret-key-source').secret.defaultMode = 0o400;
  }],
  ['an init container copying the key without umask', 'secret key file', (o) => { workload(o, 'coordinator').spec.template.spec.initContainers[0].command = ['/bin/sh', '-c', 'cp /secret-key-source/key /run/graphmill/secret/key']; }],
  ['--listen repeated from the ENTRYPOINT', 'flags', (o) => { setArg(container(o, 'coordinator'), 'listen', '0.0.0.0:7400'); }],
  ['an unknown flag (--lease_second)', 'flags', (o) => { setArg(container(o, 'coordinator'), 'lease_second', '30'); }],
  ['a Secret nobody makes', 'Secrets', (o) => { container(o, 'worker').env.find((e) => e.name === 'GRAPHMILL_WORKER_TOKEN').valueFrom.secretKeyRef.name = 'nope'; }],
  ['a PostgreSQL password Secret nobody makes', 'Secrets', (o) => { container(o, 'coordinator').env.find((e) => e.name === 'PGPASSWORD').valueFrom.secretKeyRef.name = 'nope'; }, 'postgresql'],
  ['a certificate that does not name the dialed host', 'Secrets', (o) => { find(o, 'Certificate').spec.dnsNames = ['localhost']; }],
  ['workers not admitted by the coordinator\'s NetworkPolicy', 'NetworkPolicies', (o) => { find(o, 'NetworkPolicy', 'graphmill-coordinator').spec.ingress[0].from.shift(); }],
  ['--health_listen on loopback', 'listen addresses', (o) => { setArg(container(o, 'worker'), 'health_listen', '127.0.0.1:8080'); }],
];

function selfTest(objs, overlay) {
  const out = [];
  let variant;
  try {
    variant = storeVariant(objs);
  } catch (e) {
    return [{ name: `self-test (${overlay}): the coordinator's store`, problems: [e.message] }];
  }
  for (const [what, check, breakIt, only] of BREAKAGES) {
    if (only && only !== variant) continue;
    const broken = clone(objs);
    let problems = [];
    try {
      breakIt(broken);
      const failed = [...schemaChecks(broken), ...runPolicies(broken)].filter((r) => r.problems.length && r.name.includes(check));
      if (!failed.length) problems = [`no check named "${check}" failed`];
    } catch (e) {
      problems = [e.message];
    }
    out.push({ name: `self-test (${overlay}): ${what} fails "${check}"`, problems });
  }
  return out;
}

// --- Main -----------------------------------------------------------------------------------

function main() {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== '--self-test')) {
    console.error('usage: node tools/k8s-validate/validate.js [--self-test]');
    return 2;
  }
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  const print = ({ name, problems }) => {
    if (problems.length) failed++;
    else passed++;
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${name}`);
    for (const pr of problems.slice(0, 20)) console.log(`       ${pr}`);
    if (problems.length > 20) console.log(`       ... and ${problems.length - 20} more`);
  };
  const overlays = fs.readdirSync(OVERLAYS).filter((d) => fs.statSync(path.join(OVERLAYS, d)).isDirectory()).sort();
  if (!overlays.length) print({ name: 'overlays exist', problems: [`none under ${rel(OVERLAYS)}`] });
  for (const overlay of overlays) {
    const dir = path.join(OVERLAYS, overlay);
    let objs;
    try {
      objs = kustomize(dir);
      print({ name: `${overlay}: renders (${objs.length} objects: ${[...new Set(objs.map((o) => o.kind))].join(', ')})`, problems: [] });
    } catch (e) {
      print({ name: `${overlay}: renders`, problems: [e.message] });
      continue;
    }
    const cmp = compareWithKubectl(dir, objs);
    if (cmp === null) console.log(`skip ${overlay}: the same as kubectl kustomize (no kubectl on the PATH)`);
    else print({ name: `${overlay}: the same objects as kubectl kustomize`, problems: cmp });
    for (const r of [...schemaChecks(objs), ...runPolicies(objs)]) print({ name: `${overlay}: ${r.name}`, problems: r.problems });
    if (args.includes('--self-test')) for (const r of selfTest(objs, overlay)) print(r);
  }
  console.log(`k8s-validate took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`k8s-validate: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
module.exports = { kustomize, strategicMerge, runPolicies, schemaChecks };
