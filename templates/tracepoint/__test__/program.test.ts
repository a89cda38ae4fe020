// Runs the program against the real kernel: an execution of a uniquely named command must come
// back as an event with that name, and be counted for its uid in the COUNTS hash map.
import test from 'ava';
import { requirementsUnmet, uniqueExecutable, waitForEvent } from 'aya-node/testing';
import { format, start } from '../src/index';

const unmet = requirementsUnmet({ root: true, programTypes: ['tracepoint'], tracefs: true });

test('an event prints as one line of columns', (t) => {
  t.is(format({ pid: 42, uid: 1000, count: 3n, comm: 'bash' }), '42      1000  bash             3');
});

(unmet ? test.skip : test)(`an execution is reported with its command name and counted${unmet ? ` (skipped: ${unmet})` : ''}`, async (t) => {
  using program = start();
  const events = program.maps.EVENTS();
  using exe = uniqueExecutable();
  const seen = waitForEvent(events, (e) => e.comm === exe.comm, { timeout: 10_000 });
  await exe.run();
  const event = await seen;
  t.is(event.comm, exe.comm);
  t.true(event.pid > 0);
  t.true(event.count >= 1n);
  const counted = program.maps.COUNTS().get(event.uid);
  t.true(counted !== undefined && counted >= event.count);
});
