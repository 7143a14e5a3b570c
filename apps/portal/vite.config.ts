import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the API under /portal (one process, no CDN). `pnpm --filter @herald/portal dev`
// runs Vite's dev server instead, handing the API's routes to `pnpm dev` on :3000.
const api = process.env.HERALD_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  base: '/portal/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/trpc': api,
      '/portal/open': api,
      '/portal/operator': api,
      '/portal/sign-out': api,
    },
  },
});
