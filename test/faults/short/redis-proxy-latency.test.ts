// Short form of the redis-proxy-latency fault scenario, run by `npm test`: a quarter of
// the items, on the shared cluster (the scenario is confined to its own
// namespace and Redis prefix). The full form runs in `npm run faults`.
process.env.KJD_FAULTS_SCALE ??= '0.25';
await import('../redis-proxy-latency.fault.ts');
