import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestInfo, ruleResource } from './request-info.ts';

const base = 'https://127.0.0.1:6443';

test('create of a Job: verb create, group batch, namespace, no name', () => {
  assert.deepEqual(requestInfo('POST', `${base}/apis/batch/v1/namespaces/ns1/jobs`), {
    verb: 'create',
    group: 'batch',
    version: 'v1',
    resource: 'jobs',
    namespace: 'ns1',
  });
});

test('get, list, watch, patch, delete, deletecollection', () => {
  const verb = (m: string, path: string) => requestInfo(m, `${base}${path}`)?.verb;
  assert.equal(verb('GET', '/apis/batch/v1/namespaces/a/jobs/j'), 'get');
  assert.equal(verb('GET', '/apis/batch/v1/namespaces/a/jobs'), 'list');
  assert.equal(verb('GET', '/apis/batch/v1/namespaces/a/jobs?watch=1'), 'watch');
  assert.equal(verb('PATCH', '/apis/batch/v1/namespaces/a/jobs/j'), 'patch');
  assert.equal(verb('DELETE', '/apis/batch/v1/namespaces/a/jobs/j'), 'delete');
  assert.equal(verb('DELETE', '/apis/batch/v1/namespaces/a/jobs'), 'deletecollection');
});

test('core group and subresources', () => {
  const info = requestInfo('GET', `${base}/api/v1/namespaces/a/pods/p/log?follow=true`);
  assert.ok(info);
  assert.equal(info.group, '');
  assert.equal(ruleResource(info), 'pods/log');
  assert.equal(info.verb, 'get');
});

test('cluster-scoped and non-resource paths', () => {
  assert.equal(
    requestInfo('POST', `${base}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`)?.namespace,
    undefined,
  );
  assert.equal(requestInfo('GET', `${base}/healthz`), undefined);
});

test('a watch is told by its query parameter, wherever it stands', () => {
  const verb = (path: string) => requestInfo('GET', `https://10.0.0.1:6443${path}`)?.verb;
  assert.equal(verb('/apis/batch/v1/namespaces/a/jobs?labelSelector=x&watch=1'), 'watch');
  assert.equal(verb('/apis/batch/v1/namespaces/a/jobs?watch=true&resourceVersion=5'), 'watch');
  assert.equal(verb('/apis/batch/v1/namespaces/a/jobs?watch=false'), 'list');
  assert.equal(verb('/apis/batch/v1/namespaces/a/jobs?xwatch=1'), 'list');
  assert.equal(verb('/apis/batch/v1/jobs'), 'list');
});
