// Values the PostgreSQL and PGlite global setups hand to test files through Vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated template database of this run, or null when PostgreSQL is unreachable. */
    postgresTemplateDatabase: string | null;
    /** A migrated in-memory PGlite database of this run (`dumpDataDir`), as a file: each test file loads a copy. */
    pgliteTemplateFile: string | null;
  }
}

export {};
