import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobState } from './job-status.ts';

const cond = (type: string, reason?: string) => ({ type, status: 'True', ...(reason ? { reason } : {}) });

test('phases from conditions and counters', () => {
  assert.equal(jobState({}).phase, 'Pending');
  assert.equal(jobState({ status: { active: 1 } }).phase, 'Pending');
  assert.equal(jobState({ status: { active: 1, ready: 1 } }).phase, 'Running');
  assert.equal(jobState({ status: { conditions: [cond('Suspended')] } }).phase, 'Suspended');
  const decided = jobState({ status: { conditions: [cond('SuccessCriteriaMet', 'CompletionsReached')] } });
  assert.deepEqual(
    [decided.phase, decided.finished],
    ['Succeeded', false],
    'outcome known, Pods still terminating',
  );
  const done = jobState({
    status: { succeeded: 1, conditions: [cond('SuccessCriteriaMet'), cond('Complete')] },
  });
  assert.deepEqual([done.phase, done.finished, done.succeeded], ['Succeeded', true, 1]);
  const failed = jobState({
    status: { failed: 1, conditions: [cond('FailureTarget', 'BackoffLimitExceeded')] },
  });
  assert.deepEqual([failed.phase, failed.reason], ['Failed', 'BackoffLimitExceeded']);
});

test('timestamps from Dates (get) and strings (watch) alike', () => {
  assert.equal(jobState({ status: { startTime: new Date(0) } }).startTime, '1970-01-01T00:00:00.000Z');
  assert.equal(
    jobState({ status: { startTime: '2026-01-01T00:00:00Z' as unknown as Date } }).startTime,
    '2026-01-01T00:00:00Z',
  );
});
