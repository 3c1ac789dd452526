// Builds the browser app into dist/, which the gateway serves at `/` (services/gateway/src/web.ts).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  // `npm run dev -w apps/web` proxies the API to a running gateway.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/.well-known': 'http://127.0.0.1:8080' } },
});
