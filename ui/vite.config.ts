// Builds the single-page app into dist/ (index.html + hashed assets under dist/assets/).
// `npm run dev` proxies /api to a running `skiff server` (SKIFF_API, default
// http://127.0.0.1:2746) so the UI can be worked on without rebuilding the server.
import { defineConfig } from 'vite';

const api = process.env.SKIFF_API ?? 'http://127.0.0.1:2746';

export default defineConfig({
  base: '/',
  build: { outDir: 'dist', assetsDir: 'assets', target: 'es2022', sourcemap: false },
  server: { proxy: { '/api': { target: api, changeOrigin: true } } },
});
