import { createApiKey } from '../procedures/api-keys/create-api-key';
import { listApiKeys } from '../procedures/api-keys/list-api-keys';
import { revokeApiKey } from '../procedures/api-keys/revoke-api-key';
import { getEvent } from '../procedures/events/get-event';
import { listEventTypes } from '../procedures/events/list-event-types';
import { listEvents } from '../procedures/events/list-events';
import { createLogin } from '../procedures/logins/create-login';
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
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
