/** Error catalog of the balancers (MBX_BALANCE_*). */
import { defineError } from '../../core/errors.js';

export const BalancerSettingsInvalid = defineError(
  'MBX_BALANCE_SETTINGS_INVALID',
  (what: string) => `load balancer settings are invalid: ${what}; fix the cluster's loadBalancer (validateLoadBalancer lists every problem)`,
  { httpStatus: 500 },
);
