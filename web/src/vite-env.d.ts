/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_API_BASE_URL?: string;
  readonly VITE_LOCAL_USER?: string;
  readonly VITE_SIGN_IN_URL?: string;
}
