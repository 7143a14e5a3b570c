// Values the PostgreSQL global setup hands to test files through Vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated template database of this run, or null when PostgreSQL is unreachable. */
    postgresTemplateDatabase: string | null;
  }
}

export {};
