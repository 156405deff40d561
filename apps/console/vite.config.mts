import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is a static page the API serves (apps/api/src/console.ts): built into dist/console, with
// hashed asset names under assets/, and no inline script or style (the page's policy forbids them).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: {
      // The rules of who may do what, shared with the service: the console hides what the caller may not use.
      '@app/grants': fileURLToPath(new URL('../../libs/domain/src/access/grants.ts', import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 200,
  },
});
