import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web console: Preact + TypeScript, built into console/dist and served by the hub at `/`.
// JSX goes through Vite's own transformer (oxc) with Preact's automatic runtime: no framework plugin.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npx vite --config console/vite.config.ts` during development: the API is the hub's.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
