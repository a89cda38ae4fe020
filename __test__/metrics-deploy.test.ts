// deploy/: the DaemonSet and the scrape job parse and say what docs/metrics.md says they do;
// the Dockerfile installs the published package and no toolchain. (No Docker engine or
// Kubernetes cluster on this machine: the image is not built here.)

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const deploy = join(resolve(__dirname, '..'), 'deploy');

function documents(file: string): any[] {
  const docs = parseAllDocuments(readFileSync(join(deploy, file), 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS());
}

test('the DaemonSet runs the exporter unprivileged with CAP_BPF and CAP_PERFMON, tracefs and BTF', (t) => {
  const docs = documents('kubernetes/daemonset.yaml');
  const ds = docs.find((d) => d.kind === 'DaemonSet');
  t.truthy(ds, 'a DaemonSet');
  t.is(docs.find((d) => d.kind === 'Namespace')?.metadata.name, ds.metadata.namespace);
  const pod = ds.spec.template.spec;
  t.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels);
  t.true(pod.hostPID, 'host pids for comm labels');
  t.is(pod.containers.length, 1);
  const [c] = pod.containers;
  t.deepEqual(c.args.slice(0, 2), ['--port', '9435']);
  t.is(c.ports[0].containerPort, 9435);
  t.is(c.livenessProbe.httpGet.path, '/healthz');
  const sc = c.securityContext;
  t.false(sc.privileged);
  t.false(sc.allowPrivilegeEscalation);
  t.deepEqual(sc.capabilities.drop, ['ALL']);
  t.deepEqual([...sc.capabilities.add].sort(), ['BPF', 'PERFMON']);
  t.is(sc.seccompProfile.type, 'Unconfined');
  const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m]));
  const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
  for (const [name, path] of [['tracefs', '/sys/kernel/tracing'], ['btf', '/sys/kernel/btf']]) {
    t.is(mounts[name]?.mountPath, path, `${name} mounted at ${path}`);
    t.true(mounts[name]?.readOnly, `${name} read-only`);
    t.is(volumes[name]?.hostPath.path, path, `${name} from the host's ${path}`);
  }
  t.deepEqual(Object.keys(volumes).sort(), ['btf', 'tracefs'], 'nothing else from the host (no bpffs or cgroup: the tools need neither)');
  const annotations = ds.spec.template.metadata.annotations;
  t.is(annotations['prometheus.io/port'], String(c.ports[0].containerPort));
});

test('the scrape job keeps the exporter pods and labels series with their node; promtool checks it where it can', (t) => {
  const [config] = documents('kubernetes/prometheus-scrape.yaml');
  const [job] = config.scrape_configs;
  t.is(job.job_name, 'aya-node-exporter');
  t.deepEqual(job.kubernetes_sd_configs[0].namespaces.names, ['aya-node']);
  const keep = job.relabel_configs.find((r: any) => r.action === 'keep' && r.source_labels[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name');
  t.is(keep.regex, documents('kubernetes/daemonset.yaml').find((d) => d.kind === 'DaemonSet').spec.template.metadata.labels['app.kubernetes.io/name']);
  t.true(job.relabel_configs.some((r: any) => r.target_label === 'node' && r.source_labels[0] === '__meta_kubernetes_pod_node_name'));
  const check = spawnSync('promtool', ['check', 'config', join(deploy, 'kubernetes/prometheus-scrape.yaml')], { encoding: 'utf8' });
  const out = check.stdout + check.stderr;
  if (/field kubernetes_sd_configs not found/.test(out)) {
    // Debian builds Prometheus without the Kubernetes service discovery.
    t.log('promtool check config: this Prometheus build has no kubernetes_sd_configs; checked the rest with a static target');
    const staticConfig = readFileSync(join(deploy, 'kubernetes/prometheus-scrape.yaml'), 'utf8').replace(
      /kubernetes_sd_configs:\n(\s+- role: pod\n\s+namespaces:\n\s+names: \[aya-node\]\n)/,
      "static_configs:\n      - targets: ['127.0.0.1:9435']\n",
    );
    const file = join(mkdtempSync(join(tmpdir(), 'aya-node-scrape-')), 'prometheus.yml');
    t.teardown(() => rmSync(dirname(file), { recursive: true, force: true }));
    writeFileSync(file, staticConfig);
    t.not(staticConfig, readFileSync(join(deploy, 'kubernetes/prometheus-scrape.yaml'), 'utf8'), 'the discovery block was replaced');
    const again = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    t.is(again.status, 0, again.stdout + again.stderr);
  } else {
    t.is(check.status, 0, out);
  }
});

test('the Dockerfile installs the published package with its prebuilt parts, and no toolchain', (t) => {
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l)).map((l) => l.split(/\s/)[0]);
  t.is(instructions[0], 'FROM');
  t.regex(dockerfile, /npm install --global --omit=dev "aya-node@\$\{AYA_NODE_VERSION\}"/);
  t.regex(dockerfile, /^ENTRYPOINT \["aya-node", "exporter"\]$/m);
  t.regex(dockerfile, /^EXPOSE 9435$/m);
  t.notRegex(dockerfile, /\b(gcc|clang|rustc|cargo|rustup|build-essential|llvm|bpf-linker|napi build)\b/, 'no compiler in the image');
  t.notRegex(dockerfile, /^COPY\s/m, 'nothing from the source tree: the package comes from npm');
});
