import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// `/api` goes to the functions under `cargo lambda watch`: scripts/run-local's
// 127.0.0.1:9000 (it listens on no other address) unless API_PROXY_TARGET
// says otherwise (scripts/e2e-web), in
// development (`vite`) and for a built panel (`vite preview`) alike. A
// production build calls VITE_API_BASE_URL, or its own origin when that is
// empty (CloudFront sends /api/* to the API).
const api = { "/api": process.env.API_PROXY_TARGET ?? "http://127.0.0.1:9000" };

// The Content-Security-Policy CloudFront sends with the panel (template.yaml,
// PanelHeaders; scripts/test_publish_web.py checks they are the same), also
// sent by `vite preview`, so the browser test runs the build under it.
const PANEL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export default defineConfig({
  plugins: [react()],
  server: { proxy: api },
  preview: { proxy: api, headers: { "Content-Security-Policy": PANEL_CSP } },
  build: { sourcemap: false },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["./src/test-setup.ts"],
  },
});
