import { createApiKey } from '../procedures/api-keys/create-api-key';
import { listApiKeys } from '../procedures/api-keys/list-api-keys';
import { revokeApiKey } from '../procedures/api-keys/revoke-api-key';
import { getDelivery } from '../procedures/deliveries/get-delivery';
import { getDeliveryRequest } from '../procedures/deliveries/get-delivery-request';
import { listDeliveries } from '../procedures/deliveries/list-deliveries';
import { listEndpointDeliveries } from '../procedures/deliveries/list-endpoint-deliveries';
import { retryDelivery } from '../procedures/deliveries/retry-delivery';
import { createEndpoint } from '../procedures/endpoints/create-endpoint';
import { createListenEndpoint } from '../procedures/endpoints/create-listen-endpoint';
import { deleteEndpoint } from '../procedures/endpoints/delete-endpoint';
import { getEndpoint } from '../procedures/endpoints/get-endpoint';
import { getEndpointSecret } from '../procedures/endpoints/get-endpoint-secret';
import { getEndpointStats } from '../procedures/endpoints/get-endpoint-stats';
import { listEndpoints } from '../procedures/endpoints/list-endpoints';
import { recoverEndpoint } from '../procedures/endpoints/recover-endpoint';
import { rotateEndpointSecret } from '../procedures/endpoints/rotate-endpoint-secret';
import { sendTestEvent } from '../procedures/endpoints/send-test-event';
import { updateEndpoint } from '../procedures/endpoints/update-endpoint';
import { getEvent } from '../procedures/events/get-event';
import { listEventTypes } from '../procedures/events/list-event-types';
import { listEvents } from '../procedures/events/list-events';
import { createLogin } from '../procedures/logins/create-login';
import { operatorOverview } from '../procedures/operator/operator-overview';
import { getPortalSession } from '../procedures/portal/get-portal-session';
import { createPortalSession } from '../procedures/portal-sessions/create-portal-session';
import { getPortalSettings } from '../procedures/portal-sessions/get-portal-settings';
import { updatePortalSettings } from '../procedures/portal-sessions/update-portal-settings';
import { createProject } from '../procedures/projects/create-project';
import { createUser } from '../procedures/users/create-user';
import { deleteUser } from '../procedures/users/delete-user';
import { getUser } from '../procedures/users/get-user';
import { listUsers } from '../procedures/users/list-users';
import { setUserPassword } from '../procedures/users/set-user-password';
import { updateUser } from '../procedures/users/update-user';
import { createCallerFactory, router } from './init';

export const appRouter = router({
  projects: router({ create: createProject }),
  apiKeys: router({ create: createApiKey, list: listApiKeys, revoke: revokeApiKey }),
  users: router({
    create: createUser,
    list: listUsers,
    get: getUser,
    update: updateUser,
    delete: deleteUser,
    setPassword: setUserPassword,
  }),
  logins: router({ create: createLogin }),
  events: router({ list: listEvents, get: getEvent, types: listEventTypes }),
  endpoints: router({
    create: createEndpoint,
    createListen: createListenEndpoint,
    list: listEndpoints,
    get: getEndpoint,
    update: updateEndpoint,
    delete: deleteEndpoint,
    getSecret: getEndpointSecret,
    rotateSecret: rotateEndpointSecret,
    sendTest: sendTestEvent,
    recover: recoverEndpoint,
    deliveries: listEndpointDeliveries,
    stats: getEndpointStats,
  }),
  deliveries: router({ list: listDeliveries, get: getDelivery, request: getDeliveryRequest, retry: retryDelivery }),
  portalSessions: router({ create: createPortalSession }),
  portalSettings: router({ get: getPortalSettings, update: updatePortalSettings }),
  portal: router({ session: getPortalSession }),
  operator: router({ overview: operatorOverview }),
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
