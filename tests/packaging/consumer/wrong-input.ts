// Must NOT compile (tests/packaging/run.sh checks that tsc rejects exactly this line):
// the declarations shipped in the tarball know `users.create`'s input.
import { createHeraldClient } from '@herald/client';

const herald = createHeraldClient({ baseUrl: 'http://localhost:3000', apiKey: 'sk_test' });
await herald.users.create.mutate({ email: 42 });
