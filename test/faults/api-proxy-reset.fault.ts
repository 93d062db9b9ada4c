// TCP proxy kjd→API server: reset for 10 s while items
// are in flight (list and stream routes). Bound: every item settled 60 s after the fault ends.
import { defineTcpScenario } from './lib/tcp-scenarios.ts';

defineTcpScenario({
  name: 'api-proxy-reset',
  target: 'api',
  toxic: { type: 'reset_peer', timeoutMs: 0 },
  faultMs: 10_000,
  boundMs: 60_000,
  items: 100,
  afterJobs: 10,
});
