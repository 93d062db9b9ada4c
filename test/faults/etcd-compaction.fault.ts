// etcd compaction that forces 410 Gone on kjd's watch: see lib/etcd-scenario.ts.
import { defineEtcdScenario } from './lib/etcd-scenario.ts';

defineEtcdScenario('etcd-compaction');
