import { defineConfig } from 'drizzle-kit';

// PostgreSQL migrations, from the schema derived from src/schema.ts (see src/schema-pg.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema-pg.ts',
  out: '../../migrations/pg',
});
