// The public API of kube-job-dispatcher. Everything a user may import is
// listed here by name; modules not exported here are internal.
export { VERSION } from './version.ts';
