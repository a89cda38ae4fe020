import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledObjectPath, Ebpf, NotFoundError, UProbe } from '../src';
import { collect, noLinksOf, TestEvent } from './programs-helpers';

// A tiny program with a function to probe. With a third argument it waits for a line on stdin
// first, so a probe scoped to its pid can be attached in between.
const SOURCE = `
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long aya_node_square(long x) { __asm__ volatile(""); return x * x; }
int main(int argc, char **argv) {
  char line[16];
  if (argc > 2 && !fgets(line, sizeof line, stdin)) return 1;
  long v = atol(argv[1]);
  printf("%ld\\n", aya_node_square(v));
  return 0;
}
`;

let binary = '';
test.before(() => {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-uprobe-'));
  writeFileSync(join(dir, 'square.c'), SOURCE);
  binary = join(dir, 'square');
  const cc = spawnSync('gcc', ['-O0', '-o', binary, join(dir, 'square.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
});
test.after.always(() => {
  if (binary) rmSync(join(binary, '..'), { recursive: true, force: true });
});

function runSquare(arg: number): number {
  const child = spawnSync(binary, [String(arg)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`square exited with ${child.status}`);
  return child.pid!;
}

test('uprobe and uretprobe see the argument and the return value of a function in a binary', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('uprobe'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  const entry = obj.program('function_entry', UProbe).attach({ target: binary, symbol: 'aya_node_square' });
  const exit = obj.program('function_return', UProbe).attach({ target: binary, symbol: 'aya_node_square' });
  t.is(entry.kind, 'uprobe');

  const pid = runSquare(7);
  const seen = (await collect(events, 300)).filter((e) => e.tgid === pid);
  t.deepEqual(
    seen.map((e) => [e.tag, e.value]),
    [
      [1, 7n],
      [2, 49n],
    ],
  );

  entry.detach();
  exit.detach();
  const after = runSquare(8);
  t.deepEqual((await collect(events, 200)).filter((e) => e.tgid === after), [], 'nothing after detach');
});

test('a pid-scoped uretprobe on a libc function found by library name sees only that process', async (t) => {
  const waiting = spawn(binary, ['12', 'wait'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise((resolve) => waiting.on('exit', resolve));
  t.teardown(() => void waiting.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 100)); // let it map libc

  using obj = Ebpf.load(bundledObjectPath('uprobe'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  // atol(argv[1]) returns the number the program was given.
  obj.program('function_return', UProbe).attach({ target: 'libc', symbol: 'atol', pid: waiting.pid! });

  const other = runSquare(5); // another process: not seen
  waiting.stdin!.end('go\n');
  await exited;
  const seen = await collect(events, 300);
  t.deepEqual(
    seen.map((e) => [e.tgid, e.value]),
    [[waiting.pid!, 12n]],
    `only pid ${waiting.pid} (not ${other}) is seen, with atol's return value`,
  );
});

test('a missing symbol or binary is a NotFoundError naming it, and nothing is attached', (t) => {
  using obj = Ebpf.load(bundledObjectPath('uprobe'));
  const prog = obj.program('function_entry', UProbe);
  const noSymbol = t.throws(() => prog.attach({ target: binary, symbol: 'aya_node_no_such_symbol' }));
  t.true(noSymbol instanceof NotFoundError, String(noSymbol));
  t.regex(noSymbol!.message, /aya_node_no_such_symbol/);
  const noBinary = t.throws(() => prog.attach({ target: '/nonexistent/aya-node-binary', symbol: 'main' }));
  t.true(noBinary instanceof NotFoundError, String(noBinary));
  t.regex(noBinary!.message, /aya-node-binary/);
  t.true(noLinksOf(obj, 'function_entry'));
});
