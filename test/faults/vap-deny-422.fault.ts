// Admission denial, ValidatingAdmissionPolicy with its default reason (422 Invalid).
import { defineVapScenario } from './lib/vap-scenario.ts';

defineVapScenario('vap-deny-422', undefined);
