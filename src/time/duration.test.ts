import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDurationMs } from './duration.ts';

test('durations as people write them', () => {
  assert.equal(parseDurationMs('10m'), 600_000);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('90'), 90_000);
  assert.throws(() => parseDurationMs('10 minutes'), RangeError);
  assert.throws(() => parseDurationMs(''), RangeError);
});
