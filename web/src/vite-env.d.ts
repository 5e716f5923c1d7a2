/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_API_BASE_URL?: string;
  readonly VITE_LOCAL_USER?: string;
  /** Comma-separated: sent as X-User-Groups with VITE_LOCAL_USER (local runs only). */
  readonly VITE_LOCAL_GROUPS?: string;
  readonly VITE_SIGN_IN_URL?: string;
}
