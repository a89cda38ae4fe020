// Every bundled tool as a non-root user with only CAP_BPF and CAP_PERFMON (a systemd `User=`
// service with `AmbientCapabilities=CAP_BPF CAP_PERFMON`): the tools use raw tracepoints and
// perf events, so they need no tracefs access, and each must see real events.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync);
const fixture = join(__dirname, 'fixtures', 'tools-unprivileged.ts');

function asNobody(caps: string): { uid: number; results: Record<string, { events: number; error?: string }> } {
  const run = spawnSync(
    setpriv!,
    ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all${caps}`, `--ambient-caps=-all${caps}`, process.execPath, '--import=tsx', fixture],
    { encoding: 'utf8', cwd: join(__dirname, '..'), timeout: 120_000 },
  );
  if (run.status !== 0) throw new Error(`the fixture failed (${run.status ?? run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

(setpriv ? test : test.skip)('every tool sees events as user nobody with only CAP_BPF and CAP_PERFMON', (t) => {
  const { uid, results } = asNobody(',+bpf,+perfmon');
  t.is(uid, 65534);
  for (const tool of ['execsnoop', 'opensnoop', 'tcplife', 'syscount', 'biolatency', 'runqlat', 'offcpu', 'profile']) {
    const r = results[tool];
    t.is(r?.error, undefined, `${tool} opened`);
    t.true((r?.events ?? 0) > 0, `${tool} saw events (${JSON.stringify(r)})`);
  }
  t.true(results.syscount.events >= 50, 'syscount counted the 50 getppid calls');
});

(setpriv ? test : test.skip)('without CAP_PERFMON the tools fail with a PermissionError naming it', (t) => {
  const { results } = asNobody(',+bpf');
  for (const [tool, r] of Object.entries(results)) {
    t.is(r.events, 0, tool);
    t.regex(r.error ?? '', /^PERMISSION .*CAP_PERFMON/, `${tool}: ${r.error}`);
  }
});

/** The CLI's stderr as user nobody with `caps` (ambient), tracing for a moment. */
function cliAsNobody(caps: string): { status: number | null; stderr: string } {
  const run = spawnSync(
    setpriv!,
    ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all${caps}`, `--ambient-caps=-all${caps}`, process.execPath, '--import=tsx', join('src', 'cli.ts'), 'execsnoop', '--duration', '0.3'],
    { encoding: 'utf8', cwd: join(__dirname, '..'), timeout: 120_000 },
  );
  return { status: run.status, stderr: run.stderr };
}

(setpriv ? test : test.skip)('the CLI warns about privileges by the effective capabilities, not the uid', (t) => {
  const capable = cliAsNobody(',+bpf,+perfmon');
  t.is(capable.status, 0, capable.stderr);
  t.notRegex(capable.stderr, /warning/, 'non-root with CAP_BPF and CAP_PERFMON: no warning');
  const missing = cliAsNobody(',+bpf');
  t.is(missing.status, 1, missing.stderr);
  t.regex(missing.stderr, /warning: missing CAP_BPF and CAP_PERFMON/);
});
