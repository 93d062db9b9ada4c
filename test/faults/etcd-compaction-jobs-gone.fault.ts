// etcd compaction + 410 relist, with Jobs that finish AND are deleted (TTL 1 s)
// while kjd is frozen (issue 11 item 7: a Job that disappears without kjd
// seeing it finish is forgotten across a 410 relist). Every such item must
// still get its result.
import { defineEtcdScenario } from './lib/etcd-scenario.ts';

defineEtcdScenario('etcd-compaction-jobs-gone', 1);
