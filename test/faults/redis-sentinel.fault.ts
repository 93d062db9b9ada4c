// The long form of test/redis/redis-sentinel.test.ts for `npm run faults`: ten
// times the items (its figures become rows of docs/reliability.md).
process.env.KJD_REDIS_HA_SCALE ??= '10';
await import('../redis/redis-sentinel.test.ts');
