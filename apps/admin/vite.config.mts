import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

// Built into dist/apps/admin, which the api serves at / (apps/api/src/admin-ui).
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: `${root}/../../dist/apps/admin`,
    emptyOutDir: true,
    // The api's CSP allows scripts from its own origin only: no inline scripts, no data: URLs.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
