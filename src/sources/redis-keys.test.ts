import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashTag, listKeys, resultKeys, slotName, streamDeadLetterKey } from './redis-keys.ts';

test('hashTag follows Redis Cluster: first "{" to the next "}", not empty', () => {
  assert.equal(hashTag('{jobs}:q'), 'jobs');
  assert.equal(hashTag('a{b}c{d}'), 'b');
  assert.equal(hashTag('{}x'), undefined);
  assert.equal(hashTag('jobs'), undefined);
  assert.equal(hashTag('x{a{b}'), 'a{b');
});

test('plain layout: the names kjd has always used', () => {
  const k = listKeys('plain', 'jobs');
  assert.deepEqual([k.deadLetter, k.replicas, k.sequence, k.processing('r1'), k.heartbeat('r1')], [
    'jobs:dead', 'jobs:replicas', 'jobs:seq', 'jobs:processing:r1', 'jobs:replica:r1',
  ]); // prettier-ignore
  assert.deepEqual(resultKeys('plain', { hashPrefix: 'kjd:result:', stream: 'kjd:results' }, 'i1', 'w'), {
    hash: 'kjd:result:w/i1',
    stream: 'kjd:results',
  });
  assert.equal(streamDeadLetterKey('plain', 's'), 's:dead');
});

test('slotted layout: every key of a list route hashes like the source key', () => {
  for (const queue of ['jobs', '{jobs}:q', 'a:b']) {
    const k = listKeys('slotted', queue);
    const all = [k.deadLetter, k.replicas, k.sequence, k.processing('r1'), k.heartbeat('r1')];
    for (const key of all) assert.equal(slotName(key), slotName(queue), key);
  }
  assert.equal(listKeys('slotted', '{jobs}:q').deadLetter, '{jobs}:q:dead', 'a tagged key keeps its names');
  assert.equal(streamDeadLetterKey('slotted', 'events'), '{events}:dead');
});

test('slotted layout: a result hash and its stream share the idScope as tag', () => {
  const k = resultKeys('slotted', { hashPrefix: 'kjd:result:', stream: 'kjd:results' }, 'i1', 'w');
  assert.deepEqual(k, { hash: 'kjd:result:{w}/i1', stream: 'kjd:results:{w}' });
  assert.equal(slotName(k.hash), slotName(k.stream));
});
