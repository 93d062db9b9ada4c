// Admission denial, ValidatingAdmissionPolicy with `reason: Forbidden` (403):
// issue 11 item 9. Must be handled like the 422 one: the item's dead letter.
import { defineVapScenario } from './lib/vap-scenario.ts';

defineVapScenario('vap-deny-403', 'Forbidden');
