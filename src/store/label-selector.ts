/** Label selectors are Kubernetes API logic (src/api/label-selector.ts); re-exported for the store's users. */
export * from '../api/label-selector.js';
