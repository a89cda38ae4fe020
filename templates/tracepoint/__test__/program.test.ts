// Runs the program against the real kernel: an execution of a uniquely named command must come
// back as an event with that name, and be counted for its uid in the COUNTS hash map.
import test from 'ava';
import { requirementsUnmet, uniqueExecutable, waitForEvent } from 'aya-node/testing';
import { Event, sizes } from '../src/generated';
import { start } from '../src/index';

const unmet = requirementsUnmet({ root: true, programTypes: ['tracepoint'], tracefs: true });

test('the generated Event codec has the size of the Rust struct', (t) => {
  t.is(Event.size, sizes.Event);
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
